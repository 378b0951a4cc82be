"""Every name the Inngest wire protocol uses, written once.

Headers, query parameters, opcodes, JSON keys that appear in more than one
module, default origins and limits. Every other module (core, adapters, the
embedded executor) imports them from here; a wire name typed anywhere else is
a bug.
"""

from __future__ import annotations

import enum
from typing import Final

SDK_NAME: Final = "inngest-serverless"
SDK_LANGUAGE: Final = "py"
SDK_AUTHOR: Final = "inngest"
REQUEST_VERSION: Final = "2"
INTROSPECTION_SCHEMA_VERSION: Final = "2024-05-24"
REGISTER_PAYLOAD_VERSION: Final = "0.1"
DEPLOY_TYPE_PING: Final = "ping"
DEFAULT_SERVE_PATH: Final = "/api/inngest"
COMPOSITE_ID_SEPARATOR: Final = "-"
FAILURE_HANDLER_SUFFIX: Final = "-failure"
NO_EVENT_KEY: Final = "NO_EVENT_KEY_SET"
# The name of a generic error on the wire (the JS SDK's Error, the Go SDK's errors.New); a bare
# Python Exception is sent under it (docs/compatibility.md).
GENERIC_ERROR_NAME: Final = "Error"


class Header:
    """HTTP header names (lower case: HTTP headers are case-insensitive)."""

    SDK: Final = "x-inngest-sdk"
    REQ_VERSION: Final = "x-inngest-req-version"
    USER_AGENT: Final = "user-agent"
    CONTENT_TYPE: Final = "content-type"
    SIGNATURE: Final = "x-inngest-signature"
    NO_RETRY: Final = "x-inngest-no-retry"
    RETRY_AFTER: Final = "retry-after"
    ENV: Final = "x-inngest-env"
    PLATFORM: Final = "x-inngest-platform"
    FRAMEWORK: Final = "x-inngest-framework"
    SERVER_KIND: Final = "x-inngest-server-kind"
    EXPECTED_SERVER_KIND: Final = "x-inngest-expected-server-kind"
    SYNC_KIND: Final = "x-inngest-sync-kind"
    EVENT_ID_SEED: Final = "x-inngest-event-id-seed"
    AUTHORIZATION: Final = "authorization"
    STEP_ID: Final = "x-inngest-step-id"
    FORCE_STEP_PLAN: Final = "x-inngest-force-step-plan"
    RUN_ID: Final = "x-run-id"
    REQUEST_ID: Final = "x-request-id"
    JOB_ID: Final = "x-inngest-job-id"


CONTENT_TYPE_JSON: Final = "application/json"


class Query:
    FN_ID: Final = "fnId"
    STEP_ID: Final = "stepId"
    PROBE: Final = "probe"
    DEPLOY_ID: Final = "deployId"


PROBE_TRUST: Final = "trust"
DISCOVERY_STEP_ID: Final = "step"


class SyncKind:
    IN_BAND: Final = "in_band"
    OUT_OF_BAND: Final = "out_of_band"


class ServerKind:
    DEV: Final = "dev"
    CLOUD: Final = "cloud"


class Opcode(str, enum.Enum):
    """Opcodes of the server's enum (``pkg/enums/opcode.go``)."""

    NONE = "None"
    STEP_RUN = "StepRun"
    STEP_ERROR = "StepError"
    STEP_PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"
    GATEWAY = "Gateway"
    WAIT_FOR_SIGNAL = "WaitForSignal"
    RUN_COMPLETE = "RunComplete"
    STEP_FAILED = "StepFailed"
    DISCOVERY_REQUEST = "DiscoveryRequest"


class ParallelMode(str, enum.Enum):
    """How the server schedules a parallel group's steps (``opts.parallelMode`` of each planned op)."""

    WAIT = "wait"  # call the function again once every planned step ended
    RACE = "race"  # call it again as each step ends, so a branch runs on without the others


PARALLEL_MODE_OPT: Final = "parallelMode"


class StepType:
    """``opts.type`` values shown in the server's UI for StepRun ops."""

    RUN: Final = "step.run"
    SEND_EVENT: Final = "step.sendEvent"
    FETCH: Final = "step.fetch"
    AI_INFER: Final = "step.ai.infer"
    AI_WRAP: Final = "step.ai.wrap"


