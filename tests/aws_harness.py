"""AWS Lambda test helpers: build HTTP events from captured templates, check them
against the Powertools parser models, read replies back, and run the real hosts
(the Runtime Interface Emulator with awslambdaric, serverless-offline, SAM CLI's
API Gateway emulator) as processes bound to 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "aws-events"
CACHE = REPO / ".cache" / "aws"
RIE = CACHE / "aws-lambda-rie"
SAM_PYTHON = CACHE / "sam-venv" / "bin" / "python"
SLS_DIR = CACHE / "sls"

# Shape names used across the AWS tests; each maps to a captured template.
REST = "rest"  # API Gateway REST, payload 1.0, with multiValueHeaders
REST_SINGLE = "rest-single"  # the same with empty multiValueHeaders / multiValueQueryStringParameters
HTTP_API = "http-api"  # API Gateway HTTP API, payload 2.0
FUNCTION_URL = "function-url"
ALB = "alb"  # ALB, single-value headers
ALB_MULTI = "alb-multi"  # ALB target group with multi-value headers on
SHAPES = (REST, REST_SINGLE, HTTP_API, FUNCTION_URL, ALB, ALB_MULTI)

# A plausible URL (and REST stage) per shape, for tests that need one.
SAMPLE_URLS: dict[str, tuple[str, str | None]] = {
    REST: ("https://abc123.execute-api.us-east-1.amazonaws.com/prod/api/inngest", "prod"),
    REST_SINGLE: ("https://inngest.example.com/api/inngest", None),
    HTTP_API: ("https://abc123.execute-api.us-east-1.amazonaws.com/api/inngest", None),
    FUNCTION_URL: ("https://abcdefgh.lambda-url.us-east-1.on.aws/api/inngest", None),
    ALB: ("http://my-alb-1234.us-east-1.elb.amazonaws.com/api/inngest", None),
    ALB_MULTI: ("http://my-alb-1234.us-east-1.elb.amazonaws.com/api/inngest", None),
}

_TEMPLATES = {
    REST: "powertools_rest_v1.json",
    REST_SINGLE: "powertools_rest_v1.json",
    HTTP_API: "powertools_http_api_v2.json",
    FUNCTION_URL: "powertools_function_url.json",
    ALB: "samgen_alb.json",
    ALB_MULTI: "powertools_alb_multivalue.json",
}

Call = Callable[[str, str, Mapping[str, str], bytes], "tuple[int, dict[str, str], bytes]"]


def fixture(name: str) -> dict[str, Any]:
    with (FIXTURES / name).open() as f:
        data: dict[str, Any] = json.load(f)
    return data


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def build_event(
    shape: str,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    stage: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An event of ``shape`` for a request to ``url``, as that front door would send it.

    For REST, ``stage`` is the first path segment of ``url`` on an execute-api
    host: the event's ``path`` leaves it out and ``requestContext.path`` keeps it.
    """
    event = copy.deepcopy(fixture(_TEMPLATES[shape]))
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    hdrs = {"host": parts.netloc, "x-forwarded-proto": parts.scheme, **dict(headers or {})}
    is_b64 = base64_body or _is_binary(body)
    text = base64.b64encode(body).decode() if is_b64 else body.decode("utf-8")
    path = parts.path or "/"
    ctx = event["requestContext"]
    if shape in (REST, REST_SINGLE):
        inner = path[len(stage) + 1:] if stage and path.startswith(f"/{stage}/") else path
        event.update(httpMethod=method, path=inner, resource="/{proxy+}", body=text or None,
                     isBase64Encoded=is_b64, headers=hdrs,
                     queryStringParameters=_single(query), pathParameters={"proxy": inner.lstrip("/")})
        ctx.update(httpMethod=method, path=path, resourcePath="/{proxy+}", stage=stage or "$default",
                   domainName=parts.hostname)
        if shape == REST:
            event["multiValueHeaders"] = {k: [v] for k, v in hdrs.items()}
            event["multiValueQueryStringParameters"] = _multi(query) or None
        else:  # empty, as Powertools' model still wants the key
            event["multiValueHeaders"] = {}
            event["multiValueQueryStringParameters"] = None
    elif shape in (HTTP_API, FUNCTION_URL):
        cookie = hdrs.pop("cookie", None)
        event.update(rawPath=path, rawQueryString=parts.query, headers=hdrs, body=text or None,
                     isBase64Encoded=is_b64, queryStringParameters=_joined(query) or None)
        if cookie:
            event["cookies"] = [c.strip() for c in cookie.split(";")]
        else:
            event.pop("cookies", None)
        ctx["http"].update(method=method, path=path)
        ctx.update(domainName=parts.hostname, stage=stage or "$default")
        if shape == FUNCTION_URL and ".lambda-url." not in (parts.hostname or ""):
            raise ValueError("a Function URL event needs a *.lambda-url.<region>.on.aws host")
    else:
        event.update(httpMethod=method, path=path, body=text, isBase64Encoded=is_b64)
        # ALB passes query keys and values through still percent-encoded.
        query = [(k, v) for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)]
        if shape == ALB_MULTI:
            event["multiValueHeaders"] = {k: [v] for k, v in hdrs.items()}
            event["multiValueQueryStringParameters"] = _multi(query)
            event.pop("headers", None)
            event.pop("queryStringParameters", None)
        else:
            event["headers"] = hdrs
            event["queryStringParameters"] = _single(query)
    return event


