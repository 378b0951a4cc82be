"""The embedded local executor: an Inngest-compatible dev server on SQLite, for development and tests.

Production runs on the real Inngest server; this executor exists so that functions run, and
are tested, on one machine with nothing else installed::

    from inngest_serverless.dev import DevServer
    with DevServer(port=0, db=":memory:") as server:
        print(server.url)

Internal, with no stability promise: use it through the ``inngest-serverless dev`` command (and
``DevServer`` in tests). The list of public modules is in docs/architecture.md.
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
