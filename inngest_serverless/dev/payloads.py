"""JSON that reaches the executor from outside (API bodies, app replies, fetched bodies).

Two things in valid JSON would otherwise fail later, far from where they came in, and inside
a transaction: a lone UTF-16 surrogate (``"\\ud800"``) parses into a Python string that SQLite
and the JCS encoder both refuse, and nesting deep enough to exhaust the recursion limit of the
parser, of ``json.dumps`` or of the JCS encoder. Both are settled here, once, at the door:

* a lone surrogate becomes U+FFFD, as the server's Go decoder does (``encoding/json``: "invalid
  UTF-16 surrogate pairs are not treated as an error. Instead, they are replaced by the Unicode
  replacement character"), so an event or output holding one is kept, as the server keeps it;
* a number out of a float's range (``1e400``), ``NaN`` or ``Infinity`` is a ``ValueError``, as
  in Go; the JCS encoder of call bodies could not write one;
* nesting deeper than ``MAX_DEPTH`` is a ``ValueError``: the executor re-encodes what it stores
  (the event goes into a call body, under ``event`` and ``events``), so it keeps headroom below
  the 900 levels the SDK accepts in a call.

Ordinary bodies pay two ``bytes.count`` calls and one ``in`` test.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from inngest_serverless.core.serialize import loads_request, nesting_depth

MAX_DEPTH = 500
# A surrogate written as an escape, or encoded in UTF-8 bytes (which ``json.loads`` decodes with
# "surrogatepass" instead of refusing).
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# What can parse to a non-finite float: the NaN/Infinity literals Python accepts, a 3-digit
# exponent, or 300 digits in a row. Go's decoder refuses all of these ("out of range"), and
# the JCS encoder of call bodies cannot write them; only then is the value walked.
_MAYBE_NOT_FINITE = re.compile(rb"NaN|Infinity|[eE][+]?0*[1-9]\d{2}|\d{300}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(raw: bytes) -> Any:
    """Parse untrusted JSON; ValueError when it is not JSON or nests deeper than ``MAX_DEPTH``."""
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and (deepest := nesting_depth(raw)) > MAX_DEPTH:
        raise ValueError(f"JSON nested {deepest} levels deep; the limit is {MAX_DEPTH}")
    try:
        value = loads_request(raw)
    except RecursionError:  # a recursion limit lowered below MAX_DEPTH: still a bad body, not a crash
        raise ValueError("JSON nested too deeply") from None
    if _MAYBE_NOT_FINITE.search(raw) and not _finite(value):
        raise ValueError("JSON holds a number out of a float's range (or NaN, Infinity)")
    if (b"\\u" in raw or b"\xed" in raw) and _SURROGATE.search(raw):
        value = replace_lone_surrogates(value)
    return value


def _finite(value: Any) -> bool:
    """Whether every float in ``value`` is finite (without recursion: data may nest deeply)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def replace_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate (in keys and strings) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in value.items()}
    return value


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: how every size limit here measures a value."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
