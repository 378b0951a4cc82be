"""The protocol, with no host knowledge. Adapters build a Request and call ``Handler.handle``.

Internal, with no stability promise: import the public names from ``inngest_serverless`` (its
``__all__``) and the host entry points from ``inngest_serverless.adapters.*``. The list of public
modules is in docs/architecture.md.
"""

from typing import TYPE_CHECKING

from .http import Headers, Request, Response

if TYPE_CHECKING:
    from .handler import Handler

__all__ = ["Handler", "Headers", "Request", "Response"]


def __getattr__(name: str) -> object:
    # Not imported with the package: every ``inngest_serverless.core.X`` import runs this file first,
    # and the handler brings the whole call path with it.
    if name == "Handler":
        from .handler import Handler

        return Handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
