"""Checkpoint is the class, Inngest(**aws_keys()) type-checks, and logger= takes any Logger-like object."""

from __future__ import annotations

import datetime
import logging

from aws_lambda_powertools import Logger as PowertoolsLogger
from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import Checkpoint
from inngest_serverless.adapters.aws_lambda import AwsKeys, aws_keys

checkpoint = Checkpoint(batch_steps=5, max_runtime=datetime.timedelta(seconds=30))
assert_type(checkpoint, Checkpoint)
assert_type(inngest_serverless.Checkpoint, type[Checkpoint])

keys = aws_keys()
assert_type(keys, AwsKeys)
client = inngest_serverless.Inngest(app_id="typing", checkpoint=checkpoint, **aws_keys())
signing_key: str | None = keys.get("signing_key")

inngest_serverless.Inngest(app_id="stdlib", logger=logging.getLogger("app"))
inngest_serverless.Inngest(app_id="adapter", logger=logging.LoggerAdapter(logging.getLogger("app"), {"k": "v"}))
inngest_serverless.Inngest(app_id="powertools", logger=PowertoolsLogger(service="shop"))
client.set_logger(PowertoolsLogger(service="shop"))
