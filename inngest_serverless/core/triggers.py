"""What starts a function: an event (with an optional CEL expression) or a cron schedule."""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError
from .record import FrozenRecord
from .wire import Limit

# Plain classes, not dataclasses: every cold start builds its triggers (core/record.py says why).
_set = object.__setattr__

# Patterns, compiled (and cached) by re for the first cron trigger, not at every cold start.
_CRON_TZ = r"^(?:CRON_)?TZ=(\S+)\s+(.*)$"
_CRON_FIELD = r"^[\d*/,\-A-Za-z?LW#]+$"


class TriggerEvent(FrozenRecord):
    """Run the function for each event named ``event`` (``expression``: optional CEL filter)."""

    __slots__ = ("event", "expression")
    _fields = ("event", "expression")
    event: str
    expression: str | None

    def __init__(self, event: str, expression: str | None = None) -> None:
        if not isinstance(event, str) or not event.strip():
            raise ConfigError("TriggerEvent(event=...) must be a non-empty event name")
        if len(event) > Limit.EVENT_NAME_LENGTH:
            raise ConfigError(f"TriggerEvent event name is longer than {Limit.EVENT_NAME_LENGTH} characters")
        if expression is not None and not str(expression).strip():
            raise ConfigError("TriggerEvent(expression=...) must not be empty when given")
        _set(self, "event", event)
        _set(self, "expression", expression)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event}
        if self.expression:
            out["expression"] = self.expression
        return out


class TriggerCron(FrozenRecord):
    """Run the function on a 5-field cron schedule, optionally prefixed ``TZ=<zone> ``."""

    __slots__ = ("cron", "jitter")
    _fields = ("cron", "jitter")
    cron: str
    jitter: str | None

    def __init__(self, cron: str, jitter: str | None = None) -> None:
        if not isinstance(cron, str) or not cron.strip():
            raise ConfigError("TriggerCron(cron=...) must be a non-empty cron expression")
        spec = cron.strip()
        tz_match = re.match(_CRON_TZ, spec)
        if tz_match:
            zone, spec = tz_match.groups()
            _check_zone(zone)
        if spec.startswith("@"):
            raise ConfigError(f"cron {cron!r}: '@' descriptors are not accepted by the server; use 5 fields")
        fields = spec.split()
        if len(fields) != 5 or not all(re.match(_CRON_FIELD, f) for f in fields):
            raise ConfigError(f"cron {cron!r} must have 5 fields: minute hour day month weekday")
        _set(self, "cron", cron)
        _set(self, "jitter", jitter)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cron": self.cron.strip()}
        if self.jitter:
            out["jitter"] = self.jitter
        return out


def _check_zone(zone: str) -> None:
    import zoneinfo  # deferred: only cron triggers with a zone need it

    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"cron time zone {zone!r} is not a known IANA zone") from None


Trigger = TriggerEvent | TriggerCron
