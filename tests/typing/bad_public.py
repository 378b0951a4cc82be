"""What Checkpoint, aws_keys() and logger= refuse."""

from __future__ import annotations

import inngest_serverless
from inngest_serverless import Checkpoint
from inngest_serverless.adapters.aws_lambda import aws_keys

Checkpoint(batch_steps="5")  # E: arg-type: Argument "batch_steps" to "Checkpoint" has incompatible type "str"
keys = aws_keys()
keys["api_key"]  # E: typeddict-item: TypedDict "AwsKeys" has no key "api_key"
inngest_serverless.Inngest(app_id="print", logger=print)  # E: arg-type: Argument "logger" to "Inngest"
inngest_serverless.Inngest(app_id="text", logger="app")  # E: arg-type
