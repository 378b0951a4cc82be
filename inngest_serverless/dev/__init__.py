"""The embedded local executor: an Inngest-compatible dev server on SQLite, for development and tests.

Production runs on the real Inngest server; this executor exists so that functions run, and
are tested, on one machine with nothing else installed::

    from inngest_serverless.dev import DevServer
    with DevServer(port=0, db=":memory:") as server:
        print(server.url)

Internal, with no stability promise: use it through the ``inngest-serverless dev`` command (and
``DevServer`` in tests). The list of public modules is in docs/architecture.md.

The parts, each built from the collaborators it uses and wired together in ``executor.py``:

* repositories, the only modules that hold SQL: ``store`` (database, transactions, key/value),
  ``queue``, ``runs``, ``registry`` (apps and functions), ``pause_store``, ``event_log``;
* ``clock`` (``SystemClock``, or a ``VirtualClock`` in tests), ``ids`` (ULIDs on that clock),
  ``calls`` (the transport to apps, HTTP by default);
* ``ingest`` (events in), ``scheduling`` and ``flow`` (runs under flow control), ``buffers``
  (debounce, batches), ``runner`` and ``opcodes`` (a call to the app and its reply's opcodes),
  ``discovery`` (the call after a step), ``pauses`` (waits), ``checkpoints``, ``lifecycle`` (the
  end of runs and its events), ``cron_ticks``;
* ``executor`` (the wiring, the worker loop and the thread-free ``run_due``), ``options``,
  ``http_api``, ``http_base`` and ``server`` (``DevServer``), ``dashboard``, ``console`` (the
  CLI's lines);
* leaves they share: ``functions`` (a registered function's config), ``ops`` (one opcode),
  ``expressions`` (CEL), ``cron`` (cron expressions), ``timefmt`` (durations and dates),
  ``payloads`` (JSON in and out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .executor import Options
    from .server import DevServer

__all__ = ["DevServer", "Options"]


def __getattr__(name: str) -> Any:
    if name == "DevServer":
        from .server import DevServer

        return DevServer
    if name == "Options":
        from .executor import Options

        return Options
    raise AttributeError(name)
