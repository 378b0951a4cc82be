"""Duration strings of the wire (``300ms``, ``10s``, ``5m``, ``2h``, ``1d``, ``1w``)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import datetime
    from typing import TypeAlias

    # int/float: milliseconds, as in the official SDK. For type checkers only: datetime is imported
    # where a value is converted, so that a cold start that converts none does not load it.
    Duration: TypeAlias = int | float | datetime.timedelta

_UNITS_MS = (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
_GO_UNITS_MS = tuple(u for u in _UNITS_MS if u[0] not in ("w", "d"))
# A pattern, compiled (and cached) by re on the first duration string parsed, not at every cold start.
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)"


def to_ms(value: Duration, what: str) -> int:
    import datetime

    if isinstance(value, bool) or not isinstance(value, (int, float, datetime.timedelta)):
        raise ConfigError(f"{what} must be a timedelta or a number of milliseconds, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number of milliseconds, not {value!r}")
    ms = round(value.total_seconds() * 1000) if isinstance(value, datetime.timedelta) else round(value)
    if ms < 0:
        raise ConfigError(f"{what} must not be negative")
    return int(ms)


def format_ms(ms: int, *, go_only: bool = False) -> str:
    """The largest unit that divides ``ms`` evenly (``60000`` -> ``1m``).

    ``go_only`` keeps to the units Go's ``time.ParseDuration`` knows (no ``d``/``w``).
    """
    if ms == 0:
        return "0s"
    for unit, size in _GO_UNITS_MS if go_only else _UNITS_MS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def format_duration(
    value: Duration,
    what: str,
    *,
    minimum_ms: int = 0,
    maximum_ms: int | None = None,
    go_only: bool = False,
) -> str:
    ms = to_ms(value, what)
    if ms < minimum_ms:
        raise ConfigError(f"{what} must be at least {format_ms(minimum_ms)}")
    if maximum_ms is not None and ms > maximum_ms:
        raise ConfigError(f"{what} must be at most {format_ms(maximum_ms)}")
    return format_ms(ms, go_only=go_only)


def parse(text: str) -> int:
    """Milliseconds of a duration string such as ``1h30m``; raises ``ValueError``."""
    text = text.strip()
    pos, total = 0, 0.0
    sizes = dict(_UNITS_MS)
    for match in re.finditer(_PART, text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * sizes[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {text!r}")
    return int(total)
