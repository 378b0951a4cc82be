"""Lambda response streaming from Python: the Runtime API loop behind the official emulator, and its bytes.

The Runtime Interface Emulator (from the aws-sam-cli wheel, installed by
scripts/install-hosts.d/20-aws.sh) runs the loop as Lambda would and accepts
the streaming response mode; it buffers what it gets, so these tests check
the wire format (prelude, 8 NUL bytes, keep-alive chunks, final body), not
time to first byte. A fake Runtime API captures the raw request bytes, for
the chunk framing and the error trailers the emulator does not show.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless.adapters.aws_lambda_streaming import DELIMITER, PRELUDE_CONTENT_TYPE, lambda_streaming_adapter
from tests.support import aws_harness as aws
from tests.support import lambda_streaming_app

ROOT = Path(__file__).resolve().parents[3]
RIE = ROOT / ".cache" / "aws" / "aws-lambda-rie"
INVOKE = "/2015-03-31/functions/function/invocations"

pytestmark = pytest.mark.harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def function_url_event(fn: str, body: dict[str, Any] | None, *, method: str = "POST",
                       query: dict[str, str] | None = None) -> dict[str, Any]:
    """A Function URL event (payload 2.0), from the fixture template, aimed at our endpoint."""
    event = aws.fixture("functionurl.json")
    params = {"fnId": f"ls-{fn}", "stepId": "step", **(query or {})} if fn else dict(query or {})
    event["rawPath"] = "/api/inngest"
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in params.items())
    event["queryStringParameters"] = params or None
    event["requestContext"]["http"].update({"method": method, "path": "/api/inngest"})
    event["body"] = json.dumps(body) if body is not None else None
    event["isBase64Encoded"] = False
    event.pop("cookies", None)
    return event


def call_body(event_name: str) -> dict[str, Any]:
    return {"event": {"name": event_name, "data": {}, "id": "e1", "ts": 1, "user": {}}, "events": [],
            "steps": {}, "version": 2,
            "ctx": {"run_id": "01RUN", "fn_id": "uuid", "attempt": 0, "max_attempts": 3, "step_id": "step",
                    "stack": {"stack": [], "current": 0}, "disable_immediate_execution": False}}


def split(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """(prelude, body) of an HTTP-integration stream; checks the 8-NUL delimiter."""
    head, sep, body = raw.partition(DELIMITER)
    assert sep == DELIMITER, raw[:200]
    assert b"\x00" not in head
    return json.loads(head), body


LOOP = [sys.executable, "-m", "inngest_serverless.adapters.aws_lambda_streaming"]
BOOTSTRAP = ROOT / "inngest_serverless" / "adapters" / "aws_lambda_streaming" / "bootstrap"


class Emulator:
    def __init__(self, env: dict[str, str], command: list[str] = LOOP) -> None:
        self.port, api_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [str(RIE), "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
             "--runtime-api-address", f"127.0.0.1:{api_port}", *command],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "_HANDLER": "tests.support.lambda_streaming_app.handler",
                           **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the emulator did not start")

    def invoke(self, event: Any) -> bytes:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", INVOKE, body=json.dumps(event))
            reply = conn.getresponse()
            assert reply.status == 200
            return reply.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def emulator(env: dict[str, str], command: list[str] = LOOP) -> Iterator[Emulator]:
    if not RIE.exists():
        pytest.skip("the Lambda emulator is not installed (scripts/install-hosts.d/20-aws.sh)")
    rie = Emulator(env, command)
    try:
        yield rie
    finally:
        rie.stop()


@pytest.fixture(scope="module")
def lam() -> Iterator[Emulator]:
    yield from emulator({"STREAMING_TEST_STEP_SECONDS": "1.0", "STREAMING_TEST_INTERVAL": "0.1"})


@pytest.fixture(scope="module")
def short_lam() -> Iterator[Emulator]:
    yield from emulator({"STREAMING_TEST_STEP_SECONDS": "30", "AWS_LAMBDA_FUNCTION_TIMEOUT": "2"})


def test_the_exec_wrapper_starts_the_loop_and_ignores_the_managed_runtime_command_line() -> None:
    # As AWS_LAMBDA_EXEC_WRAPPER, the script gets the managed runtime's own command line as arguments.
    managed = [str(BOOTSTRAP), "/var/lang/bin/python3.12", "/var/runtime/bootstrap.py"]
    env = {"INNGEST_LAMBDA_PYTHON": sys.executable, "LAMBDA_TASK_ROOT": str(ROOT)}
    for rie in emulator(env, managed):
        prelude, body = split(rie.invoke(function_url_event("quick", call_body("t/quick"))))
        assert prelude["statusCode"] == 200 and json.loads(body) == {"quick": True}


def test_a_slow_call_streams_prelude_nul_bytes_keepalives_and_the_final_body(lam: Emulator) -> None:
    prelude, body = split(lam.invoke(function_url_event("slow", call_body("t/slow"))))
    assert prelude["statusCode"] == 201
    assert prelude["headers"]["x-inngest-sdk"].startswith("inngest-serverless:v")
    assert prelude["headers"]["content-type"] == "application/json"
    assert prelude["cookies"] == []
    text = body.decode()
    wrapper = json.loads(text)
    keepalives = len(text) - len(text.lstrip(" "))
    assert keepalives >= 2, "the first space at once, more while the step runs"
    assert wrapper["status"] == 206
    ops = json.loads(wrapper["body"])
    assert [(op["op"], op["name"], op["data"]) for op in ops] == [("StepRun", "slow step", "done")]


def test_a_quick_call_gets_its_plain_reply_after_the_prelude(lam: Emulator) -> None:
    prelude, body = split(lam.invoke(function_url_event("quick", call_body("t/quick"))))
    assert prelude["statusCode"] == 200
    assert json.loads(body) == {"quick": True}


def test_introspection_is_answered_through_the_stream(lam: Emulator) -> None:
    prelude, body = split(lam.invoke(function_url_event("", None, method="GET")))
    assert prelude["statusCode"] == 200
    assert json.loads(body)["function_count"] == 2


def test_a_rest_api_event_is_streamed_with_the_same_prelude(lam: Emulator) -> None:
    from tests.support import aws_harness as aws

    event = aws.build_event(aws.REST, "POST",
                            "https://abc.execute-api.us-east-1.amazonaws.com/Prod/api/inngest?fnId=ls-slow&stepId=step",
                            {"content-type": "application/json"}, json.dumps(call_body("t/slow")).encode(),
                            stage="Prod")
    prelude, body = split(lam.invoke(event))
    assert prelude["statusCode"] == 201
    wrapper = json.loads(body)
    assert wrapper["status"] == 206 and json.loads(wrapper["body"])[0]["data"] == "done"


def test_an_event_that_is_not_http_gets_a_400(lam: Emulator) -> None:
    prelude, body = split(lam.invoke({"not": "http"}))
    assert prelude["statusCode"] == 400
    assert "HTTP" in json.loads(body)["message"]


def test_near_the_function_timeout_a_running_step_is_answered_for(short_lam: Emulator) -> None:
    prelude, body = split(short_lam.invoke(function_url_event("slow", call_body("t/slow"))))
    assert prelude["statusCode"] == 201
    wrapper = json.loads(body)
    ops = json.loads(wrapper["body"])
    assert wrapper["status"] == 206 and ops[0]["op"] == "StepError"
    assert ops[0]["error"]["name"] == "DeadlineExceeded" and "'slow step'" in ops[0]["error"]["message"]


# -- the raw request, captured by a fake Runtime API --------------------------------------------


class FakeRuntimeApi:
    """Serves one event on ``invocation/next`` and records the raw bytes of the reply POST."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = json.dumps(event).encode()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.reply = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            self._read_head(conn)
            head = (b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n"
                    b"Lambda-Runtime-Deadline-Ms: %d\r\nContent-Length: %d\r\n\r\n"
                    % (int(time.time() * 1000) + 60_000, len(self.event)))
            conn.sendall(head + self.event)
            reply_conn, _ = self.sock.accept()
            with reply_conn:
                data = b""
                while not data.endswith(b"\r\n\r\n") or b"\r\n0\r\n" not in data:
                    piece = reply_conn.recv(65536)
                    if not piece:
                        break
                    data += piece
                self.reply = data
                reply_conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    @staticmethod
    def _read_head(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)

    def close(self) -> None:
        self.thread.join(10)
        self.sock.close()


