"""Every deploy template, built by its own tool from this checkout, and what it built run by its host's runtime.

The package is not on PyPI: each template's requirements find it as a wheel built from the checkout
into a folder beside the template (the guides' first command). Then:

* ``sam/template.yaml`` and ``sam/template-streaming.yaml``: ``sam build``; the build folder runs
  under the Lambda Runtime Interface Emulator with the python3.12 runtime client (awslambdaric),
  with the handler and environment the built template gives, and keys from Secrets Manager (moto);
* ``templates/serverless.yml``: the guide's ``pip install`` for arm64, ``serverless package``, and the
  zip's contents under the emulator the same way;
* ``templates/gcf`` and ``templates/azure``: the folder ``gcloud functions deploy`` / ``func azure
  functionapp publish`` uploads (their ignore files applied), its requirements installed as Cloud
  Build / Oryx install them, served by functions-framework / the Azure worker's library;
* ``templates/vercel``: ``vercel build``, and its output function under Vercel's runtime bridge.

Only the built folder is on the runtime's path, never the checkout. Each answers a signed
introspection, a sync (PUT) and a multi-step run. Each tool builds once per module, in a temp dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support import aws_harness as aws
from tests.support.hosts import servers
from tests.support.hosts.templates import ENV, KEY, TEMPLATES, assert_serves, assert_template_serves
from tests.support.sim_executor import Call

pytestmark = pytest.mark.harness

REPO = aws.REPO
DOCS = REPO / "docs"
LAMBDA_PYTHON = aws.CACHE / "runtime-py312" / "bin" / "python"  # awslambdaric on 3.12: the managed runtime's client
SAM = aws.SAM_PYTHON.parent / "sam"
SERVERLESS = aws.SLS_DIR / "node_modules" / "serverless" / "bin" / "serverless.js"
VERCEL_CLI = servers.CACHE / "vercel-cli" / "node_modules" / ".bin" / "vercel"
UV = servers.VERCEL_PYTHON.parent / "uv"

# The commands the guides give, run here as written (the wheel's folder and the Python aside).
WHEEL = "python -m pip wheel --no-deps --wheel-dir wheels"
SLS_INSTALL = ("python -m pip install -r requirements.txt -t . --platform manylinux2014_aarch64 "
               "--implementation cp --python-version 3.12 --only-binary=:all:")
SAM_APP = ("welcome", "user/signed.up", {"email": "a@example.com"}, {"welcomed": "a@example.com"},
           [["StepRun"], ["Sleep"], ["StepRun"]])
AARCH64 = 183  # ELF e_machine


def need(path: Path, script: str) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/install-hosts.d/{script}")


def base_python(venv_python: Path) -> Path:
    """The interpreter a venv was made from: a Python with none of the venv's packages."""
    cfg = (venv_python.parent.parent / "pyvenv.cfg").read_text()
    home = next(line.split("=", 1)[1].strip() for line in cfg.splitlines() if line.startswith("home"))
    return Path(home) / "python3"


def tool_env(**extra: str) -> dict[str, str]:
    """The environment a build tool runs in: no INNGEST_* settings, no extra package locations."""
    drop = ("PIP_FIND_LINKS", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_") and k not in drop}
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float = 900) -> str:
    out = subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(argv[:4])} ... failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def documented(doc: str, *commands: str) -> None:
    """The guide gives these commands, so what is tested is what a reader runs."""
    text = (DOCS / doc).read_text()
    for command in commands:
        assert command in text, f"docs/{doc} no longer says `{command}`"


def stage(template: Path, dest: Path, wheel: Path, ignore_file: str | None = None, wheels: str = "wheels") -> Path:
    """``template`` as its deploy command uploads it (``ignore_file``'s patterns left out), with the
    wheel the guide builds into ``wheels``."""
    patterns: list[str] = []
    if ignore_file and (template / ignore_file).exists():
        lines = (template / ignore_file).read_text().splitlines()
        patterns = [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns(*patterns))
    (dest / wheels).mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, dest / wheels)
    return dest


