"""``Inngest(serializer=...)``: how typed step outputs and function results become JSON and back.

The official SDK's names and meaning. A serializer has two methods, each given the type the code
declares (an ``output_type``): ``serialize(obj, typ)`` turns a value into JSON data, and
``deserialize(obj, typ)`` turns JSON data back into ``typ``. The client's serializer is used only
where an ``output_type`` is given:

* ``step.run(..., output_type=T)``: the step's output on its way to the server, and its memoized
  value when the code replays (or goes on after a checkpoint);
* ``create_function(..., output_type=T)``: the function's result, and what ``step.invoke`` of that
  function returns.

Everywhere else (no serializer, or no ``output_type``) the package's own conversion applies
(core/serialize.py: JSON values, dataclasses and pydantic models by their annotations). An app
without a serializer pays one ``None`` check where an ``output_type`` is given, nothing else, and
this module is not imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pydantic


class Serializer(Protocol):
    """What ``Inngest(serializer=...)`` takes (any object with these two methods)."""

    def serialize(self, obj: object, typ: object) -> object:
        """``obj`` as JSON data (dicts, lists, strings, numbers, booleans, None)."""
        ...

    def deserialize(self, obj: object, typ: object) -> object:
        """JSON data ``obj`` as a value of ``typ``."""
        ...


_ADAPTERS_MAX = 512  # each TypeAdapter stays registered in pydantic for good: keep a bounded few


class PydanticSerializer(Serializer):
    """pydantic's conversion, for any type pydantic takes (models, dataclasses, ``list[Model]``,
    ``int`` ...): ``TypeAdapter(typ).dump_python(obj, mode="json")`` and ``.validate_python(obj)``.

    pydantic is imported when the first one is made, never by an app that uses none."""

    def __init__(self) -> None:
        import pydantic

        self._type_adapter = pydantic.TypeAdapter
        # An adapter per type, keyed by the type (or by its id when it cannot be hashed, such as an
        # ``Annotated`` with a dict in it; the entry keeps the type alive, so the id stays its own).
        self._adapters: dict[object, tuple[pydantic.TypeAdapter[Any], object]] = {}

    def _adapter(self, typ: object) -> pydantic.TypeAdapter[Any]:
        try:
            key: object = typ
            hash(key)
        except TypeError:
            key = ("id", id(typ))
        entry = self._adapters.get(key)
        if entry is None:
            if len(self._adapters) >= _ADAPTERS_MAX:
                self._adapters.pop(next(iter(self._adapters)))  # the oldest: insertion order
            entry = self._adapters[key] = (self._type_adapter(typ), typ)
        return entry[0]

    def serialize(self, obj: object, typ: object) -> object:
        return self._adapter(typ).dump_python(obj, mode="json")

    def deserialize(self, obj: object, typ: object) -> object:
        return self._adapter(typ).validate_python(obj)


def check(serializer: object) -> Serializer | None:
    """``serializer=`` as given, or a ConfigError now for an object without the two methods."""
    if serializer is None:
        return None
    for name in ("serialize", "deserialize"):
        if not callable(getattr(serializer, name, None)):
            from .errors import ConfigError

            raise ConfigError(f"Inngest(serializer=...) needs an object with serialize(obj, typ) and "
                              f"deserialize(obj, typ), such as PydanticSerializer(); {serializer!r} has no {name}()")
    return serializer  # type: ignore[return-value]
