"""The deploy templates stay valid: cfn-lint, `sam validate --lint`, aws-sam-translator's
transform (sam/template.yaml) and `serverless package` (templates/serverless.yml), all offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests import aws_harness as aws

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


def test_serverless_package_builds_the_stack(tmp_path: Path) -> None:
    if not (aws.SLS_DIR / "node_modules" / "serverless").exists():
        pytest.fail("serverless is missing: run scripts/install-hosts.d/20-aws.sh")
    for name in ("serverless.yml", "inngest_handler.py"):
        (tmp_path / name).write_text((aws.REPO / "templates" / name).read_text())
    (tmp_path / "node_modules").symlink_to(aws.SLS_DIR / "node_modules")
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
    out = subprocess.run(["node", str(aws.SLS_DIR / "node_modules" / "serverless" / "bin" / "serverless.js"),
                          "package"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    stack = json.loads((tmp_path / ".serverless" / "cloudformation-template-update-stack.json").read_text())
    resources = stack["Resources"]
    function = resources["InngestLambdaFunction"]["Properties"]
    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.11", ["arm64"], "inngest_handler.handler")
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi", "AWS::Lambda::Url",
            "AWS::SecretsManager::Secret"} <= types
    with zipfile.ZipFile(tmp_path / ".serverless" / "inngest-app.zip") as bundle:
        names = bundle.namelist()
    assert "inngest_handler.py" in names
    assert not any(n.startswith("node_modules/") for n in names)
