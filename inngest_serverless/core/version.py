"""The SDK's version and the ``X-Inngest-SDK`` value built from it."""

from __future__ import annotations

from typing import Final

from .wire import SDK_NAME

VERSION: Final = "0.1.0"
SDK_HEADER: Final = f"{SDK_NAME}:v{VERSION}"
