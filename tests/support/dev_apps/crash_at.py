"""``inngest-serverless dev`` that SIGKILLs itself at one chosen point of its work (crash tests).

Usage: python -m tests.support.dev_apps.crash_at POINT DEV-ARGS...  (DEV-ARGS: what ``inngest-serverless dev`` takes)

Points:
* ``invoke-send``: when the event that starts an invoked function is about to be stored;
* ``step-stored``: just after the first transaction that stored a step's result has committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from inngest_serverless import cli
from inngest_serverless.core.wire import InternalEvent
from inngest_serverless.dev.ingest import Ingest
from inngest_serverless.dev.runs import Runs
from inngest_serverless.dev.store import Store


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _invoke_send() -> None:
    send = Ingest.send

    def send_or_die(self: Ingest, events: list[Any], **kwargs: Any) -> list[str]:
        if any(isinstance(e, dict) and e.get("name") == InternalEvent.FUNCTION_INVOKED for e in events):
            _die()
        return send(self, events, **kwargs)

    Ingest.send = send_or_die  # type: ignore[method-assign]


def _step_stored() -> None:
    save_step, tx = Runs.save_step, Store.tx
    saved: list[bool] = []

    def save_and_note(self: Runs, run_id: str, step_id: str, value: Any) -> bool:
        new = save_step(self, run_id, step_id, value)
        if new and value is not None:  # a step.run result (a sleep's wake-up stores None)
            saved.append(True)
        return new

    @contextlib.contextmanager
    def tx_then_die(self: Store) -> Iterator[Any]:
        with self.lock:
            outermost = self._depth == 0
            with tx(self) as conn:
                yield conn
            if outermost and saved:
                _die()

    Runs.save_step = save_and_note  # type: ignore[method-assign]
    Store.tx = tx_then_die  # type: ignore[method-assign]


def main() -> int:
    point, args = sys.argv[1], sys.argv[2:]
    points = {"invoke-send": _invoke_send, "step-stored": _step_stored}
    if point not in points:
        raise SystemExit(f"unknown crash point {point!r}")
    points[point]()
    return cli.main(["dev", *args])


if __name__ == "__main__":
    raise SystemExit(main())