def unchunk(body: bytes) -> tuple[list[bytes], bytes]:
    """(the chunks, the trailer block) of a chunked body."""
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks, body
        chunks.append(body[:size])
        assert body[size:size + 2] == b"\r\n"
        body = body[size + 2:]


def captured(query: dict[str, str] | None = None) -> tuple[bytes, list[bytes], bytes]:
    fake = FakeRuntimeApi(function_url_event("slow", call_body("t/slow"), query=query))
    try:
        lambda_streaming_adapter(lambda_streaming_app.handler, runtime_api=fake.address, invocations=1)
    finally:
        fake.close()
    head, _, body = fake.reply.partition(b"\r\n\r\n")
    chunks, trailers = unchunk(body)
    return head, chunks, trailers


def test_the_reply_is_posted_in_streaming_mode_with_hand_written_chunks() -> None:
    head, chunks, trailers = captured()
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["lambda-runtime-function-response-mode"] == "streaming"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["content-type"] == PRELUDE_CONTENT_TYPE
    assert headers["trailer"] == "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    assert chunks[0].endswith(DELIMITER) and json.loads(chunks[0][:-8])["statusCode"] == 201
    assert chunks[1] == b" " and all(c == b" " for c in chunks[1:-1])
    assert json.loads(chunks[-1])["status"] == 206
    assert trailers == b"\r\n", "no error trailers"


