"""The protocol, with no host knowledge. Adapters build a Request and call ``Handler.handle``."""

from .handler import Handler
from .http import Headers, Request, Response

__all__ = ["Handler", "Headers", "Request", "Response"]
