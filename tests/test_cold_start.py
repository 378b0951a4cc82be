"""Start-up: a fresh process that imports the package and the Lambda adapter and answers its first
call loads only what that reply needs; the rest waits for the request that uses it.

Timings are measured in bench/bench_lambda_cold_start.py, never asserted here: these tests pin
which modules a cold start loads, which is what the timings follow from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A dev-mode app with one step, its Lambda handler, and one call through an HTTP API event: the
# path a cold Lambda takes to its first reply (206: the step ran and is reported).
FIRST_REPLY = r'''
import json, sys
import inngest_serverless as sdk
from inngest_serverless.adapters.aws_lambda import lambda_adapter

client = sdk.Inngest(app_id="cold", is_production=False)

@client.create_function(fn_id="steps", trigger=sdk.TriggerEvent(event="cold/run"))
def steps(ctx):
    return ctx.step.run("one", lambda: {"ok": True})

handler = lambda_adapter(client)
event = {"name": "cold/run", "data": {}, "id": "e1", "ts": 1700000000000, "user": {}}
body = {"event": event, "events": [event], "steps": {}, "version": 2, "use_api": False,
        "ctx": {"fn_id": "f", "run_id": "r", "env": "", "step_id": "step", "attempt": 0, "max_attempts": 4,
                "stack": {"stack": [], "current": 0}, "disable_immediate_execution": False, "use_api": False}}
reply = handler({
    "version": "2.0", "rawPath": "/api/inngest", "rawQueryString": "fnId=cold-steps&stepId=step",
    "headers": {"content-type": "application/json", "host": "abc.execute-api.us-east-1.amazonaws.com"},
    "requestContext": {"domainName": "abc.execute-api.us-east-1.amazonaws.com", "stage": "$default",
                       "http": {"method": "POST", "path": "/api/inngest"}},
    "body": json.dumps(body), "isBase64Encoded": False}, None)
assert reply["statusCode"] == 206, reply
print(json.dumps(sorted(sys.modules)))
'''

# Loaded only by the requests or the options that need them.
NOT_ON_THE_FIRST_REPLY = [
    "base64",  # a base64-encoded (binary) event body or reply
    "http",  # an ALB reply's status phrase
    "inngest_serverless.adapters.aws_lambda._keys",  # keys from Secrets Manager / SSM
    "inngest_serverless.core.signing", "hashlib", "hmac",  # signed requests and replies (not in dev mode)
    "inngest_serverless.core.introspection",  # GET and PUT
    "logging",  # a line logged (the package logs none on a successful call)
    "traceback",  # a failure's stack
    "threading",  # a streamed reply (Lambda's managed runtime replies in one piece)
    "inngest_serverless.core.flow_control",  # a function with concurrency, throttling, batching...
    "inngest_serverless.core.checkpoint",  # checkpointing asked for
    "datetime",  # a time or a duration to convert (a sleep, a timeout, a Retry-After)
    # a dataclass an app returns or declares (the package's own classes are plain: core/record.py),
    # and inspect, for a handler or value that is not a plain function or a JSON value (core/coroutines.py)
    "dataclasses", "inspect",
    # never in a Lambda's first reply
    "asyncio", "httpx", "boto3", "aws_lambda_powertools", "pydantic", "mangum",
]


def _modules_after(program: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("INNGEST_SIGNING_KEY_SECRET_ARN", "INNGEST_SIGNING_KEY_PARAMETER"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_lambda_adapters_first_reply_loads_only_what_it_needs() -> None:
    loaded = _modules_after(FIRST_REPLY)
    assert "inngest_serverless.adapters.aws_lambda" in loaded  # the program did run the adapter
    assert sorted(name for name in NOT_ON_THE_FIRST_REPLY if name in loaded) == []


def test_importing_the_package_leaves_the_call_path_to_the_adapter() -> None:
    loaded = _modules_after("import json, sys, inngest_serverless\nprint(json.dumps(sorted(sys.modules)))")
    assert "inngest_serverless.core.client" in loaded
    assert sorted(loaded & {"inngest_serverless.core.handler", "inngest_serverless.core.execution",
                            "inngest_serverless.core.checkpoint", "inngest_serverless.core.middleware",
                            "dataclasses", "inspect"}) == []


def test_the_lazily_loaded_names_are_the_real_classes() -> None:
    import inngest_serverless
    from inngest_serverless.core.checkpoint import Checkpoint
    from inngest_serverless.core.flow_control import Throttle
    from inngest_serverless.core.handler import Handler

    assert inngest_serverless.Handler is Handler
    assert inngest_serverless.Checkpoint is Checkpoint
    assert inngest_serverless.Throttle is Throttle
    assert inngest_serverless.core.Handler is Handler