def test_an_error_mid_stream_is_sent_in_the_trailers() -> None:
    _, chunks, trailers = captured({"break": "1"})
    assert chunks[-1] == b" "
    fields = dict(line.split(": ", 1) for line in trailers.decode().split("\r\n") if line)
    assert fields["Lambda-Runtime-Function-Error-Type"] == "Runtime.StreamError"
    detail = json.loads(base64.b64decode(fields["Lambda-Runtime-Function-Error-Body"]))
    assert detail["errorType"] == "RuntimeError" and detail["errorMessage"] == "the stream broke"


# -- the SAM variant that deploys it -----------------------------------------------------------

TEMPLATE = ROOT / "sam" / "template-streaming.yaml"


def test_the_streaming_sam_template_passes_cfn_lint() -> None:
    code = "import sys; from cfnlint.runner import main; sys.exit(main())"
    out = subprocess.run([sys.executable, "-c", code, str(TEMPLATE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_streaming_sam_template_deploys_a_streaming_url_and_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(TEMPLATE.read_text())
    template["Resources"]["InngestStreamingFunction"]["Properties"]["CodeUri"] = "s3://placeholder-bucket/app.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    out = transform(template, {"AppTimeout": 900}, NoManagedPolicies())
    resources = out["Resources"]
    assert resources["InngestStreamingFunctionUrl"]["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    integration = resources["InngestMethod"]["Properties"]["Integration"]
    assert integration["Type"] == "AWS_PROXY" and integration["ResponseTransferMode"] == "STREAM"
    assert "/response-streaming-invocations" in json.dumps(integration["Uri"])
    function = resources["InngestStreamingFunction"]["Properties"]
    assert function["Runtime"].startswith("python3.")
    # The handler is the package's streaming entry (no exec wrapper: its execute bit does not survive sam build).
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in function["Environment"]["Variables"]
    entry, _, attr = function["Handler"].rpartition(".")
    assert (ROOT / (entry.replace(".", "/") + ".py")).is_file() and attr == "handler"
    module, attr = function["Environment"]["Variables"]["INNGEST_LAMBDA_CLIENT"].split(".")
    assert module == "app" and attr == "client"
    assert "client = Inngest(" in (ROOT / "sam" / "app" / "app.py").read_text()


def test_sam_validate_lint_passes_on_the_streaming_template() -> None:
    sam = ROOT / ".cache" / "aws" / "sam-venv" / "bin" / "sam"
    if not sam.exists():
        pytest.skip("SAM CLI is not installed (scripts/install-hosts.d/20-aws.sh)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([str(sam), "validate", "--lint", "-t", TEMPLATE.name], capture_output=True, text=True,
                         env=env, cwd=TEMPLATE.parent)
    assert out.returncode == 0 and "is a valid SAM Template" in out.stdout + out.stderr, out.stdout + out.stderr


# -- the entry handler: the managed runtime's client imports it, and the import serves -------------

ENTRY = [sys.executable, "-m", "awslambdaric", "inngest_serverless.adapters.aws_lambda_streaming.entry.handler"]


def test_the_entry_handler_runs_the_streaming_loop_in_the_managed_runtimes_place() -> None:
    env = {"INNGEST_LAMBDA_CLIENT": "tests.support.lambda_streaming_app.handler", "STREAMING_TEST_STEP_SECONDS": "1.0",
           "STREAMING_TEST_INTERVAL": "0.1"}
    for rie in emulator(env, ENTRY):
        prelude, body = split(rie.invoke(function_url_event("slow", call_body("t/slow"))))
        assert prelude["statusCode"] == 201, "a streamed reply: awslambdaric alone cannot send one"
        assert json.loads(body)["status"] == 206


def test_the_entry_handler_without_a_client_to_serve_fails_its_init_naming_the_variable() -> None:
    import urllib.error
    import urllib.request

    for rie in emulator({}, ENTRY):
        event = json.dumps(function_url_event("quick", call_body("t/quick"))).encode()
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"http://127.0.0.1:{rie.port}{INVOKE}", data=event, timeout=60)
        reply = json.loads(failed.value.read())
        assert failed.value.code == 502, "the emulator's answer to a failed init"
        assert "INNGEST_LAMBDA_CLIENT" in reply["errorMessage"], reply
