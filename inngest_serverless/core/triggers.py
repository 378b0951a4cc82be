"""What starts a function: an event (with an optional CEL expression) or a cron schedule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .wire import Limit

_CRON_TZ = re.compile(r"^(?:CRON_)?TZ=(\S+)\s+(.*)$")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


@dataclass(frozen=True)
class TriggerEvent:
    """Run the function for each event named ``event`` (``expression``: optional CEL filter)."""

    event: str
    expression: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not self.event.strip():
            raise ConfigError("TriggerEvent(event=...) must be a non-empty event name")
        if len(self.event) > Limit.EVENT_NAME_LENGTH:
            raise ConfigError(f"TriggerEvent event name is longer than {Limit.EVENT_NAME_LENGTH} characters")
        if self.expression is not None and not str(self.expression).strip():
            raise ConfigError("TriggerEvent(expression=...) must not be empty when given")

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event}
        if self.expression:
            out["expression"] = self.expression
        return out


@dataclass(frozen=True)
class TriggerCron:
    """Run the function on a 5-field cron schedule, optionally prefixed ``TZ=<zone> ``."""

    cron: str
    jitter: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.cron, str) or not self.cron.strip():
            raise ConfigError("TriggerCron(cron=...) must be a non-empty cron expression")
        spec = self.cron.strip()
        tz_match = _CRON_TZ.match(spec)
        if tz_match:
            zone, spec = tz_match.groups()
            _check_zone(zone)
        if spec.startswith("@"):
            raise ConfigError(f"cron {self.cron!r}: '@' descriptors are not accepted by the server; use 5 fields")
        fields = spec.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ConfigError(f"cron {self.cron!r} must have 5 fields: minute hour day month weekday")

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
