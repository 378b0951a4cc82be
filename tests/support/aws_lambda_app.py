"""The app the AWS tests serve: the simulated executor's standard functions behind lambda_adapter.

Loaded by the Runtime Interface Emulator (``python -m awslambdaric
tests.support.aws_lambda_app.handler``), by serverless-offline (through a shim) and
in-process. INNGEST_SIGNING_KEY in the environment means cloud mode with
signed calls; without it, dev mode.
"""

from __future__ import annotations

import os

from inngest_serverless import Inngest
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from tests.support.standard_functions import add_standard_functions

APP_ID = "aws-app"

client = Inngest(app_id=APP_ID, is_production=bool(os.environ.get("INNGEST_SIGNING_KEY")))
add_standard_functions(client)
handler = lambda_adapter(client)
