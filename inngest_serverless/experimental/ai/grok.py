"""``grok.Adapter``, as in the official SDK: :class:`inngest_serverless.ai.Grok`."""

from ...ai import Grok as Adapter

__all__ = ["Adapter"]
