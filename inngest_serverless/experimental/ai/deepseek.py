"""``deepseek.Adapter``, as in the official SDK: :class:`inngest_serverless.ai.DeepSeek`."""

from ...ai import DeepSeek as Adapter

__all__ = ["Adapter"]