class InternalEvent:
    FUNCTION_FAILED: Final = "inngest/function.failed"
    FUNCTION_FINISHED: Final = "inngest/function.finished"
    FUNCTION_CANCELLED: Final = "inngest/function.cancelled"
    FUNCTION_INVOKED: Final = "inngest/function.invoked"
    SCHEDULED_TIMER: Final = "inngest/scheduled.timer"


class Capability:
    IN_BAND_SYNC: Final = "in_band_sync"
    TRUST_PROBE: Final = "trust_probe"
    V1: Final = "v1"


CAPABILITIES: Final = {Capability.IN_BAND_SYNC: Capability.V1, Capability.TRUST_PROBE: Capability.V1}


class Env:
    """Every environment variable the package reads, here only (docs/environment.md).

    The first group is the Inngest SDKs' shared set; the rest are this package's own.
    """

    SIGNING_KEY: Final = "INNGEST_SIGNING_KEY"
    SIGNING_KEY_FALLBACK: Final = "INNGEST_SIGNING_KEY_FALLBACK"
    EVENT_KEY: Final = "INNGEST_EVENT_KEY"
    ENV: Final = "INNGEST_ENV"
    DEV: Final = "INNGEST_DEV"
    BASE_URL: Final = "INNGEST_BASE_URL"
    API_BASE_URL: Final = "INNGEST_API_BASE_URL"
    EVENT_API_BASE_URL: Final = "INNGEST_EVENT_API_BASE_URL"
    SERVE_ORIGIN: Final = "INNGEST_SERVE_ORIGIN"
    SERVE_HOST: Final = "INNGEST_SERVE_HOST"
    SERVE_PATH: Final = "INNGEST_SERVE_PATH"
    STREAMING: Final = "INNGEST_STREAMING"
    ALLOW_IN_BAND_SYNC: Final = "INNGEST_ALLOW_IN_BAND_SYNC"
    ENABLE_UNAUTHED_SYNC: Final = "INNGEST_ENABLE_UNAUTHED_SYNC"  # the Go and Python SDKs' name
    LOG_LEVEL: Final = "INNGEST_LOG_LEVEL"
    MAX_BODY_BYTES: Final = "INNGEST_MAX_BODY_BYTES"
    # AWS Lambda: where the keys live (adapters/aws_lambda/_keys.py) and the streaming loop's settings.
    SIGNING_KEY_SECRET_ARN: Final = "INNGEST_SIGNING_KEY_SECRET_ARN"
    SIGNING_KEY_PARAMETER: Final = "INNGEST_SIGNING_KEY_PARAMETER"
    LAMBDA_CLIENT: Final = "INNGEST_LAMBDA_CLIENT"
    LAMBDA_PYTHON: Final = "INNGEST_LAMBDA_PYTHON"


# Branch-name fallbacks for INNGEST_ENV, in the order the official SDK reads them.
ENV_BRANCH_FALLBACKS: Final = ("VERCEL_GIT_COMMIT_REF", "RAILWAY_GIT_BRANCH", "RENDER_GIT_BRANCH")


class Origin:
    CLOUD_API: Final = "https://api.inngest.com"
    CLOUD_EVENT_API: Final = "https://inn.gs"
    DEV: Final = "http://127.0.0.1:8288"


class Path:
    REGISTER: Final = "/fn/register"
    EVENTS: Final = "/e/"
    RUN_BATCH: Final = "/v0/runs/{run_id}/batch"
    RUN_ACTIONS: Final = "/v0/runs/{run_id}/actions"
    CHECKPOINT_ASYNC: Final = "/v1/checkpoint/{run_id}/async"


class Limit:
    """The server's limits (sizes, counts, ages), and the SDK's own defaults beside them."""

    MAX_REQUEST_BODY: Final = 4 * 1024 * 1024  # MaxSDKRequestBodySize; bigger state arrives via use_api
    DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024  # what the SDK accepts before parsing (configurable)
    STEP_OUTPUT: Final = 4 * 1024 * 1024
    SDK_RESPONSE: Final = 8 * 1024 * 1024
    STEPS_PER_RUN: Final = 1000
    DEFAULT_RETRIES: Final = 4
    MAX_RETRIES: Final = 20
    MAX_TRIGGERS: Final = 10
    MAX_CONCURRENCY: Final = 2
    MAX_CANCEL: Final = 5
    SIGNATURE_MAX_AGE_SECONDS: Final = 300
    EVENT_NAME_LENGTH: Final = 512
    EVENTS_PER_SEND: Final = 5000  # the event API answers 400 to a larger batch; the client splits it
    PRIORITY_RANGE: Final = 600
