"""The app the self-hosted tests deploy: shop.py's functions in cloud mode behind ``lambda_adapter``,
run by the Runtime Interface Emulator with awslambdaric, configured only through its environment
(INNGEST_SIGNING_KEY, INNGEST_SIGNING_KEY_FALLBACK, INNGEST_EVENT_KEY, INNGEST_API_BASE_URL,
INNGEST_EVENT_API_BASE_URL, INNGEST_SERVE_ORIGIN), as a deployed function is.
"""

from __future__ import annotations

from inngest_serverless import Inngest
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from tests.real_server.shop import APP_ID, add_functions

client = Inngest(app_id=APP_ID, is_production=True)
add_functions(client)
handler = lambda_adapter(client)
