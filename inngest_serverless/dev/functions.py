"""Registered functions: the register payload's function config, validated and read into one shape."""

from __future__ import annotations

import dataclasses
from typing import Any

from inngest_serverless.core.wire import Limit

from . import expressions
from .timefmt import DurationError, parse_duration


class SyncRefused(ValueError):
    """A function config the server would refuse at registration."""


@dataclasses.dataclass(frozen=True)
class ConcurrencyLimit:
    limit: int
    key: str | None
    scope: str  # fn | env | account


@dataclasses.dataclass(frozen=True)
class FunctionConfig:
    uuid: str
    slug: str
    app: str
    name: str
    version: int
    url: str
    config: dict[str, Any]
    event_triggers: list[tuple[str, str | None]]
    crons: list[str]
    cron_jitter: dict[str, float]  # seconds of jitter per cron expression (0 = none)
    max_attempts: int
    concurrency: list[ConcurrencyLimit]
    throttle: dict[str, Any] | None
    rate_limit: dict[str, Any] | None
    debounce: dict[str, Any] | None
    batch: dict[str, Any] | None
    priority: str | None
    cancel: list[dict[str, Any]]
    singleton: dict[str, Any] | None
    timeouts: dict[str, float]

    @classmethod
    def from_config(cls, uuid: str, app: str, version: int, config: dict[str, Any]) -> FunctionConfig:
        step: dict[str, Any] = (config.get("steps") or {}).get("step") or next(iter((config.get("steps") or {}).values()), {})
        retries = (step.get("retries") or {}).get("attempts")
        if retries is None:
            retries = config.get("retries")
        retries = Limit.DEFAULT_RETRIES if retries is None else max(0, min(int(retries), Limit.MAX_RETRIES))
        events: list[tuple[str, str | None]] = []
        crons: list[str] = []
        jitter: dict[str, float] = {}
        for trigger in config.get("triggers") or []:
            if trigger.get("event"):
                events.append((str(trigger["event"]), trigger.get("expression") or None))
            elif trigger.get("cron"):
                crons.append(str(trigger["cron"]))
                jitter[str(trigger["cron"])] = parse_duration(trigger.get("jitter")) if trigger.get("jitter") else 0.0
        rate_limit = config.get("rateLimit") or None
        if config.get("idempotency"):
            rate_limit = {"limit": 1, "period": "24h", "key": config["idempotency"]}
        timeouts = {
            name: parse_duration(value)
            for name, value in (config.get("timeouts") or {}).items()
            if name in ("start", "finish") and value
        }
        return cls(
            uuid=uuid,
            slug=str(config["id"]),
            app=app,
            name=str(config.get("name") or config["id"]),
            version=version,
            url=str((step.get("runtime") or {}).get("url") or ""),
            config=config,
            event_triggers=events,
            crons=crons,
            cron_jitter=jitter,
            max_attempts=retries + 1,
            concurrency=_concurrency(config.get("concurrency")),
            throttle=config.get("throttle") or None,
            rate_limit=rate_limit,
            debounce=config.get("debounce") or None,
            batch=_batch(config.get("batchEvents")),
            priority=(config.get("priority") or {}).get("run") or None,
            cancel=list(config.get("cancel") or []),
            singleton=config.get("singleton") or None,
            timeouts=timeouts,
        )

    def validate(self) -> None:
        if not self.url:
            raise SyncRefused(f"function {self.slug}: the step has no runtime url")
        if not self.event_triggers and not self.crons:
            raise SyncRefused(f"function {self.slug}: at least one trigger is required")
        if len(self.event_triggers) + len(self.crons) > Limit.MAX_TRIGGERS:
            raise SyncRefused(f"function {self.slug}: more than {Limit.MAX_TRIGGERS} triggers")
        if len(self.cancel) > Limit.MAX_CANCEL:
            raise SyncRefused(f"function {self.slug}: more than {Limit.MAX_CANCEL} cancel entries")
        exprs = [e for _, e in self.event_triggers if e]
        exprs += [c["if"] for c in self.cancel if c.get("if")]
        exprs += [c.key for c in self.concurrency if c.key]
        for block in (self.throttle, self.rate_limit, self.debounce, self.batch, self.singleton):
            if block and block.get("key"):
                exprs.append(str(block["key"]))
        if self.batch and self.batch.get("if"):
            exprs.append(str(self.batch["if"]))
        if self.priority:
            exprs.append(self.priority)
        try:
            for expression in exprs:
                expressions.validate(expression)
            for block in (self.throttle, self.rate_limit, self.debounce):
                if block:
                    parse_duration(block.get("period"))
            if self.debounce and not 1.0 <= parse_duration(self.debounce.get("period")) <= 7 * 86400:
                raise SyncRefused(f"function {self.slug}: debounce period must be 1s..7d")
            if self.rate_limit and int(self.rate_limit.get("limit") or 0) <= 0:
                raise SyncRefused(f"function {self.slug}: rateLimit.limit must be > 0")
        except (expressions.ExpressionError, DurationError) as exc:
            raise SyncRefused(f"function {self.slug}: {exc}") from None
        if self.batch and (self.cancel or self.debounce or self.singleton):
            raise SyncRefused(f"function {self.slug}: batchEvents cannot be combined with cancel/debounce/singleton")
        for jitter in self.cron_jitter.values():
            if jitter and not 1.0 <= jitter <= 300.0:
                raise SyncRefused(f"function {self.slug}: cron jitter must be 0 or 1s..5m")
        for cron in self.crons:
            from .cron import next_fire

            try:
                next_fire(cron, 0.0)
            except ValueError as exc:
                raise SyncRefused(f"function {self.slug}: invalid cron {cron!r}: {exc}") from None

    def triggered_by(self, name: str) -> list[str | None]:
        """Expressions of the event triggers whose pattern matches ``name`` (exact, ``a/*``, ``a.*``)."""
        found = []
        for pattern, expression in self.event_triggers:
            if pattern == name or (
                pattern.endswith(("/*", ".*")) and name.startswith(pattern[:-1]) and len(name) > len(pattern) - 1
            ):
                found.append(expression)
        return found


def _concurrency(value: Any) -> list[ConcurrencyLimit]:
    if value is None:
        return []
    if isinstance(value, dict) and ("fn" in value or "step" in value):
        value = list(value.get("step") or []) + list(value.get("fn") or [])
    if isinstance(value, (int, float)):
        value = [{"limit": int(value)}]
    if isinstance(value, dict):
        value = [value]
    limits = []
    for entry in value:
        if isinstance(entry, (int, float)):
            entry = {"limit": int(entry)}
        limit = int(entry.get("limit") or 0)
        if limit > 0:
            limits.append(ConcurrencyLimit(limit, entry.get("key") or None, str(entry.get("scope") or "fn").lower()))
    return limits[: Limit.MAX_CONCURRENCY + 1]


def _batch(value: Any) -> dict[str, Any] | None:
    if not value or int(value.get("maxSize") or 0) < 2:
        return None
    return dict(value)
