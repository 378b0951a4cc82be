"""Drive both SDKs through the same HTTP calls, in process.

* ours: ``Handler.handle(Request)``, the transport-independent entry point;
* inngest-py 0.5.19: its Flask integration (``inngest.flask.serve``) through
  Flask's test client, i.e. its real request path from WSGI to its comm handler.

Both run in dev mode (``is_production=False``), so neither checks signatures, except
where a test gives both the same signing key (cloud mode).
Events sent by ``step.send_event`` go to a loopback event API that both
clients are pointed at.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.fake_api import FakeApi, Recorded, fake_api

from . import functions

APP_ID = "diff"
EVENT_KEY = "diff-event-key"
URL_PATH = "/api/inngest"


def hashed(step_id: str) -> str:
    """The wire ID of a step: the SHA-1 of its ID, ``:n`` appended for the n-th repeat."""
    return hashlib.sha1(step_id.encode()).hexdigest()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@contextmanager
def event_api() -> Iterator[FakeApi]:
    """A loopback event API that both clients send to. It answers with one ID per event, made
    from the event's name and data, so both SDKs get the same IDs for the same events."""
    with fake_api() as api:

        def ids(rec: Recorded) -> tuple[int, Any]:
            body = rec.json()
            batch = body if isinstance(body, list) else [body]
            return 200, {"ids": [f"evt-{hashed(json.dumps([e.get('name'), e.get('data')]))[:12]}" for e in batch],
                         "status": 200}

        api.on("POST", f"/e/{EVENT_KEY}", ids)
        yield api


def received(api: FakeApi) -> list[Any]:
    """Every event the SDKs sent, in order."""
    out: list[Any] = []
    for rec in api.requests:
        body = rec.json()
        out.extend(body if isinstance(body, list) else [body])
    return out


class Sdk:
    """One SDK under test, with the differential functions defined on it."""

    name: str

    def post(self, query: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        raise NotImplementedError

    def call(self, fn_id: str, body: dict[str, Any] | bytes, *, step: str = "step",
             headers: dict[str, str] | None = None) -> Reply:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.post(f"fnId={APP_ID}-{fn_id}&stepId={step}", raw, headers)


class Ours(Sdk):
    name = "inngest-serverless"
    define = staticmethod(functions.define)

    def __init__(self, event_api_url: str, signing_key: str | None = None) -> None:
        import inngest_serverless as sdk

        # Dev mode, unless a signing key is given: then cloud mode, where every call must be signed.
        self.client = sdk.Inngest(app_id=APP_ID, is_production=signing_key is not None, signing_key=signing_key,
                                  event_key=EVENT_KEY, event_api_base_url=event_api_url)
        self.fns = self.define(sdk, self.client)
        self.handler = sdk.Handler(self.client, framework="differential")
        self._request = sdk.Request

    def post(self, query: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        hdrs = {"content-type": "application/json", **(headers or {})}
        res = self.handler.handle(self._request.build("POST", f"http://app.test{URL_PATH}?{query}", hdrs, body))
        return Reply(res.status, {k.lower(): v for k, v in res.headers.items()}, res.read())


class Theirs(Sdk):
    name = "inngest-py"

    def __init__(self, event_api_url: str, signing_key: str | None = None) -> None:
        import flask
        import inngest
        import inngest.flask

        self.client = inngest.Inngest(app_id=APP_ID, is_production=signing_key is not None, signing_key=signing_key,
                                      event_key=EVENT_KEY, event_api_base_url=event_api_url,
                                      serializer=inngest.PydanticSerializer())
        self.fns = functions.define(inngest, self.client)
        app = flask.Flask("differential")
        inngest.flask.serve(app, self.client, list(self.fns.values()))
        self.http = app.test_client()

    def post(self, query: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        hdrs = {"content-type": "application/json", **(headers or {})}
        res = self.http.post(f"{URL_PATH}?{query}", data=body, headers=hdrs)
        return Reply(res.status_code, {k.lower(): v for k, v in res.headers.items()}, res.get_data())


class OursAsync(Ours):
    """Ours, serving ``async def`` functions through ``Handler.handle_async``."""

    define = staticmethod(functions.define_async)

    def post(self, query: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        import asyncio

        hdrs = {"content-type": "application/json", **(headers or {})}
        req = self._request.build("POST", f"http://app.test{URL_PATH}?{query}", hdrs, body)
        res = asyncio.run(self.handler.handle_async(req))
        return Reply(res.status, {k.lower(): v for k, v in res.headers.items()}, res.read())


class TheirsAsync(Sdk):
    """inngest-py serving ``async def`` functions through its comm handler's async ``post``:
    the layer its async integrations (FastAPI, Tornado, Django async) call. Its Flask
    integration would need asgiref for async views."""

    name = "inngest-py"

    def __init__(self, event_api_url: str) -> None:
        import inngest
        from inngest._internal import comm_lib, server_lib

        self.client = inngest.Inngest(app_id=APP_ID, is_production=False, event_key=EVENT_KEY,
                                      event_api_base_url=event_api_url)
        self.fns = functions.define_async(inngest, self.client)
        self._comm = comm_lib
        self.handler = comm_lib.CommHandler(client=self.client, enable_unauthed_sync=None,
                                            framework=server_lib.Framework.FAST_API,
                                            functions=list(self.fns.values()), streaming=None)

    def post(self, query: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        import asyncio
        from urllib.parse import parse_qsl

        req = self._comm.CommRequest(body=body, headers={"content-type": "application/json", **(headers or {})},
                                     public_path=None, query_params=dict(parse_qsl(query, keep_blank_values=True)),
                                     raw_request=None, request_url=f"http://app.test{URL_PATH}?{query}",
                                     serve_origin=None, serve_path=None)
        res = asyncio.run(self.handler.post(req))
        raw = res.body_bytes()
        if isinstance(raw, Exception):
            raise raw
        return Reply(res.status_code, {k.lower(): v for k, v in res.headers.items()}, raw)


def call_body(steps: dict[str, Any] | None = None, *, event: dict[str, Any] | None = None, attempt: int = 0,
              max_attempts: int | None = None, disable: bool = False, run_id: str = "01DIFFRUN") -> dict[str, Any]:
    """A call body as the server sends it."""
    ev = event or {"name": functions.EVENT, "data": {"n": 7}, "id": "evt-in", "ts": 1700000000000, "user": {}}
    memo = steps or {}
    ctx: dict[str, Any] = {
        "fn_id": "00000000-0000-0000-0000-000000000001", "run_id": run_id, "env": "", "step_id": "step",
        "attempt": attempt, "stack": {"stack": list(memo), "current": len(memo)},
        "disable_immediate_execution": disable, "use_api": False,
    }
    if max_attempts is not None:
        ctx["max_attempts"] = max_attempts
    return {"event": ev, "events": [ev], "steps": memo, "ctx": ctx, "version": 2, "use_api": False}
