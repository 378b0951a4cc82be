"""Flow-control options of a function, each serialised exactly as the server reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .durations import format_duration
from .errors import ConfigError
from .serialize import drop_none

if TYPE_CHECKING:
    from .durations import Duration

_DAY_MS = 86_400_000


def _key(value: str | None, what: str) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{what} must be a non-empty expression when given")


def _positive(value: int, what: str, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{what} must be an integer >= {minimum}, not {value!r}")


@dataclass(frozen=True)
class Concurrency:
    limit: int
    key: str | None = None
    scope: Literal["fn", "env", "account"] | None = None

    def __post_init__(self) -> None:
        _positive(self.limit, "Concurrency.limit", minimum=0)
        _key(self.key, "Concurrency.key")
        if self.scope not in (None, "fn", "env", "account"):
            raise ConfigError("Concurrency.scope must be 'fn', 'env' or 'account'")

    def to_wire(self) -> dict[str, Any]:
        return drop_none({"limit": self.limit, "key": self.key, "scope": self.scope})


@dataclass(frozen=True)
class Throttle:
    limit: int
    period: Duration
    key: str | None = None
    burst: int | None = None

    def __post_init__(self) -> None:
        _positive(self.limit, "Throttle.limit")
        _key(self.key, "Throttle.key")
        if self.burst is not None:
            _positive(self.burst, "Throttle.burst", minimum=0)
        format_duration(self.period, "Throttle.period", minimum_ms=1000, maximum_ms=7 * _DAY_MS)

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "limit": self.limit,
            "period": format_duration(self.period, "Throttle.period"),
            "burst": self.burst,
            "key": self.key,
        })


@dataclass(frozen=True)
class RateLimit:
    limit: int
    period: Duration
    key: str | None = None

    def __post_init__(self) -> None:
        _positive(self.limit, "RateLimit.limit")
        _key(self.key, "RateLimit.key")
        format_duration(self.period, "RateLimit.period", minimum_ms=1000, maximum_ms=_DAY_MS)

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "limit": self.limit,
            "period": format_duration(self.period, "RateLimit.period"),
            "key": self.key,
        })


@dataclass(frozen=True)
class Debounce:
    period: Duration
    key: str | None = None
    timeout: Duration | None = None

    def __post_init__(self) -> None:
        _key(self.key, "Debounce.key")
        format_duration(self.period, "Debounce.period", minimum_ms=1000, maximum_ms=7 * _DAY_MS)
        if self.timeout is not None:
            format_duration(self.timeout, "Debounce.timeout", minimum_ms=1000)

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "period": format_duration(self.period, "Debounce.period"),
            "key": self.key,
            "timeout": None if self.timeout is None else format_duration(self.timeout, "Debounce.timeout"),
        })


@dataclass(frozen=True)
class Batch:
    max_size: int
    timeout: Duration
    key: str | None = None
    if_exp: str | None = None

    def __post_init__(self) -> None:
        _positive(self.max_size, "Batch.max_size")
        _key(self.key, "Batch.key")
        _key(self.if_exp, "Batch.if_exp")
        # Parsed by Go's time.ParseDuration on the server: no d/w units, >= 1s.
        format_duration(self.timeout, "Batch.timeout", minimum_ms=1000, go_only=True)

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "maxSize": self.max_size,
            "timeout": format_duration(self.timeout, "Batch.timeout", go_only=True),
            "key": self.key,
            "if": self.if_exp,
        })


@dataclass(frozen=True)
class Priority:
    run: str

    def __post_init__(self) -> None:
        _key(self.run, "Priority.run")
        if self.run is None:
            raise ConfigError("Priority.run must be an expression")

    def to_wire(self) -> dict[str, Any]:
        return {"run": self.run}


@dataclass(frozen=True)
class Cancel:
    event: str
    if_exp: str | None = None
    timeout: Duration | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not self.event.strip():
            raise ConfigError("Cancel.event must be a non-empty event name")
        _key(self.if_exp, "Cancel.if_exp")
        if self.timeout is not None:
            format_duration(self.timeout, "Cancel.timeout")

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "event": self.event,
            "if": self.if_exp,
            "timeout": None if self.timeout is None else format_duration(self.timeout, "Cancel.timeout"),
        })


@dataclass(frozen=True)
class Singleton:
    mode: Literal["skip", "cancel"]
    key: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("skip", "cancel"):
            raise ConfigError("Singleton.mode must be 'skip' or 'cancel'")
        _key(self.key, "Singleton.key")

    def to_wire(self) -> dict[str, Any]:
        return drop_none({"key": self.key, "mode": self.mode})


@dataclass(frozen=True)
class Timeouts:
    start: Duration | None = None
    finish: Duration | None = None

    def __post_init__(self) -> None:
        if self.start is None and self.finish is None:
            raise ConfigError("Timeouts needs start, finish or both")
        for name in ("start", "finish"):
            value = getattr(self, name)
            if value is not None:
                format_duration(value, f"Timeouts.{name}", minimum_ms=1000)

    def to_wire(self) -> dict[str, Any]:
        return drop_none({
            "start": None if self.start is None else format_duration(self.start, "Timeouts.start"),
            "finish": None if self.finish is None else format_duration(self.finish, "Timeouts.finish"),
        })
