"""An event: what triggers a run, what ``send`` sends, what ``wait_for_event`` returns.

A leaf (it imports nothing of the call machinery), so that the client, the step
API and the context can all name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .record import Record

if TYPE_CHECKING:  # a default (PEP 696), so that a bare ``Event`` or ``ContextSync`` means dict data
    from typing_extensions import TypeVar as TypeVarWithDefault

    D = TypeVarWithDefault("D", default=dict[str, Any])
else:
    D = TypeVar("D")

_NEW_DICT: Any = object()  # a default: a new empty dict for each event


class Event(Record, Generic[D]):
    """An event: ``name`` and ``data`` (plus ``id``, ``ts`` in ms, ``user``, ``v``).

    ``data`` is a dict, or an instance of the function's ``event_type`` (``Event[OrderData]``)."""

    # A plain class, not a dataclass: every call builds its events (core/record.py says why).
    _fields = ("name", "data", "id", "ts", "user", "v")

    def __init__(self, name: str, data: D = _NEW_DICT, id: str = "", ts: int = 0,
                 user: dict[str, Any] = _NEW_DICT, v: str | None = None) -> None:
        self.name = name
        self.data: D = {} if data is _NEW_DICT else data  # type: ignore[assignment]  # a dict unless typed
        self.id = id
        self.ts = ts
        self.user = {} if user is _NEW_DICT else user
        self.v = v

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Event:
        data = raw.get("data")
        user = raw.get("user")
        ts = raw.get("ts")
        return Event(  # not cls(): an event off the wire holds a dict, whatever Event[D] this is called on
            name=str(raw.get("name", "")),
            data=data if isinstance(data, dict) else {},
            id=str(raw.get("id") or ""),
            ts=ts if isinstance(ts, int) and not isinstance(ts, bool) else 0,
            user=user if isinstance(user, dict) else {},
            v=raw.get("v") if isinstance(raw.get("v"), str) else None,
        )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "data": self.data}
        if self.id:
            out["id"] = self.id
        if self.ts:
            out["ts"] = self.ts
        if self.user:
            out["user"] = self.user
        if self.v:
            out["v"] = self.v
        return out
