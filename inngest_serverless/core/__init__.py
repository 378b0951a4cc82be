"""The protocol, with no host knowledge. Adapters build a Request and call ``Handler.handle``.

Internal, with no stability promise: import the public names from ``inngest_serverless`` (its
``__all__``) and the host entry points from ``inngest_serverless.adapters.*``. The list of public
modules is in docs/architecture.md.
"""

from .handler import Handler
from .http import Headers, Request, Response

__all__ = ["Handler", "Headers", "Request", "Response"]
