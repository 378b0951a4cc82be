"""The SAM template stays valid: cfn-lint, `sam validate --lint` and aws-sam-translator's transform,
all offline. (`sam build` and `serverless package`, and what they build: tests/adapters/test_templates_built.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support import aws_harness as aws

pytestmark = pytest.mark.harness


def sam_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(aws.SAM_TEMPLATE.read_text())
    return parsed


def test_cfn_lint_passes_on_the_sam_template() -> None:
    # cfn-lint's command line, run as its console script does; exit code bitmask: 2 error, 4 warning, 8 info.
    code = "import sys; from cfnlint.runner import main; sys.exit(main())"
    out = subprocess.run([sys.executable, "-c", code, str(aws.SAM_TEMPLATE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_sam_validate_lint_passes() -> None:
    if not aws.SAM_PYTHON.exists():
        pytest.fail("SAM CLI is missing: run scripts/install-hosts.d/20-aws.sh")
    sam = aws.SAM_PYTHON.parent / "sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([str(sam), "validate", "--lint", "-t", str(aws.SAM_TEMPLATE)], capture_output=True,
                         text=True, env=env, cwd=aws.SAM_TEMPLATE.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is a valid SAM Template" in out.stdout + out.stderr


class NoManagedPolicies:
    """The translator's IAM lookup, answered offline: the template uses SAM policy templates only."""

    def load(self) -> dict[str, str]:
        return {}


def test_sam_translator_transforms_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = sam_template()
    template["Resources"]["InngestFunction"]["Properties"]["CodeUri"] = "s3://placeholder-bucket/app.zip"
    out = transform(template, {"AppTimeout": 60}, NoManagedPolicies())
    resources = out["Resources"]
    function = resources["InngestFunction"]["Properties"]
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"].startswith("python3.")
    assert function["Environment"]["Variables"]["INNGEST_SIGNING_KEY_SECRET_ARN"] == {"Ref": "InngestKeys"}
    assert resources["InngestFunctionUrl"]["Properties"]["AuthType"] == "NONE"
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi", "AWS::Lambda::Url",
            "AWS::SecretsManager::Secret"} <= types
    policy = json.dumps(resources["InngestFunctionRole"]["Properties"]["Policies"])
    assert "secretsmanager:GetSecretValue" in policy
    assert {"FunctionUrl", "HttpApiUrl", "RestApiUrl", "KeysSecretArn"} <= set(out["Outputs"])


def test_sam_template_routes_use_different_paths() -> None:
    events = sam_template()["Resources"]["InngestFunction"]["Properties"]["Events"]
    paths = [e["Properties"]["Path"] for e in events.values()]
    assert len(paths) == len(set(paths))
