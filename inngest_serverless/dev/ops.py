"""One opcode as an app reports it: its code, its display name, and the refusal that fails a run."""

from __future__ import annotations

from typing import Any

from inngest_serverless.core.wire import Opcode

_OPCODES = {op.value.lower(): op for op in Opcode}

INVOKE_TIMEOUT_ERROR = {
    "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
    "name": "InngestInvokeTimeoutError",
    "message": "Timed out waiting for invoked function to complete",
}


class FailEarly(Exception):
    """An op the server refuses outright: the run fails with no retry."""


def opcode(op: dict[str, Any]) -> Opcode | None:
    return _OPCODES.get(str(op.get("op", "")).lower())


def op_name(op: dict[str, Any]) -> str:
    return str(op.get("displayName") or op.get("name") or op.get("id") or "")