def native_libraries(folder: Path) -> dict[str, int]:
    """Every compiled extension under ``folder`` and its ELF machine."""
    found = {}
    for path in folder.rglob("*.so"):
        with path.open("rb") as f:
            header = f.read(20)
        found[str(path.relative_to(folder))] = int.from_bytes(header[18:20], "little")
    return found


def assert_served_from(python: Path, env: Mapping[str, str], cwd: Path, built: Path) -> None:
    """The package the runtime imports is the built one, not the checkout."""
    code = "import inngest_serverless, sys; sys.stdout.write(inngest_serverless.__file__)"
    out = subprocess.run([str(python), "-c", code], cwd=cwd, env={**tool_env(), **env}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout).resolve().is_relative_to(built.resolve()), out.stdout


# -- the wheel and the AWS stand-ins ------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guides' first command, once: the package as a wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(REPO)], cwd=out, env=tool_env())
    (built,) = out.glob("inngest_serverless-*.whl")
    return built


@pytest.fixture(scope="module")
def secrets() -> Iterator[tuple[str, dict[str, str]]]:
    """moto's Secrets Manager on a loopback port: (a secret holding the keys, the env that reaches it)."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = aws.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
        client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        arn = client.create_secret(Name="inngest-keys", SecretString=json.dumps({"INNGEST_SIGNING_KEY": KEY}))["ARN"]
        yield arn, creds
    finally:
        server.stop()


def function_env(variables: Mapping[str, Any], secret: tuple[str, dict[str, str]]) -> dict[str, str]:
    """A built template's function environment, its reference to the keys' secret resolved to moto's."""
    arn, creds = secret
    env = dict(creds)
    for name, value in variables.items():
        if not isinstance(value, str):
            assert (name, value) == ("INNGEST_SIGNING_KEY_SECRET_ARN", {"Ref": "InngestKeys"})
            value = arn
        env[name] = value
    return env


@contextlib.contextmanager
def lambda_runtime(task: Path, handler: str, env: Mapping[str, str], timeout: int) -> Iterator[str]:
    """The emulator running the python3.12 runtime client on ``handler``, with ``task`` (the built
    folder, as /var/task) the only code on the path; yields the invoke URL."""
    need(aws.RIE, "20-aws.sh")
    need(LAMBDA_PYTHON, "50-templates.sh")
    port, api_port = aws.free_port(), aws.free_port()
    full_env = {**tool_env(), "PYTHONPATH": str(task), "LAMBDA_TASK_ROOT": str(task), "_HANDLER": handler,
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout), **env}
    assert_served_from(LAMBDA_PYTHON, full_env, task, task)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(aws.RIE), "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
             "--runtime-api-address", f"127.0.0.1:{api_port}", str(LAMBDA_PYTHON), "-m", "awslambdaric", handler],
            cwd=task, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            aws.wait_port(port, proc)
            yield f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        finally:
            aws.stop(proc)
            log.seek(0)
            sys.stdout.write(log.read().decode(errors="replace")[-3000:])  # shown by pytest when a test fails


def buffered_call(invoke_url: str) -> Call:
    """Function URL requests through the emulator to a handler that returns its reply."""
    return aws.event_call(lambda event: aws.invoke_url(invoke_url, event), aws.FUNCTION_URL)


