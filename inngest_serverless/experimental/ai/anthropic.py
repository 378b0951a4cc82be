"""``anthropic.Adapter``, as in the official SDK: :class:`inngest_serverless.ai.Anthropic`."""

from ...ai import Anthropic as Adapter

__all__ = ["Adapter"]
