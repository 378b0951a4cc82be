"""A small stand-in for the Inngest executor that speaks the protocol over any transport.

Host-neutral: it only needs ``call(method, url, headers, body) -> (status,
headers, body)``, so the same driver runs against an app in-process, behind
Lambda's runtime emulator, serverless-offline, a WSGI server... It signs
requests the way the server does (HMAC-SHA256 over the JCS body and the
timestamp, written here from the protocol, not borrowed from the SDK),
checks the SDK's response signatures, and plays runs to completion with the
tests' one oracle executor (tests/support/oracle.py): memoised steps, a growing
stack, planned steps targeted by ``stepId``, retries counted by ``ctx.attempt``.

``drive(call, url, app_id=..., signing_key=...)`` runs the standard scenario
against an app that defines the two functions in :data:`MULTI_STEP` and
:data:`FAILING` (see tests/support/aws_lambda_app.py): introspection, in-band sync,
a multi-step run to completion and a failing step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import rfc8785

from tests.support.oracle import Answer, Memos, ProtocolError, Run, play

Call = Callable[[str, str, Mapping[str, str], bytes], "tuple[int, Mapping[str, str], bytes]"]

# The standard scenario's functions: (slug, event name, event data, expected result or error message).
MULTI_STEP = ("multi-step", "sim/multi", {"start": 1}, {"first": 2, "second": 20})
FAILING = ("failing-step", "sim/fail", {}, "this step always fails")
FAILING_RETRIES = 1  # the app declares retries=1: two attempts in all

SDK_HEADER = "x-inngest-sdk"
SIGNATURE = "x-inngest-signature"
SYNC_KIND = "x-inngest-sync-kind"
NO_RETRY = "x-inngest-no-retry"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def step_hash(step_id: str) -> str:
    return hashlib.sha1(step_id.encode()).hexdigest()


def _mac(body: bytes, key: str, ts: int) -> str:
    secret = re.sub(r"^signkey-\w+-", "", key).encode()
    return hmac.new(secret, body + str(ts).encode(), hashlib.sha256).hexdigest()


def signature(body: bytes, key: str, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    return f"t={ts}&s={_mac(body, key, ts)}"


def check_signature(body: bytes, header: str | None, key: str) -> None:
    """The response was signed with ``key`` over exactly these bytes."""
    if not header:
        raise ProtocolError("response is not signed")
    fields = dict(part.split("=", 1) for part in header.split("&"))
    if not hmac.compare_digest(_mac(body, key, int(fields["t"])), fields["s"]):
        raise ProtocolError("response signature does not match its body")


@dataclass
class SimExecutor:
    call: Call
    url: str  # the app's URL, as registered
    app_id: str
    signing_key: str | None = None
    seen_statuses: list[int] = field(default_factory=list)

    # -- transport ------------------------------------------------------------
    def request(self, method: str, query: Mapping[str, str] | None = None, body: Any = None,
                headers: Mapping[str, str] | None = None, *, sign: bool = True) -> tuple[int, dict[str, str], bytes]:
        raw = b"" if body is None else rfc8785.dumps(body)
        hdrs = {"content-type": "application/json", "x-inngest-server-kind": "cloud", **dict(headers or {})}
        if sign and self.signing_key:
            hdrs[SIGNATURE] = signature(raw, self.signing_key)
        sep = "&" if "?" in self.url else "?"
        url = self.url + (sep + urlencode(query) if query else "")
        status, got, out = self.call(method, url, hdrs, raw)
        lowered = {k.lower(): v for k, v in got.items()}
        self.seen_statuses.append(status)
        if SDK_HEADER not in lowered:
            raise ProtocolError(f"{method} answered {status} without {SDK_HEADER}: {out[:300]!r}")
        if status == 201:  # a keep-alive stream: spaces, then the real reply wrapped
            return self._unwrap(lowered, out)
        return status, lowered, out

    def _unwrap(self, headers: dict[str, str], out: bytes) -> tuple[int, dict[str, str], bytes]:
        wrapper = self.json(out.strip())
        if not isinstance(wrapper, dict) or "status" not in wrapper or wrapper.get("error"):
            raise ProtocolError(f"streamed reply is not a status/body wrapper: {out[:300]!r}")
        body = wrapper.get("body")
        # ``body`` is raw JSON (Go) or a string holding the serialised payload (Python); the server takes both.
        raw = body.encode() if isinstance(body, str) and _is_json(body) else json.dumps(body).encode()
        inner = {**headers, **{k.lower(): str(v) for k, v in (wrapper.get("headers") or {}).items()}}
        self.seen_statuses.append(int(wrapper["status"]))
        return int(wrapper["status"]), inner, raw

    def json(self, out: bytes) -> Any:
        try:
            return json.loads(out)
        except ValueError:
            raise ProtocolError(f"body is not JSON: {out[:300]!r}") from None

    # -- protocol -------------------------------------------------------------
    def introspect(self, *, signed: bool) -> dict[str, Any]:
        status, headers, out = self.request("GET", sign=signed)
        if status != 200:
            raise ProtocolError(f"GET answered {status}: {out[:300]!r}")
        body: dict[str, Any] = self.json(out)
        if signed and self.signing_key:
            check_signature(out, headers.get(SIGNATURE), self.signing_key)
        return body

    def sync(self) -> dict[str, Any]:
        """An in-band sync, as Inngest Cloud sends it; returns the app's payload."""
        status, headers, out = self.request("PUT", body={"url": self.url}, headers={SYNC_KIND: "in_band"})
        if status != 200 or headers.get(SYNC_KIND) != "in_band":
            raise ProtocolError(f"in-band PUT answered {status} ({headers.get(SYNC_KIND)}): {out[:300]!r}")
        if self.signing_key:
            check_signature(out, headers.get(SIGNATURE), self.signing_key)
        payload: dict[str, Any] = self.json(out)
        return payload

    def run(self, slug: str, event_name: str, data: Mapping[str, Any], *, max_attempts: int = 4,
            limit: int = 40) -> Run:
        """Play one run of ``slug`` to its end with the oracle (tests/support/oracle.py)."""
        event = {"name": event_name, "data": dict(data), "id": "01SIMEVENT", "ts": int(time.time() * 1000),
                 "user": {}, "v": "1"}

        def send(memos: Memos) -> Answer:
            stack = memos.stack
            body = {"event": event, "events": [event], "steps": dict(memos.steps), "version": 2, "use_api": False,
                    "ctx": {"fn_id": "00000000-0000-0000-0000-000000000001", "run_id": "01SIMRUN", "env": "",
                            "step_id": "step", "attempt": memos.attempt, "max_attempts": max_attempts,
                            "stack": {"stack": stack, "current": len(stack)},
                            "disable_immediate_execution": memos.disable, "use_api": False}}
            status, headers, out = self.request("POST", {"fnId": f"{self.app_id}-{slug}", "stepId": memos.target},
                                                body)
            return Answer(status, self.json(out), headers.get(NO_RETRY) == "true")

        return play(send, Memos(max_attempts=max_attempts), limit=limit, name=f"run of {slug}")


