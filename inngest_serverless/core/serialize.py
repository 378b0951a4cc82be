"""Step outputs and function results to JSON and back: JSON values, dataclasses, pydantic models."""

from __future__ import annotations

import json
import re
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from .record import Record

# The official SDK's name for a JSON value, what step outputs and event data are made of.
JSON: TypeAlias = bool | float | int | str | Sequence["JSON"] | Mapping[str, "JSON"] | None


# ``dataclasses`` and ``inspect`` are imported only for a value or a type that is a dataclass: a
# cold start's results are JSON values (docs/benchmarks.md, "Start-up").
def _is_dataclass_type(tp: Any) -> bool:
    return hasattr(tp, "__dataclass_fields__")  # as dataclasses.is_dataclass asks


def _default(value: Any) -> Any:
    if _is_dataclass_type(type(value)):
        import dataclasses

        return dataclasses.asdict(value)
    if isinstance(value, Record):  # the package's own plain classes, an Event returned by a function
        return value.as_dict()
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic v2 model, recognised without importing pydantic
        return dump(mode="json")
    import datetime  # the values only JSON cannot hold come here: a cold start's rarely do

    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; raises ``TypeError``/``ValueError`` for what JSON cannot hold."""
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False).encode("utf-8")


def json_error(exc: BaseException) -> str:
    """Why ``dumps`` refused a value, in words (a RecursionError's own message names no JSON)."""
    if isinstance(exc, RecursionError):
        return "it is nested too deeply (JSON here stops at about 1,000 levels)"
    return str(exc)


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its ``None`` values: optional wire keys are left out, not sent as null."""
    return {k: v for k, v in d.items() if v is not None}


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses and models turned into dicts)."""
    return to_json_value_and_size(value)[0]


def to_json_value_and_size(value: Any) -> tuple[Any, int]:
    """``value`` as plain JSON data, and the size in bytes of its JSON text (encoded once)."""
    raw = dumps(value)
    if value is None or type(value) in (str, int, float, bool):
        return value, len(raw)
    return json.loads(raw), len(raw)


_OUTPUT_TYPES: dict[tuple[Any, str], Any] = {}  # (code object, return annotation text) -> resolved type or None
_STRUCTURED: dict[Any, Any] = {}  # evaluated return annotation -> itself when structured, else None
_OUTPUT_TYPES_MAX = 4096


def output_type_of(handler: Callable[..., Any]) -> Any:
    """The declared return type of ``handler`` when it is a dataclass or a pydantic model.

    Runs for every memoized ``step.run`` on every replay, so it stays cheap: no
    annotation means no type, a class annotation is used as is, and a string
    annotation (``from __future__ import annotations``) is resolved once per code object.
    """
    annotations = getattr(handler, "__annotations__", None)
    if not annotations or not isinstance(annotations, dict):
        return None
    ret = annotations.get("return")
    if ret is None:
        return None
    if not isinstance(ret, str):
        try:
            return _STRUCTURED[ret]
        except KeyError:
            tp = ret if is_structured(ret) else None
            if len(_STRUCTURED) >= _OUTPUT_TYPES_MAX:
                _STRUCTURED.clear()
            _STRUCTURED[ret] = tp
            return tp
        except TypeError:  # an unhashable annotation object
            return ret if is_structured(ret) else None
    code = getattr(handler, "__code__", None)
    key = (code, ret)
    if code is not None and key in _OUTPUT_TYPES:
        return _OUTPUT_TYPES[key]
    try:
        tp = typing.get_type_hints(handler).get("return")
    except Exception:
        tp = None
    tp = tp if is_structured(tp) else None
    if code is not None:
        if len(_OUTPUT_TYPES) >= _OUTPUT_TYPES_MAX:
            _OUTPUT_TYPES.clear()
        _OUTPUT_TYPES[key] = tp
    return tp


def is_structured(tp: Any) -> bool:
    return isinstance(tp, type) and (_is_dataclass_type(tp) or hasattr(tp, "model_validate"))


def load(value: Any, tp: Any) -> Any:
    """Turn memoized JSON ``value`` back into ``tp`` (a dataclass or pydantic model) when given."""
    if tp is None or value is None or not is_structured(tp):
        return value
    if hasattr(tp, "model_validate"):
        return tp.model_validate(value)
    if isinstance(value, dict):
        return _load_dataclass(tp, value)
    return value


def _load_dataclass(tp: Any, value: dict[str, Any]) -> Any:
    try:
        hints = typing.get_type_hints(tp)
    except Exception:
        hints = {}
    import dataclasses

    kwargs = {}
    for f in dataclasses.fields(tp):
        if f.name in value:
            kwargs[f.name] = load(value[f.name], hints.get(f.name))
    return tp(**kwargs)


# Python 3.11's C JSON decoder guards its recursion only with the interpreter's recursion
# limit: when an app (or a test tool) raises that limit, a hostile body nested deeply enough
# overflows the C stack and kills the process. Bodies from the network are checked first then.
_SAFE_DEPTH = 900
_DEFAULT_RECURSION_LIMIT = 1000
_TOKENS = rb'"(?:[^"\\]|\\.)*"|[\[\]{}]'  # compiled (and cached) by re when first needed, not at start-up


# Large bodies (a call replaying many steps carries every memoized output, and its stack) are
# parsed with msgspec, about twice as fast as the standard library here (docs/benchmarks.md).
# It is imported on the first such body only: importing it costs about 20 ms and 1.2 MiB here,
# which a cold start with a small body should not pay, and which a process replaying large
# states wins back within a few dozen calls. msgspec keeps integers of any size exact (orjson
# would turn those beyond 64 bits into floats without a word); what it refuses (NaN, numbers
# out of a float's range, lone surrogates, a BOM) the standard library decides, so the result
# never depends on which parser ran.
FAST_JSON_MIN_BYTES = 32 * 1024
_fast_loads: Callable[[bytes], Any] | None = None
_fast_loaded = False


def _fast_json() -> Callable[[bytes], Any] | None:
    global _fast_loads, _fast_loaded
    if not _fast_loaded:
        _fast_loaded = True
        try:
            import msgspec
        except ImportError:  # pragma: no cover - a platform without a msgspec wheel
            _fast_loads = None
        else:
            _fast_loads = msgspec.json.Decoder().decode
    return _fast_loads


def nesting_depth(body: bytes) -> int:
    """How deeply the JSON text ``body`` nests arrays and objects (brackets in strings do not count)."""
    depth = deepest = 0
    for token in re.finditer(_TOKENS, body):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def loads_request(body: bytes) -> Any:
    """``json.loads`` for untrusted bodies: raises ``ValueError`` for nesting deeper than the
    decoder can safely take, whatever the process's recursion limit."""
    if sys.getrecursionlimit() > _DEFAULT_RECURSION_LIMIT and body.count(b"[") + body.count(b"{") > _SAFE_DEPTH:
        deepest = nesting_depth(body)
        if deepest > _SAFE_DEPTH:
            raise ValueError(f"JSON nested {deepest} levels deep; the limit is {_SAFE_DEPTH}")
    if len(body) >= FAST_JSON_MIN_BYTES and (fast := _fast_json()) is not None:
        try:
            return fast(body)
        except ValueError:  # msgspec.DecodeError: the standard library decides
            pass
    return json.loads(body)


def is_utf8(text: str) -> bool:
    """Has ``text`` a UTF-8 form (no lone surrogate)? ASCII, the usual case, is decided in C."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
