"""The base of core's plain data classes: what ``@dataclass`` would give them, written once.

The classes a cold start meets (the request and reply, the configuration, triggers, function
options, the event, the call body, the contexts, the replay engine's records) are plain classes
with an ``__init__`` of their own, not dataclasses: importing ``dataclasses`` loads ``inspect``
(and with it ``ast``, ``dis`` and ``tokenize``), and each ``@dataclass`` compiles its methods at
import, which together were about half of a Lambda's first reply above a bare interpreter
(docs/benchmarks.md). Each class names its fields in ``_fields``, in constructor order;
:class:`Record` gives it ``__repr__``, ``__eq__`` and :meth:`Record.replace` from them, and
:class:`FrozenRecord` also read-only attributes and a hash, as ``frozen=True`` did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # for annotations only: a TypeVar with a bound costs a compile at import
    from typing_extensions import Self


class Record:
    """``_fields``: the constructor's keyword arguments, in order; ``_hidden``: those left out of
    ``__repr__`` and ``__eq__`` (objects of the app's own, such as its HTTP clients); ``_secret``:
    those compared but never shown (keys: a repr ends up in logs)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()
    _secret: ClassVar[frozenset[str]] = frozenset()
    _shown: ClassVar[tuple[str, ...]] = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._shown = tuple(name for name in cls._fields if name not in cls._hidden)
        cls.__match_args__ = cls._fields  # type: ignore[misc]  # positional patterns: ``case Event(name, data)``

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._shown)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self._shown_value(name)}" for name in self._shown)
        return f"{type(self).__qualname__}({shown})"

    def _shown_value(self, name: str) -> str:
        value = getattr(self, name)
        return "<secret>" if name in self._secret and value is not None else repr(value)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (keyword arguments of the constructor), built by the constructor,
        so that its checks run again."""
        values = {name: getattr(self, name) for name in self._fields}
        unknown = changes.keys() - values.keys()
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {sorted(unknown)[0]!r}")
        values.update(changes)
        return type(self)(**values)

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (shallow), as JSON encodes the record."""
        return {name: getattr(self, name) for name in self._fields}


class FrozenRecord(Record):
    """A :class:`Record` whose attributes cannot be assigned after ``__init__`` (which sets them
    with ``object.__setattr__``), hashable by its fields."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__qualname__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__qualname__}")

    def __hash__(self) -> int:
        return hash(self._values())
