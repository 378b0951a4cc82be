"""A Lambda Function URL on this machine: HTTP in front of the Runtime Interface Emulator.

The real Inngest server calls an app over HTTP; a Lambda behind a Function URL gets that
request as a Function URL event. ``lambda_function_url(handler, env)`` runs ``handler`` in
its real runtime (``aws_harness.rie``: the emulator with awslambdaric) and serves a loopback
HTTP origin that turns each request into a Function URL event (``aws_harness.build_event``,
checked against Powertools' model), invokes the emulator and turns the reply back into
HTTP. The app's ``INNGEST_SERVE_ORIGIN`` is set to that origin, so the URL it registers is
the one the server can reach (a deployed app behind a custom domain does the same).

The emulator runs one invocation at a time, as one Lambda execution environment does, so
calls are serialized here. Every call is recorded (``calls``): the tests count how many
times the server invoked the app.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support import aws_harness as aws

PATH = "/api/inngest"
_HOST = "abcdefghijklmnop.lambda-url.us-east-1.on.aws"  # a Function URL host, as the event carries it
# Hop-by-hop or recomputed by the front door; a Function URL event does not carry them as sent.
_DROP = frozenset({"host", "connection", "content-length", "transfer-encoding", "accept-encoding"})


@dataclass(frozen=True)
class Call:
    method: str
    query: dict[str, list[str]]
    status: int
    seconds: float

    @property
    def fn_id(self) -> str | None:
        ids = self.query.get("fnId")
        return ids[0] if ids else None


@dataclass
class FunctionUrl:
    url: str  # the app's endpoint, http://127.0.0.1:PORT/api/inngest
    calls: list[Call] = field(default_factory=list)

    def function_calls(self, fn_slug_suffix: str) -> list[Call]:
        """The POST calls the server made to the function whose ID ends with ``fn_slug_suffix``."""
        return [c for c in self.calls if c.method == "POST" and (c.fn_id or "").endswith(fn_slug_suffix)]


@contextlib.contextmanager
def lambda_function_url(handler: str, env: Mapping[str, str], *, workdir: Path = aws.REPO,
                        streaming: bool = False) -> Iterator[FunctionUrl]:
    """``streaming``: the Function URL is in RESPONSE_STREAM mode and the function runs our streaming
    loop (adapters/aws_lambda_streaming, ``handler`` naming its client) instead of awslambdaric."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    origin = f"http://127.0.0.1:{server.server_port}"
    front = FunctionUrl(origin + PATH)
    lock = threading.Lock()
    lambda_env = {"INNGEST_SERVE_ORIGIN": origin, "AWS_REGION": "us-east-1", **dict(env)}
    runtime = None
    if streaming:
        lambda_env["_HANDLER"] = handler
        runtime = [sys.executable, "-m", "inngest_serverless.adapters.aws_lambda_streaming"]
    with aws.rie(handler, workdir, lambda_env, runtime) as invoke:

        class Door(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _DROP}
                event = aws.build_event(aws.FUNCTION_URL, self.command, f"https://{_HOST}{self.path}", headers, body)
                started = time.perf_counter()
                with lock:
                    if streaming:
                        status, out_headers, out_body = _read_stream(aws.invoke_raw(invoke, event, timeout=120))
                    else:
                        status, out_headers, out_body = aws.read_reply(aws.invoke_url(invoke, event, timeout=120))
                query = parse_qs(urlsplit(self.path).query)
                front.calls.append(Call(self.command, query, status, time.perf_counter() - started))
                self.send_response(status)
                for k, v in out_headers.items():
                    if k not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(out_body)))
                self.end_headers()
                self.wfile.write(out_body)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        server.RequestHandlerClass = Door
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield front
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


def _read_stream(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """A streamed HTTP-integration reply as the Function URL front door reads it: the JSON prelude
    ``{statusCode, headers, cookies}``, 8 NUL bytes, then the body (the emulator buffers it)."""
    head, sep, body = raw.partition(b"\0" * 8)
    if not sep:
        raise AssertionError(f"not a streamed HTTP-integration reply: {raw[:300]!r}")
    prelude = json.loads(head)
    headers = {str(k).lower(): str(v) for k, v in (prelude.get("headers") or {}).items()}
    return int(prelude["statusCode"]), headers, body