def streamed_call(invoke_url: str) -> Call:
    """Function URL requests through the emulator to the streaming loop: the prelude, 8 NUL bytes, the body."""

    def call(method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        event = aws.build_event(aws.FUNCTION_URL, method, url, headers, body)
        request = urllib.request.Request(invoke_url, data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as reply:
            raw = reply.read()
        head, sep, rest = raw.partition(b"\x00" * 8)
        assert sep, f"not a streamed HTTP reply: {raw[:300]!r}"
        prelude = json.loads(head)
        return prelude["statusCode"], {k.lower(): v for k, v in prelude["headers"].items()}, rest

    return call


FUNCTION_URL = aws.SAMPLE_URLS[aws.FUNCTION_URL][0]


# -- AWS SAM ---------------------------------------------------------------------------------------


def sam_build(sam_dir: Path, template: str, build_dir: Path) -> dict[str, Any]:
    """``sam build -t template`` (a Python 3.12 on PATH, as the runtime asks); the built template."""
    from samtranslator.yaml_helper import yaml_parse

    need(SAM, "20-aws.sh")
    need(LAMBDA_PYTHON, "50-templates.sh")
    env = tool_env(SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1",
                   PATH=f"{LAMBDA_PYTHON.parent}{os.pathsep}{os.environ['PATH']}")
    run([str(SAM), "build", "-t", template, "-b", str(build_dir)], cwd=sam_dir, env=env)
    built: dict[str, Any] = yaml_parse((build_dir / "template.yaml").read_text())
    return built


@pytest.fixture(scope="module")
def sam_builds(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Both SAM templates built from one copy of sam/: {template: (function folder, its properties)}."""
    documented("deploy-lambda.md", "cd sam", f"{WHEEL} ..", "sam build")
    root = tmp_path_factory.mktemp("sam")
    sam_dir = stage(REPO / "sam", root / "sam", wheel)
    builds = {}
    for template, function in (("template.yaml", "InngestFunction"),
                               ("template-streaming.yaml", "InngestStreamingFunction")):
        build_dir = root / f"build-{template.removesuffix('.yaml')}"
        built = sam_build(sam_dir, template, build_dir)
        builds[template] = (build_dir / function,
                            {**built["Globals"]["Function"], **built["Resources"][function]["Properties"]})
    return builds


def test_sam_build_puts_the_checkouts_package_and_arm64_libraries_in_the_function(
        sam_builds: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for folder, props in sam_builds.values():
        assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])
        assert (folder / "inngest_serverless" / "adapters" / "aws_lambda" / "__init__.py").is_file()
        assert not (folder / "wheels").exists(), "the wheel folder stays out of the function"
        libraries = native_libraries(folder)
        assert any(name.startswith("msgspec/") for name in libraries)
        assert {machine for machine in libraries.values()} == {AARCH64}, libraries
        assert all("cpython-312" in name or "abi3" in name for name in libraries), libraries


def test_the_sam_built_function_serves_a_sync_and_a_multi_step_run(
        sam_builds: dict[str, tuple[Path, dict[str, Any]]], secrets: tuple[str, dict[str, str]]) -> None:
    folder, props = sam_builds["template.yaml"]
    env = function_env(props["Environment"]["Variables"], secrets)
    with lambda_runtime(folder, props["Handler"], env, timeout=60) as invoke:
        assert_serves(buffered_call(invoke), FUNCTION_URL, "sam-app", SAM_APP)


def test_the_sam_built_streaming_function_serves_through_its_entry_handler(
        sam_builds: dict[str, tuple[Path, dict[str, Any]]], secrets: tuple[str, dict[str, str]]) -> None:
    folder, props = sam_builds["template-streaming.yaml"]
    assert props["Handler"] == "inngest_serverless.adapters.aws_lambda_streaming.entry.handler"
    env = function_env(props["Environment"]["Variables"], secrets)
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in env
    with lambda_runtime(folder, props["Handler"], env, timeout=900) as invoke:
        assert_serves(streamed_call(invoke), FUNCTION_URL, "sam-app", SAM_APP)


# -- Serverless Framework v3 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def serverless_build(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> tuple[Path, dict[str, Any], str]:
    """templates/ with the guide's ``pip install`` run in it, then ``serverless package``:
    (the zip's contents, the stack's resources, the command's output)."""
    need(SERVERLESS, "20-aws.sh")
    documented("deploy-lambda.md", f"{WHEEL} ..", SLS_INSTALL)
    root = tmp_path_factory.mktemp("serverless")
    project = stage(TEMPLATES, root / "templates", wheel)
    python = base_python(LAMBDA_PYTHON)
    run([str(python), *SLS_INSTALL.split()[1:]], cwd=project, env=tool_env())
    (project / "node_modules").symlink_to(aws.SLS_DIR / "node_modules")
    env = tool_env(SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
    output = run(["node", str(SERVERLESS), "package"], cwd=project, env=env, timeout=600)
    stack = json.loads((project / ".serverless" / "cloudformation-template-update-stack.json").read_text())
    task = root / "task"
    with zipfile.ZipFile(project / ".serverless" / "inngest-app.zip") as bundle:
        bundle.extractall(task)
    return task, stack["Resources"], output


def test_serverless_package_builds_the_stack_for_python_312_on_arm64(
        serverless_build: tuple[Path, dict[str, Any], str]) -> None:
    _, resources, output = serverless_build
    function = resources["InngestLambdaFunction"]["Properties"]
    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.12", ["arm64"], "inngest_handler.handler")
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi", "AWS::Lambda::Url",
            "AWS::SecretsManager::Secret"} <= types
    # v3's schema predates python3.12: that is the one configuration warning (validation only warns).
    invalid = [line.strip().split("'")[1] for line in output.splitlines() if line.strip().startswith("at '")]
    assert invalid == ["provider.runtime"], output


def test_the_serverless_function_url_may_invoke_the_function_through_its_url(
        serverless_build: tuple[Path, dict[str, Any], str]) -> None:
    _, resources, _ = serverless_build
    grants = {(p["Properties"]["Action"], p["Properties"].get("InvokedViaFunctionUrl"),
               p["Properties"].get("FunctionUrlAuthType"))
              for p in resources.values() if p["Type"] == "AWS::Lambda::Permission" and p["Properties"]["Principal"] == "*"}
    assert grants == {("lambda:InvokeFunctionUrl", None, "NONE"), ("lambda:InvokeFunction", True, None)}


def test_the_serverless_zip_holds_the_function_and_its_arm64_packages_only(
        serverless_build: tuple[Path, dict[str, Any], str]) -> None:
    task, _, _ = serverless_build
    top = {p.name for p in task.iterdir()}
    assert {"inngest_handler.py", "inngest_serverless", "aws_lambda_powertools", "httpx", "msgspec"} <= top
    assert not top & {"azure", "gcf", "vercel", "wheels", "bin", "node_modules", "serverless.yml", "requirements.txt"}, top
    libraries = native_libraries(task)
    assert libraries and {machine for machine in libraries.values()} == {AARCH64}, libraries


def test_the_serverless_zip_serves_a_sync_and_a_multi_step_run(
        serverless_build: tuple[Path, dict[str, Any], str], secrets: tuple[str, dict[str, str]]) -> None:
    task, resources, _ = serverless_build
    function = resources["InngestLambdaFunction"]["Properties"]
    env = function_env(function["Environment"]["Variables"], secrets)
    with lambda_runtime(task, function["Handler"], env, timeout=function["Timeout"]) as invoke:
        assert_serves(buffered_call(invoke), FUNCTION_URL, "inngest-app")


# -- Google Cloud Functions, Azure Functions -------------------------------------------------------


@pytest.fixture(scope="module")
def gcf_build(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> tuple[Path, Path]:
    """What ``gcloud functions deploy --source=.`` uploads, and its requirements installed apart as
    the Python buildpack installs them: (the source, the packages)."""
    documented("deploy-gcf.md", f"{WHEEL} ../..", "--runtime=python312")
    root = tmp_path_factory.mktemp("gcf")
    source = stage(TEMPLATES / "gcf", root / "source", wheel, ".gcloudignore")
    packages = root / "layer"
    run([str(base_python(LAMBDA_PYTHON)), "-m", "pip", "install", "-q", "-r", "requirements.txt", "-t", str(packages)],
        cwd=source, env=tool_env())
    return source, packages


def test_the_gcf_upload_serves_a_sync_and_a_multi_step_run(gcf_build: tuple[Path, Path]) -> None:
    source, packages = gcf_build
    python = base_python(LAMBDA_PYTHON)  # --runtime=python312
    env = {**ENV, "PYTHONPATH": str(packages)}
    assert_served_from(python, env, source, packages)
    with servers.gcf(env, source=source / "main.py", target="inngest", python=python) as host:
        assert_template_serves(host, "my-gcf-app")


@pytest.fixture(scope="module")
def azure_build(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """What ``func azure functionapp publish`` uploads, with its requirements installed where the
    remote build (Oryx) puts them: .python_packages/lib/site-packages."""
    documented("deploy-azure.md", f"{WHEEL} ../..", "--flexconsumption-location")
    app = stage(TEMPLATES / "azure", tmp_path_factory.mktemp("azure") / "app", wheel, ".funcignore")
    run([str(base_python(Path(sys.executable))), "-m", "pip", "install", "-q", "-r", "requirements.txt",
         "--target", ".python_packages/lib/site-packages"], cwd=app, env=tool_env())
    return app


def test_the_azure_upload_serves_a_sync_and_a_multi_step_run(azure_build: Path) -> None:
    python = base_python(Path(sys.executable))  # 3.11, azure-functions 1.x
    packages = azure_build / ".python_packages" / "lib" / "site-packages"
    env = {**ENV, "PYTHONPATH": str(packages)}
    assert_served_from(python, env, azure_build, packages)
    with servers.azure(env, python=python, app_dir=azure_build) as host:
        assert_template_serves(host, "my-azure-app")


# -- Vercel ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vercel_build(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> tuple[Path, dict[str, Any]]:
    """``vercel build`` (offline, no login) of the starter: (the project, its function's .vc-config.json)."""
    if not (VERCEL_CLI.exists() and UV.exists()):
        pytest.fail("no Vercel CLI or uv: run scripts/install-hosts.d/30-hosts.sh")
    documented("deploy-vercel.md", f"{WHEEL} ../..")
    project = stage(TEMPLATES / "vercel", tmp_path_factory.mktemp("vercel") / "project", wheel, ".vercelignore")
    pinned = (project / "requirements.txt").read_text()
    assert f"./wheels/{wheel.name}" in pinned, "requirements.txt names the wheel of this version"
    (project / ".vercel").mkdir()
    (project / ".vercel" / "project.json").write_text(
        json.dumps({"projectId": "prj_local", "orgId": "team_local", "settings": {"framework": None}}))
    python = base_python(servers.VERCEL_PYTHON)
    env = tool_env(PATH=f"{UV.parent}{os.pathsep}{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   VERCEL_TELEMETRY_DISABLED="1", UV_PYTHON_DOWNLOADS="never")
    run([str(VERCEL_CLI), "build", "--yes"], cwd=project, env=env, timeout=600)
    function = project / ".vercel" / "output" / "functions" / "api" / "inngest.func"
    config: dict[str, Any] = json.loads((function / ".vc-config.json").read_text())
    return function, config


def test_vercel_build_makes_a_streaming_python_312_function(vercel_build: tuple[Path, dict[str, Any]]) -> None:
    function, config = vercel_build
    assert (config["runtime"], config["maxDuration"], config["supportsResponseStreaming"]) == ("python3.12", 300, True)
    trampoline = function / (config["handler"].split(".")[0] + ".py")
    assert '"__VC_HANDLER_VARIABLE_NAME": "app"' in trampoline.read_text()
    assert any(dest.startswith("_vendor/inngest_serverless/") for dest in config["filePathMap"])


def test_the_vercel_built_function_serves_a_sync_and_a_multi_step_run(
        vercel_build: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    function, config = vercel_build
    project = function.parents[4]
    # Lay the function out as it is deployed: the trampoline plus every mapped file.
    trampoline = function / (config["handler"].split(".")[0] + ".py")
    task = tmp_path / "task"
    task.mkdir()
    shutil.copy(trampoline, task / trampoline.name)
    for dest, src in config["filePathMap"].items():
        (task / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / src, task / dest)
    python = base_python(servers.VERCEL_PYTHON)
    env = {**ENV, **config["environment"], "PYTHONPATH": ""}
    command = [str(python), "-c", f"import {trampoline.stem}"]
    with servers.vercel(env, command=command, cwd=task) as host:
        assert_template_serves(host, "my-vercel-app")