def drive(call: Call, url: str, *, app_id: str, signing_key: str | None = None,
          expect_url: str | None = None) -> dict[str, Any]:
    """The standard scenario; raises ``ProtocolError``/``AssertionError`` on the first wrong answer.

    ``expect_url`` is the URL the app must work out for itself from the request
    (its signed introspection's serve origin + path; default: ``url``).
    Returns what was seen, for tests that check more.
    """
    sim = SimExecutor(call, url, app_id, signing_key)
    plain = sim.introspect(signed=False)
    assert plain["function_count"] >= 2, plain
    assert plain.get("authentication_succeeded") is not True, plain
    report: dict[str, Any] = {"introspection": plain}
    if signing_key:
        signed = sim.introspect(signed=True)
        assert signed["authentication_succeeded"] is True, signed
        assert signed["app_id"] == app_id, signed
        # The app's own idea of its URL, rebuilt from the request the host handed it.
        own_url = signed["serve_origin"] + signed["serve_path"]
        assert own_url == (expect_url or url).split("?")[0], (own_url, expect_url or url)
        report["signed_introspection"] = signed
    payload = sim.sync()  # in band: the app registers the URL the server says it used
    assert payload["url"] == url, (payload["url"], url)
    ids = {f["id"] for f in payload["functions"]}
    assert {f"{app_id}-{MULTI_STEP[0]}", f"{app_id}-{FAILING[0]}"} <= ids, ids
    for fn in payload["functions"]:
        for step in fn["steps"].values():
            assert step["runtime"]["url"].startswith(url.split("?")[0] + "?"), step["runtime"]["url"]
    report["sync"] = payload

    slug, name, data, expected = MULTI_STEP
    done = sim.run(slug, name, data)
    assert (done.status, done.output) == ("completed", expected), done
    assert [op["op"] for ops in done.ops for op in ops] == ["StepRun", "StepRun"], done.ops
    assert [ops[0]["id"] for ops in done.ops] == [step_hash("first"), step_hash("second")], done.ops
    report["multi_step"] = done

    slug, name, data, message = FAILING
    failed = sim.run(slug, name, data, max_attempts=FAILING_RETRIES + 1)
    kinds = [op["op"] for ops in failed.ops for op in ops]
    assert kinds == ["StepError", "StepFailed"], failed.ops
    assert failed.status == "failed", failed
    assert message in json.dumps(failed.output), failed.output
    report["failing"] = failed
    return report
