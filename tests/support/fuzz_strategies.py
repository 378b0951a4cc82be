"""Hypothesis strategies for requests to the handler: valid calls mutated, random bytes,
deep nesting, huge numbers, wrong types, non-UTF-8, hostile URLs, headers and methods.

``requests(mode)`` draws one :class:`~inngest_serverless.Request`; the test then runs it
through the handler and :func:`tests.support.fuzz_targets.check_reply`.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from inngest_serverless import Request
from inngest_serverless.core import signing
from tests.support.fuzz_targets import APP, FALLBACK, FUNCTIONS, HASHES, KEY, canonical

HUGE = "\u0000huge\u0000"  # placeholder for a number JSON can write but Python cannot always read
DEEP = "\u0000deep\u0000"  # placeholder for deeply nested arrays

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from([HUGE, DEEP, "\ud800", "\x00", "é" * 3, "signkey-", "__proto__"])
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

memo_values = st.one_of(
    st.none(),
    st.builds(lambda v: {"data": v}, json_values),
    st.builds(lambda m, n: {"error": {"name": n, "message": m}}, st.text(max_size=20), st.text(max_size=8)),
    st.builds(lambda d: {"name": "fuzz/reply", "data": d, "id": "e2", "ts": 2}, json_values),
    json_values,
)


@st.composite
def call_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A call body as the server sends it with memos for the fuzzed steps."""
    event = {"name": draw(st.sampled_from(["fuzz/steps", "fuzz/echo", "inngest/scheduled.timer", ""])),
             "data": {"x": draw(json_values), "id": draw(st.integers(0, 3))},
             "id": draw(st.text(max_size=6)), "ts": draw(st.integers(0, 2**42)), "user": {}}
    memo_ids = draw(st.lists(st.sampled_from(HASHES), unique=True, max_size=6))
    steps = {k: draw(memo_values) for k in memo_ids}
    use_api = draw(st.booleans()) and draw(st.booleans())
    ctx: dict[str, Any] = {
        "fn_id": "f0", "run_id": draw(st.sampled_from(["01RUN", "01HZZ", ""]) | st.text(max_size=12)),
        "env": "", "step_id": "step", "attempt": draw(st.integers(0, 6)),
        "stack": {"stack": draw(st.permutations(memo_ids)), "current": len(memo_ids)},
        "disable_immediate_execution": draw(st.booleans()), "use_api": use_api,
    }
    if draw(st.booleans()):
        ctx["max_attempts"] = draw(st.integers(0, 6))
    events = draw(st.sampled_from([[event], [event, event], []]))
    return {"event": event, "events": events, "steps": steps, "ctx": ctx, "version": 2, "use_api": use_api}


