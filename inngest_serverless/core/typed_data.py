"""JSON values as the data types a function declares, checked on the way in.

Three places take a declared type: a function's event data (``create_function(...,
event_type=OrderData)``), the event a ``wait_for_event(..., event_type=...)`` matched, and the
result of ``step.invoke`` (the invoked function's return type or ``output_type``). The type is a
pydantic model (validated by pydantic: the model's own module imported it, this one never does)
or a dataclass (checked here, field by field, against its annotations: ``str``, ``int``,
``float``, ``bool``, ``None``, lists, dicts, tuples, unions, ``Literal``, enums, dates, nested
dataclasses and models; other annotations are taken as they come).

A value that does not fit raises :class:`NonRetriableError` naming the first field that does not
(``items.0.qty``), never the value: the same payload fails the same way on every retry, and the
value may be private. None of this runs for a function that declares no type.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, NonRetriableError
from .serialize import is_structured

if TYPE_CHECKING:
    from .event import Event

_Path = tuple[str, ...]
_HINTS: dict[type, dict[str, Any]] = {}  # dataclass -> its resolved field annotations


class _Mismatch(Exception):
    def __init__(self, path: _Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def check_model(tp: object, what: str) -> None:
    """Refuse, at definition time, a declared type this module cannot convert to."""
    if not is_structured(tp):
        raise ConfigError(f"{what} must be a dataclass or a pydantic model class, not {tp!r}")


def convert(value: object, tp: Any, what: str) -> Any:
    """``value`` (JSON data) as ``tp``: an instance of a dataclass or pydantic model, or a value
    checked against any other annotation (``int``, ``list[Order]`` ...); raises
    NonRetriableError(``"<what> does not fit <Type>: field 'a.b': <why>"``) when it does not fit."""
    try:
        return _value(tp, value, ())
    except _Mismatch as exc:
        where = f"field {'.'.join(exc.path)!r}" if exc.path else "the value"
        raise NonRetriableError(f"{what} does not fit {_name(tp)}: {where}: {exc.reason}") from None


def typed_event(event: Event[Any], tp: Any) -> Event[Any]:
    """``event`` with its data turned into ``tp`` (a copy: the wire's event is left as it came)."""
    if isinstance(event.data, tp):
        return event
    data = convert(event.data, tp, f"the data of event {event.name!r}")
    return event.replace(data=data)


def _model(tp: type, value: object, path: _Path) -> object:
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, value, path)
    try:
        return tp.model_validate(value)  # type: ignore[attr-defined]
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        if not callable(errors):  # not pydantic's ValidationError: a validator of the app's raised it
            raise _Mismatch(path, f"{type(exc).__name__}: {exc}") from None
        found = errors()
        first = found[0] if found else {}
        loc = tuple(str(part) for part in first.get("loc", ()))
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise _Mismatch((*path, *loc), f"{first.get('msg', 'invalid')}{more}") from None


def _dataclass(tp: type, value: object, path: _Path) -> object:
    if isinstance(value, tp):
        return value
    if not isinstance(value, dict):
        raise _Mismatch(path, f"expected an object, got {_kind(value)}")
    hints = _hints(tp)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(tp):
        if not f.init:
            continue
        if f.name in value:
            kwargs[f.name] = _value(hints.get(f.name, Any), value[f.name], (*path, f.name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Mismatch((*path, f.name), "field required")
    try:
        return tp(**kwargs)
    except (TypeError, ValueError) as exc:  # the dataclass's own __post_init__ refused it
        raise _Mismatch(path, f"{type(exc).__name__}: {exc}") from None


def _hints(tp: type) -> dict[str, Any]:
    hints = _HINTS.get(tp)
    if hints is None:
        try:
            hints = typing.get_type_hints(tp)
        except Exception:  # an annotation that does not resolve: its fields are taken as they come
            hints = {}
        _HINTS[tp] = hints
    return hints


def _value(tp: Any, value: object, path: _Path) -> object:
    """``value`` checked (and converted, for nested types) against the annotation ``tp``."""
    if tp is Any or tp is object:
        return value
    if tp is None or tp is type(None):
        if value is None:
            return None
        raise _Mismatch(path, f"expected null, got {_kind(value)}")
    origin = typing.get_origin(tp)
    if origin is not None:
        return _generic(tp, origin, typing.get_args(tp), value, path)
    if not isinstance(tp, type):  # a TypeVar, a string that did not resolve, a NewType ...
        return value
    if tp is bool:
        if type(value) is bool:
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif is_structured(tp):
        return _model(tp, value, path)
    elif issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _Mismatch(path, f"expected one of {[m.value for m in tp]}") from None
    elif tp in (datetime.datetime, datetime.date):
        if isinstance(value, tp):
            return value
        if isinstance(value, str):
            try:
                return tp.fromisoformat(value.replace("Z", "+00:00") if tp is datetime.datetime else value)
            except ValueError:
                pass
        raise _Mismatch(path, f"expected an ISO 8601 {tp.__name__}")
    elif isinstance(value, tp):
        return value
    else:
        return _list_or_dict(tp, (), value, path) if tp in (list, dict, tuple, set, frozenset) else _coerce(tp, value, path)
    raise _Mismatch(path, f"expected {tp.__name__}, got {_kind(value)}")


def _generic(tp: Any, origin: Any, args: tuple[Any, ...], value: object, path: _Path) -> object:
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arg in args:
            try:
                return _value(arg, value, path)
            except _Mismatch:
                continue
        raise _Mismatch(path, f"expected {_name(tp)}, got {_kind(value)}")
    if origin is typing.Literal:
        if any(value == arg and type(value) is type(arg) for arg in args):
            return value
        raise _Mismatch(path, f"expected one of {list(args)}")
    if origin is typing.Annotated:
        return _value(args[0], value, path)
    return _list_or_dict(origin, args, value, path)


def _list_or_dict(origin: Any, args: tuple[Any, ...], value: object, path: _Path) -> object:
    item = args[0] if args else Any
    if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        if not isinstance(value, dict):
            raise _Mismatch(path, f"expected an object, got {_kind(value)}")
        vtype = args[1] if len(args) == 2 else Any
        return {k: _value(vtype, v, (*path, str(k))) for k, v in value.items()}
    if not isinstance(value, list):
        raise _Mismatch(path, f"expected an array, got {_kind(value)}")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, (*path, str(i))) for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise _Mismatch(path, f"expected an array of {len(args)} items, got {len(value)}")
        return tuple(_value(args[i] if args else Any, v, (*path, str(i))) for i, v in enumerate(value))
    items = [_value(item, v, (*path, str(i))) for i, v in enumerate(value)]
    if origin in (set, frozenset):
        return origin(items)
    if origin is list or origin is Sequence or not isinstance(origin, type):
        return items
    return origin(items)


def _coerce(tp: type, value: object, path: _Path) -> object:
    """A class this module does not know (UUID, Decimal, ...): built from the JSON value."""
    try:
        return tp(value)
    except Exception:
        raise _Mismatch(path, f"expected {tp.__name__}, got {_kind(value)}") from None


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _kind(value: object) -> str:
    """A JSON value's kind, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
