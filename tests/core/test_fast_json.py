"""Large request bodies are parsed with msgspec (core/serialize.py), and the result never
depends on which parser ran: what msgspec refuses, the standard library decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inngest_serverless.core import serialize
from tests.support.fuzz_strategies import DEEP, HUGE, bad_bytes, huge_numbers, json_values

PAD = "p" * serialize.FAST_JSON_MIN_BYTES


def big(fragment: bytes) -> bytes:
    """A body over the fast-path threshold carrying ``fragment`` as a JSON value."""
    return b'{"pad":"' + PAD.encode() + b'","v":' + fragment + b"}"


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1, 1.0 and True differ; so do 0.0 and -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def outcome(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(raw)
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


def assert_same_as_stdlib(raw: bytes) -> None:
    fast, slow = outcome(serialize.loads_request, raw), outcome(json.loads, raw)
    assert fast[0] == slow[0], (fast, slow, raw[-200:])
    if fast[0] == "ok":
        assert same(fast[1], slow[1]), raw[-200:]


def test_large_bodies_go_through_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = serialize._fast_json()
    assert real is not None, "msgspec is a dependency"

    def spy(raw: bytes) -> Any:
        seen.append(len(raw))
        return real(raw)

    monkeypatch.setattr(serialize, "_fast_loads", spy)
    assert serialize.loads_request(big(b"[1,2]"))["v"] == [1, 2]
    assert serialize.loads_request(b'{"small":true}') == {"small": True}
    assert seen == [len(big(b"[1,2]"))]  # the small body stayed with the standard library


@pytest.mark.parametrize("fragment", [
    b"NaN", b"-Infinity", b"[Infinity]",  # msgspec refuses these literals; the standard library takes them
    b"123456789012345678901234567890", b"-" + b"9" * 400, b"18446744073709551616",  # beyond 64 bits: exact
    b'"\\ud800"', b'"a\\udfffb"',  # lone surrogates, escaped
    b"1e400", b"-1e-400", b"-0", b"-0.0", b"0.1", b"1E5", b"5e-324",
    b'{"a":1,"a":2}', b'{"a":{"b":1},"a":[2]}',  # duplicate keys: the last one wins in both
    b'"\\u0000\\u001f\\"\\\\/"', '"é€😀"'.encode(), b'"\\ud83d\\ude00"',
    b"[" * 200 + b"]" * 200,
])
def test_edge_values_parse_as_the_standard_library_parses_them(fragment: bytes) -> None:
    assert_same_as_stdlib(big(fragment))


@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbf" + big(b"1"),  # a UTF-8 BOM
    big(b"1") + b"  \n",  # trailing whitespace
    big(b'"\xed\xa0\x80"'),  # a surrogate encoded as UTF-8 bytes (invalid UTF-8, but json.loads passes it)
    big(b'"\xff"'),  # invalid UTF-8
    big(b"[1,]"), big(b"01"), big(b"'a'"), big(b"1") + b"x",  # malformed
    big(b"[" * 5000 + b"]" * 5000),  # deeper than either decoder takes
    big(b"1")[:-1],  # truncated
])
def test_odd_and_malformed_bodies_get_the_standard_librarys_answer(raw: bytes) -> None:
    assert_same_as_stdlib(raw)


def _swap_placeholders(text: str, huge: str) -> str:
    return text.replace(json.dumps(DEEP), "[" * 40 + "]" * 40).replace(json.dumps(HUGE), huge)


@settings(max_examples=300, deadline=None)
@given(value=json_values, huge=huge_numbers, splice=st.none() | bad_bytes, at=st.integers(0, 10_000))
def test_any_body_parses_as_the_standard_library_parses_it(value: Any, huge: str, splice: bytes | None,
                                                           at: int) -> None:
    fragment = _swap_placeholders(json.dumps(value), huge).encode("utf-8", "surrogatepass")
    raw = big(fragment)
    if splice is not None:
        at = len(raw) - 1 - at % len(fragment) - 1
        raw = raw[:at] + splice + raw[at:]
    assert_same_as_stdlib(raw)


def test_msgspec_is_imported_only_for_a_large_body() -> None:
    code = ("import sys; from inngest_serverless.core import serialize as s; "
            "s.loads_request(b'{\"a\":1}'); print('msgspec' in sys.modules); "
            f"s.loads_request(b'[\"' + b'x' * {serialize.FAST_JSON_MIN_BYTES} + b'\"]'); print('msgspec' in sys.modules)")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]
