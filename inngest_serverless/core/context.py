"""What a function receives: the event(s), the run's identity, and the step API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .steps import AsyncStep, Step

T = TypeVar("T")
S = TypeVar("S", Step, AsyncStep)


@dataclass
class Event:
    """An event: ``name`` and ``data`` (plus ``id``, ``ts`` in ms, ``user``, ``v``)."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    ts: int = 0
    user: dict[str, Any] = field(default_factory=dict)
    v: str | None = None

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Event:
        data = raw.get("data")
        user = raw.get("user")
        ts = raw.get("ts")
        return cls(
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


class Group:
    """``ctx.group.parallel(...)``, as in the official SDK (same as ``ctx.step.parallel``)."""

    def __init__(self, step: Step) -> None:
        self._step = step

    def parallel(self, callables: Sequence[Callable[[], T]]) -> tuple[T, ...]:
        return self._step.parallel(callables)


class AsyncGroup:
    def __init__(self, step: AsyncStep) -> None:
        self._step = step

    async def parallel(self, callables: Sequence[Callable[[], Awaitable[T]]]) -> tuple[T, ...]:
        return await self._step.parallel(callables)


@dataclass
class _BaseContext(Generic[S]):
    attempt: int
    event: Event
    events: list[Event]
    run_id: str
    step: S
    logger: logging.Logger
    max_attempts: int | None = None
    request_id: str | None = None
    job_id: str | None = None


@dataclass
class Context(_BaseContext[Step]):
    """The context of a ``def`` function: ``ctx.step.run(...)`` returns results directly."""

    group: Group = field(init=False)

    def __post_init__(self) -> None:
        self.group = Group(self.step)


@dataclass
class AsyncContext(_BaseContext[AsyncStep]):
    """The context of an ``async def`` function: ``await ctx.step.run(...)``."""

    group: AsyncGroup = field(init=False)

    def __post_init__(self) -> None:
        self.group = AsyncGroup(self.step)


ContextSync = Context  # the official SDK's name for the sync context
