"""Boolean and key expressions in CEL, as the server evaluates triggers, ``if``s and flow-control keys.

The CEL library is imported on first use so that importing the executor stays cheap.
Variables: ``event`` (the run's triggering event) and ``async`` (the incoming event, for
``waitForEvent.if`` and ``cancel.if``). Instead of rewriting ``event.*`` into literals as
the server does, both maps are bound at evaluation time: the outcome is the same.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

INSTALL_HINT = "pip install 'inngest-serverless[dev]'"
_programs: dict[str, Any] = {}
_lock = threading.Lock()


class ExpressionError(ValueError):
    """An expression that does not compile."""


def _program(expression: str) -> Any:
    program = _programs.get(expression)
    if program is None:
        try:
            import cel  # lazy: the CEL runtime is only needed once a function uses expressions
        except ImportError:
            raise ExpressionError(f"{expression!r} needs CEL support: {INSTALL_HINT}") from None
        try:
            program = cel.compile(expression)
        except (ValueError, RuntimeError) as exc:
            raise ExpressionError(f"invalid expression {expression!r}: {exc}") from None
        with _lock:
            _programs[expression] = program
    return program


def validate(expression: str) -> None:
    """Raise ExpressionError when ``expression`` is not valid CEL."""
    _program(expression)


def _context(variables: dict[str, Any]) -> Any:
    import cel

    context = cel.Context()
    for name, value in variables.items():
        context.add_variable(name, value)
    context.add_function("lowercase", lambda s: str(s).lower())
    context.add_function("uppercase", lambda s: str(s).upper())
    context.add_function("json_parse", lambda s: json.loads(str(s)))
    context.add_function("now", lambda: time.time() * 1000.0)
    return context


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The expression's value, or None when it refers to missing data or fails at run time."""
    program = _program(expression)
    try:
        return program.execute(_context(variables))
    except Exception:  # missing attributes and type errors count as "unknown"
        return None


def matches(expression: str | None, variables: dict[str, Any]) -> bool:
    """True only when the expression is absent or evaluates to exactly ``true``."""
    if not expression:
        return True
    try:
        return evaluate(expression, variables) is True
    except ExpressionError:
        return False


def key_value(expression: str, variables: dict[str, Any]) -> str | None:
    """A flow-control key as a string; None when the expression fails or yields ``false``."""
    try:
        value = evaluate(expression, variables)
    except ExpressionError:
        return None
    if value is None or value is False:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def event_map(event: dict[str, Any]) -> dict[str, Any]:
    """The ``event``/``async`` variable for an event: name, data, user, id, ts."""
    return {
        "name": event.get("name", ""),
        "data": event.get("data") or {},
        "user": event.get("user") or {},
        "id": event.get("id", ""),
        "ts": float(event.get("ts") or 0),
        "v": event.get("v", ""),
    }
