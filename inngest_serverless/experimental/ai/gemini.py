"""``gemini.Adapter``, as in the official SDK: :class:`inngest_serverless.ai.Gemini`."""

from ...ai import Gemini as Adapter

__all__ = ["Adapter"]
