"""Event ingestion: events in (validated, stored, acknowledged), and what each one starts: runs
of the functions it triggers (or a place in their batch), resumed waits, cancelled runs."""

from __future__ import annotations

from typing import Any

from inngest_serverless.core.wire import InternalEvent

from . import console, expressions, payloads
from .buffers import Buffers
from .clock import TimeSource
from .event_log import EventLog
from .functions import FunctionConfig
from .ids import Ulids, seeded_ulids
from .lifecycle import Lifecycle
from .pauses import Pauses
from .registry import Registry
from .scheduling import Scheduler
from .store import Store

MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 5000
SEND_CHUNK = 250  # events stored per transaction
_TS_MIN_MS = 315532800000  # 1980-01-01
_TS_MAX_MS = 4102444800000  # 2100-01-01
_INTERNAL_PREFIX = "inngest/"


class EventError(ValueError):
    """An event the event API refuses (400)."""


class Ingest:
    def __init__(
        self,
        store: Store,
        clock: TimeSource,
        ids: Ulids,
        events: EventLog,
        registry: Registry,
        scheduler: Scheduler,
        buffers: Buffers,
        pauses: Pauses,
        lifecycle: Lifecycle,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.events = events
        self.registry = registry
        self.scheduler = scheduler
        self.buffers = buffers
        self.pauses = pauses
        self.lifecycle = lifecycle

    def send(self, events: list[Any], *, internal: bool = False, seed: str | None = None) -> list[str]:
        """Ingest events; returns their internal ids. EventError for a bad one (earlier ones stay sent).

        With ``seed`` (the ``x-inngest-event-id-seed`` header) the ids are derived from it, and an
        event whose id is already stored is a client's retry: it is acknowledged, not run again.
        """
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise EventError(f"Cannot have more than {MAX_EVENTS_PER_REQUEST} events in a batch")
        seeded = seeded_ulids(seed, len(events)) if seed else None
        valid: list[dict[str, Any]] = []
        refused: EventError | None = None
        for raw in events:
            try:
                valid.append(self._normalize(raw, internal))
            except EventError as exc:
                refused = exc  # the events before it are still sent, as the server does
                break
        ids: list[str] = []
        # Stored and dispatched in one transaction per chunk: an acknowledged event has its runs,
        # a batch does not pay a commit per event, and no transaction holds the store for long.
        for start in range(0, len(valid), SEND_CHUNK):
            with self.store.tx():
                for index in range(start, min(start + SEND_CHUNK, len(valid))):
                    event = valid[index]
                    internal_id, new = self.store_event(event, seeded[index] if seeded else None)
                    if new:
                        self._dispatch(event, internal_id)
                    ids.append(internal_id)
        if refused is not None:
            refused.args = (str(refused), ids)
            raise refused
        return ids

    def store_event(self, event: dict[str, Any], internal_id: str | None = None) -> tuple[str, bool]:
        """Store an event under a new (or the seeded) internal id; False when that id was stored already."""
        internal_id = internal_id or self.ids.new()
        if not event.get("id"):
            event["id"] = internal_id
        return internal_id, self.events.add(internal_id, event, self.clock.now())

    def _normalize(self, raw: Any, internal: bool) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise EventError("Request body must contain an event object or an array of event objects")
        # The ingest limit is for clients. The executor's own events (function.finished, invoke)
        # are made of parts already bounded (events, a reply under 8 MiB), and the server does not
        # size-check them either: refusing one would leave its run unable to end.
        if not internal and payloads.encoded_size(raw) > MAX_EVENT_BYTES:
            raise EventError("Event is over the max size")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise EventError("event name is empty")
        if not internal and name.lower().startswith(_INTERNAL_PREFIX):
            raise EventError("event name is reserved for internal use")
        data = raw.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise EventError("event data must be an object")
        data = dict(data)
        if not internal:
            data.pop("_inngest", None)
        event: dict[str, Any] = {"name": name, "data": data, "user": raw.get("user") or {}}
        ts = raw.get("ts") or 0
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            raise EventError("event ts must be a number of milliseconds")
        if ts and not _TS_MIN_MS <= ts <= _TS_MAX_MS:
            raise EventError("event ts must lie between 1980 and 2100")
        event["ts"] = int(ts) if ts else int(self.clock.now() * 1000)
        if raw.get("id"):
            event["id"] = str(raw["id"])
        if raw.get("v"):
            event["v"] = raw["v"]
        return event

    def _dispatch(self, event: dict[str, Any], internal_id: str) -> None:
        event_vars = {"event": expressions.event_map(event)}
        if event["name"] == InternalEvent.FUNCTION_INVOKED:
            target = ((event.get("data") or {}).get("_inngest") or {}).get("fn_id", "")
            fn = self.registry.by_id(str(target))
            if fn is None:
                self.lifecycle.invoke_failed(event, f"could not find function with ID: {target}")
            else:
                self.scheduler.schedule(fn, [event], [internal_id], str(event["id"]))
        else:
            listened = False
            for fn in self.registry.functions():
                triggers = fn.triggered_by(event["name"])
                listened = listened or bool(triggers)
                for expression in triggers:
                    if expressions.matches(expression, event_vars):
                        self._trigger(fn, event, internal_id)
                        break
                else:
                    if triggers:
                        filters = " or ".join(str(e) for e in triggers)
                        console.event(event, internal_id, f"no run of {fn.slug}: its trigger's if did not match: {filters}")
            if not listened and not event["name"].startswith(_INTERNAL_PREFIX) and not self.pauses.rows.awaited(event["name"]):
                console.event(event, internal_id, f"no function is triggered by {event['name']}, and no run waits for it")
        self.pauses.match_pauses(event, internal_id)

    def _trigger(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        if fn.batch and expressions.matches(fn.batch.get("if"), {"event": expressions.event_map(event)}):
            self.scheduler.release(self.buffers.batch_append(fn, event, internal_id))
        else:
            self.scheduler.schedule(fn, [event], [internal_id], str(event["id"]))
