"""``from inngest_serverless.experimental.ai import openai``: the official SDK's module names for
the model providers of :mod:`inngest_serverless.ai` (``openai.Adapter`` is ``ai.OpenAI``, ...)."""

from ...ai import Adapter as BaseAdapter
from . import anthropic, openai

__all__ = ["BaseAdapter", "anthropic", "openai"]