def _paths(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out.append((value, key))
        _paths(child, out)
    return out


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with a few nodes replaced by wrong types, huge numbers or deep nesting, or removed."""
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(value, [])
        if not paths:
            break
        container, key = draw(st.sampled_from(paths))
        if isinstance(container, dict) and draw(st.booleans()) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values | st.sampled_from([HUGE, DEEP]))
    return value


def dumps(value: Any, depth: int, huge: str) -> bytes:
    """JSON text with the placeholders swapped for raw deep nesting and huge numbers."""
    text = json.dumps(value)
    text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth).replace(json.dumps(HUGE), huge)
    return text.encode("utf-8", "surrogatepass")


huge_numbers = st.sampled_from(["1" + "0" * 5000, "-" + "9" * 400, "1e999", "-1e-999", "0." + "0" * 3000 + "1",
                                "123456789012345678901234567890", "1E400"])
bad_bytes = st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf"])


@st.composite
def byte_mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    """Truncate, splice in invalid UTF-8 or random bytes, or replace the whole body."""
    choice = draw(st.sampled_from(["keep", "keep", "keep", "truncate", "splice", "bad-utf8", "random", "deep"]))
    if choice == "truncate" and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if choice in ("splice", "bad-utf8"):
        at = draw(st.integers(0, len(raw)))
        piece = draw(bad_bytes) if choice == "bad-utf8" else draw(st.binary(min_size=1, max_size=8))
        return raw[:at] + piece + raw[at:]
    if choice == "random":
        return draw(st.binary(max_size=64))
    if choice == "deep":
        depth = draw(st.sampled_from([50, 1000, 5000, 100_000]))
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        return opener * depth
    return raw


methods = st.sampled_from(["GET", "PUT", "POST"]) | st.sampled_from(
    ["DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "get", "post", "", "PROPFIND"]
) | st.text(max_size=8)

hosts = st.sampled_from(["app.test", "app.test:8080", "127.0.0.1", "[::1]", "[::1", "[zz]", "a b", "x@evil.test", ""])

queries = st.one_of(
    st.builds(lambda fn, step, extra: urlencode({"fnId": fn, "stepId": step, **extra}),
              st.sampled_from([f"{APP}-{f}" for f in FUNCTIONS] + list(FUNCTIONS) + ["", f"{APP}-nope"]) | st.text(max_size=10),
              st.sampled_from(["step", *HASHES, ""]) | st.text(max_size=10),
              st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)),
    st.just("probe=trust"),
    st.just("deployId=d1"),
    st.text(max_size=30),
    st.just(""),
)

header_names = st.sampled_from([
    "content-type", "x-inngest-sync-kind", "x-inngest-server-kind", "x-inngest-force-step-plan",
    "x-request-id", "x-inngest-job-id", "x-inngest-step-id", "host", "x-forwarded-proto",
]) | st.text(min_size=1, max_size=12)
header_values = st.sampled_from(["in_band", "out_of_band", "dev", "cloud", "true", "application/json"]) | st.text(max_size=20)


@st.composite
def signature_headers(draw: st.DrawFn, body: bytes) -> str | None:
    """Nothing, a valid signature (primary or fallback key), or one of many wrong ones."""
    now = int(time.time())
    kind = draw(st.sampled_from(["none", "none", "valid", "valid", "fallback", "wrong-key", "stale", "future",
                                 "garbage", "huge-ts", "non-ascii"]))
    canonical_body = canonical(body)
    if kind == "none":
        return None
    if kind == "valid":
        return signing.sign(canonical_body, KEY, now)
    if kind == "fallback":
        return signing.sign(canonical_body, FALLBACK, now)
    if kind == "wrong-key":
        return signing.sign(canonical_body, "signkey-prod-" + "ab" * 32, now)
    if kind == "stale":
        return signing.sign(canonical_body, KEY, now - draw(st.integers(301, 10**9)))
    if kind == "future":
        return signing.sign(canonical_body, KEY, now + draw(st.integers(301, 10**12)))
    if kind == "huge-ts":
        return f"t={draw(huge_numbers)}&s=" + "0" * 64
    if kind == "non-ascii":
        return f"t={now}&s=" + draw(st.text(min_size=1, max_size=64))
    return draw(st.text(max_size=40) | st.sampled_from(["t=&s=", "s=ab", "t=1", "t=x&s=y", "&&&", "t=1&t=2&s=a&s=b"]))


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """One request: a protocol call or introspection/sync/probe, mutated, with any method, URL and headers."""
    kind = draw(st.sampled_from(["call", "call", "call", "introspect", "sync", "in-band", "probe", "raw"]))
    method = {"call": "POST", "introspect": "GET", "sync": "PUT", "in-band": "PUT", "probe": "POST"}.get(kind)
    if method is None or draw(st.integers(0, 9)) == 0:
        method = draw(methods)
    headers: dict[str, str] = {}
    if kind == "call":
        fn = draw(st.sampled_from(FUNCTIONS))
        step = draw(st.sampled_from(["step", "step", *HASHES]))
        query = urlencode({"fnId": f"{APP}-{fn}", "stepId": step})
        value: Any = draw(mutated(draw(call_bodies())))
    elif kind in ("sync", "in-band"):
        query = draw(st.sampled_from(["", "deployId=d-1"]))
        value = {"url": draw(st.sampled_from(["http://app.test/api/inngest?a=1&b=<2>", ""]) | st.text(max_size=10))}
        if kind == "in-band":
            headers["x-inngest-sync-kind"] = "in_band"
    elif kind == "probe":
        query = "probe=trust"
        value = draw(json_values)
    else:
        query = ""
        value = draw(json_values) if kind == "raw" else None
    if draw(st.integers(0, 4)) == 0:
        query = draw(queries)
    if kind == "introspect" and value is None:
        raw = b""
    else:
        raw = dumps(value, draw(st.sampled_from([1, 200, 3000])), draw(huge_numbers))
    raw = draw(byte_mutations(raw))
    if draw(st.booleans()):
        headers.update(draw(st.dictionaries(header_names, header_values, max_size=4)))
    signature = draw(signature_headers(raw))
    if signature is not None:
        headers["X-Inngest-Signature"] = signature
    host = "app.test" if draw(st.integers(0, 5)) else draw(hosts)
    url = f"http://{host}/api/inngest" + (f"?{query}" if query else "")
    return Request.build(method, url, headers, raw)
