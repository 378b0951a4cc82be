"""``openai.Adapter``, as in the official SDK: :class:`inngest_serverless.ai.OpenAI`."""

from ...ai import OpenAI as Adapter

__all__ = ["Adapter"]
