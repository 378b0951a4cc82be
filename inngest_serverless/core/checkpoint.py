"""The public ``Checkpoint`` option: how a function checkpoints (a leaf: it knows nothing of calls).

With checkpointing, consecutive ``step.run``s execute in one invocation, each
finished step posted to the server as the function goes on (core/batching.py
does it); without it, every ``step.run`` costs an invocation of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .durations import format_ms, to_ms
from .errors import ConfigError

if TYPE_CHECKING:
    from .durations import Duration


@dataclass(frozen=True)
class Checkpoint:
    """How a function checkpoints; pass to ``create_function(checkpoint=...)`` or ``Inngest(checkpoint=...)``.

    ``batch_steps``: post after this many finished steps (1: after each one).
    ``batch_interval``: also post once the oldest held step is this old.
    ``max_runtime``: stop starting new steps after this long in one invocation
    (a fresh invocation carries on), on top of the host's deadline.
    Durations are timedeltas or milliseconds.
    """

    batch_steps: int = 1
    batch_interval: Duration | None = None
    max_runtime: Duration | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_steps, bool) or not isinstance(self.batch_steps, int) or self.batch_steps < 1:
            raise ConfigError("Checkpoint(batch_steps=...) must be an integer of at least 1")
        for name in ("batch_interval", "max_runtime"):
            value = getattr(self, name)
            if value is not None:
                to_ms(value, f"Checkpoint({name}=...)")

    def interval_seconds(self) -> float | None:
        ms = to_ms(self.batch_interval, "batch_interval") if self.batch_interval is not None else 0
        return ms / 1000 if ms else None

    def max_runtime_seconds(self) -> float | None:
        ms = to_ms(self.max_runtime, "max_runtime") if self.max_runtime is not None else 0
        return ms / 1000 if ms else None

    def to_wire(self) -> dict[str, Any]:
        """The register payload's ``checkpoint`` object (zero values left out, as Go does)."""
        out: dict[str, Any] = {"batch_steps": self.batch_steps}
        for name in ("batch_interval", "max_runtime"):
            value = getattr(self, name)
            if value is not None and to_ms(value, name):
                out[name] = format_ms(to_ms(value, name))
        return out


def coerce(value: Checkpoint | bool | None, what: str = "checkpoint") -> Checkpoint | None:
    """``True`` -> the default config, ``False``/``None`` -> off."""
    if value is None or value is False:
        return None
    if value is True:
        return Checkpoint()
    if isinstance(value, Checkpoint):
        return value
    raise ConfigError(f"{what} must be a Checkpoint, True or False, not {value!r}")
