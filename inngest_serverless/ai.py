"""Model providers for ``ctx.step.ai.infer``: each names the request the server's AI gateway makes.

``OpenAI(auth_key=..., model="gpt-4o")`` and the like; ``body`` is the provider's own request
body (``messages`` ...), its ``model`` filled in when missing. The ``format`` is how the server
reads the request and reply: ``openai-chat`` (OpenAI and the APIs shaped like it: Grok,
DeepSeek), ``anthropic``, ``gemini``. Any object with the same five methods works too.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Adapter", "Anthropic", "DeepSeek", "Gemini", "Grok", "OpenAI"]


class Adapter:
    """A provider: its key, base URL, extra headers and default model."""

    FORMAT: ClassVar[str] = "openai-chat"
    BASE_URL: ClassVar[str] = ""
    PATH: ClassVar[str] = "/chat/completions"
    HEADERS: ClassVar[dict[str, str]] = {}

    def __init__(self, *, auth_key: str, model: str, base_url: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self._auth_key = auth_key
        self.model = model
        self.base_url = (base_url or self.BASE_URL).rstrip("/")
        self._headers = dict(self.HEADERS) if headers is None else dict(headers)

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def auth_key(self) -> str:
        return self._auth_key

    def format(self) -> str:
        return self.FORMAT

    def headers(self) -> dict[str, str]:
        return self._headers

    def on_call(self, body: dict[str, object]) -> None:
        if not body.get("model"):
            body["model"] = self.model

    def url_infer(self) -> str:
        return self.base_url + self.PATH


class OpenAI(Adapter):
    BASE_URL = "https://api.openai.com/v1"


class Grok(Adapter):
    BASE_URL = "https://api.x.ai/v1"


class DeepSeek(Adapter):
    BASE_URL = "https://api.deepseek.com/v1"


class Anthropic(Adapter):
    FORMAT = "anthropic"
    BASE_URL = "https://api.anthropic.com/v1"
    PATH = "/messages"
    HEADERS: ClassVar[dict[str, str]] = {"anthropic-version": "2023-06-01"}


class Gemini(Adapter):
    FORMAT = "gemini"
    BASE_URL = "https://generativelanguage.googleapis.com/v1beta"

    def url_infer(self) -> str:
        # Gemini takes the model in the path and the key in the query.
        from urllib.parse import quote

        return f"{self.base_url}/models/{quote(self.model, safe='')}:generateContent?key={quote(self._auth_key, safe='')}"