def _is_binary(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _single(query: list[tuple[str, str]]) -> dict[str, str]:
    return dict(query)  # the last value of a repeated key wins, as API Gateway and ALB do


def _multi(query: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in query:
        out.setdefault(k, []).append(v)
    return out


def _joined(query: list[tuple[str, str]]) -> dict[str, str]:
    return {k: ",".join(v) for k, v in _multi(query).items()}


def validate(shape: str, event: Mapping[str, Any]) -> None:
    """Raise if ``event`` is not a valid event of ``shape`` per the Powertools parser models."""
    from aws_lambda_powertools.utilities.parser import models

    model: Any = {
        REST: models.APIGatewayProxyEventModel,
        REST_SINGLE: models.APIGatewayProxyEventModel,
        HTTP_API: models.APIGatewayProxyEventV2Model,
        FUNCTION_URL: models.LambdaFunctionUrlModel,
        ALB: models.AlbModel,
        ALB_MULTI: _alb_multi_model(),
    }[shape]
    model.model_validate(event)


def _alb_multi_model() -> Any:
    """AlbModel covers single-value ALB events only; this is the same with the multi-value fields."""
    from aws_lambda_powertools.utilities.parser.models import AlbModel
    from pydantic import create_model

    return create_model(
        "AlbMultiValueModel", __base__=AlbModel,
        headers=(dict[str, str] | None, None), queryStringParameters=(dict[str, str] | None, None),
        multiValueHeaders=(dict[str, list[str]], ...),
        multiValueQueryStringParameters=(dict[str, list[str]], ...),
    )


def read_reply(reply: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body bytes of a Lambda HTTP reply, as the front door reads it."""
    headers = {k.lower(): str(v) for k, v in (reply.get("headers") or {}).items()}
    for k, values in (reply.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ", ".join(str(v) for v in values)
    raw = reply.get("body") or ""
    body = base64.b64decode(raw) if reply.get("isBase64Encoded") else str(raw).encode("utf-8")
    return int(reply["statusCode"]), headers, body


class FakeContext:
    """The two members of a Lambda context object the adapter reads."""

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms
        self.aws_request_id = "req-test"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def event_call(invoke: Callable[[dict[str, Any]], Mapping[str, Any]], shape: str, *,
               stage: str | None = None) -> Call:
    """A host-neutral ``call(method, url, headers, body)`` that goes through ``invoke(event)``."""

    def call(method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        event = build_event(shape, method, url, headers, body, stage=stage)
        validate(shape, event)
        return read_reply(invoke(event))

    return call


# -- processes ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process we started (and its process group) by PID."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def rie(handler: str, workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The Runtime Interface Emulator running ``python -m awslambdaric handler``; yields its invoke URL."""
    port, api_port = free_port(), free_port()
    full_env = {**os.environ, "PYTHONPATH": f"{workdir}{os.pathsep}{REPO}",
                "AWS_LAMBDA_FUNCTION_TIMEOUT": "30", **dict(env or {})}
    # A file, not a pipe: nobody reads the runtime's log of every call while it runs.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(RIE), "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
             "--runtime-api-address", f"127.0.0.1:{api_port}", sys.executable, "-m", "awslambdaric", handler],
            cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(port, proc)
            yield f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        finally:
            stop(proc)


def invoke_url(url: str, event: Any, timeout: float = 60.0) -> Any:
    """POST an event to an emulator invoke URL and return the decoded result."""
    data = json.dumps(event).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def http(method: str, url: str, headers: Mapping[str, str], body: bytes,
         timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP request through a local front door (serverless-offline, SAM's emulator)."""
    req = urllib.request.Request(url, data=body if method in ("POST", "PUT") else None, method=method,
                                 headers=dict(headers))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def have(path: Path) -> bool:
    return path.exists()


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


# -- serverless-offline ----------------------------------------------------------

SLS_TEMPLATE = REPO / "templates" / "serverless.yml"


@contextlib.contextmanager
def serverless_offline(workdir: Path, env: Mapping[str, str], *, alb_path: str = "/api/inngest",
                       handler_module: str = "tests.aws_lambda_app") -> Iterator[dict[str, int]]:
    """serverless-offline serving templates/serverless.yml; yields its ports (http, alb).

    The template's handler module is replaced by a shim re-exporting ``handler_module``'s
    handler; an ``alb`` event is added (a real ALB needs a listener ARN the template
    cannot know); keys come from ``env`` instead of the stack's secret.
    """
    import yaml

    config = yaml.safe_load(SLS_TEMPLATE.read_text())
    config["provider"]["environment"] = {k: v for k, v in config["provider"]["environment"].items()
                                         if k != "INNGEST_SIGNING_KEY_SECRET_ARN"}
    config["provider"]["environment"].update(env)
    fn = config["functions"]["inngest"]
    module = fn["handler"].rsplit(".", 1)[0]
    fn["events"].append({"alb": {"listenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/"
                                                "app/inngest/0123456789abcdef/0123456789abcdef",
                                 "priority": 1, "conditions": {"path": alb_path}}})
    config["plugins"] = ["serverless-offline"]
    ports = {"http": free_port(), "alb": free_port(), "lambda": free_port()}
    config.setdefault("custom", {})["serverless-offline"] = {
        "host": "127.0.0.1", "httpPort": ports["http"], "albPort": ports["alb"], "lambdaPort": ports["lambda"],
        "noTimeout": True}
    (workdir / "serverless.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (workdir / f"{module}.py").write_text(f"from {handler_module} import handler  # noqa: F401\n")
    link = workdir / "node_modules"
    if not link.exists():
        link.symlink_to(SLS_DIR / "node_modules")
    full_env = {**os.environ, "PYTHONPATH": f"{workdir}{os.pathsep}{REPO}", "SLS_TELEMETRY_DISABLED": "1",
                "SLS_NOTIFICATIONS_MODE": "off", "AWS_ACCESS_KEY_ID": "offline", "AWS_SECRET_ACCESS_KEY": "offline"}
    log = (workdir / "offline.log").open("wb")
    proc = subprocess.Popen(
        ["node", str(SLS_DIR / "node_modules" / "serverless" / "bin" / "serverless.js"), "offline", "start"],
        cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(ports["http"], proc, timeout=90)
        wait_port(ports["alb"], proc, timeout=30)
        yield ports
    finally:
        stop(proc, signal.SIGINT)
        log.close()


# -- SAM CLI's API Gateway emulator -------------------------------------------------

SAM_TEMPLATE = REPO / "sam" / "template.yaml"


@contextlib.contextmanager
def sam_local_api(invoke_url: str, workdir: Path, template: Path = SAM_TEMPLATE) -> Iterator[int]:
    """SAM CLI's LocalApigwService serving ``template``'s routes, invoking through the emulator; yields its port."""
    port = free_port()
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    log = (workdir / "sam-apigw.log").open("wb")
    proc = subprocess.Popen([str(SAM_PYTHON), str(REPO / "tests" / "aws_sam_apigw.py"), str(template), str(port),
                             invoke_url], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_port(port, proc, timeout=60)
        yield port
    finally:
        stop(proc)
        log.close()
