"""Boolean and key expressions in CEL, as the server evaluates triggers, ``if``s and flow-control keys.

The CEL library is imported on first use so that importing the executor stays cheap.
Variables: ``event`` (the run's triggering event) and ``async`` (the incoming event, for
``waitForEvent.if`` and ``cancel.if``). Instead of rewriting ``event.*`` into literals as
the server does, both maps are bound at evaluation time: the outcome is the same.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from typing import Any

INSTALL_HINT = "pip install 'inngest-serverless[dev]'"
_FUNCTIONS: dict[str, Any] = {
    "lowercase": lambda s: str(s).lower(),
    "uppercase": lambda s: str(s).upper(),
    "json_parse": lambda s: json.loads(str(s)),
    "now": lambda: time.time() * 1000.0,
}
_programs: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class ExpressionError(ValueError):
    """An expression that does not compile."""


class _RustCEL:
    """``common-expression-language`` (import ``cel``): compiled in Rust, about 30 µs an evaluation."""

    name = "cel"

    def __init__(self) -> None:
        import cel

        self.cel = cel

    def compile(self, expression: str) -> Any:
        return self.cel.compile(expression)

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        context = self.cel.Context()
        for name, value in variables.items():
            context.add_variable(name, value)
        for name, function in _FUNCTIONS.items():
            context.add_function(name, function)
        return program.execute(context)


def _returning_cel(function: Any, to_cel: Any) -> Any:
    return lambda *args: to_cel(function(*args))


class _PurePythonCEL:
    """``cel-python`` (import ``celpy``): the fallback where the Rust wheel does not exist (Python 3.10)."""

    name = "celpy"

    def __init__(self) -> None:
        celpy: Any = importlib.import_module("celpy")
        self.celtypes: Any = importlib.import_module("celpy.celtypes")
        self.to_cel = importlib.import_module("celpy.adapter").json_to_cel
        self.env = celpy.Environment()
        self.functions = {name: _returning_cel(function, self.to_cel) for name, function in _FUNCTIONS.items()}

    def compile(self, expression: str) -> Any:
        return self.env.program(self.env.compile(expression), functions=self.functions)

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        activation = {name: self.to_cel(value) for name, value in variables.items()}
        return self._plain(program.evaluate(activation))

    def _plain(self, value: Any) -> Any:
        types = self.celtypes
        if isinstance(value, types.BoolType):
            return bool(value)
        if isinstance(value, types.IntType | types.UintType):
            return int(value)
        if isinstance(value, types.DoubleType):
            return float(value)
        if isinstance(value, types.StringType):
            return str(value)
        if isinstance(value, types.MapType):
            return {self._plain(k): self._plain(v) for k, v in value.items()}
        if isinstance(value, types.ListType):
            return [self._plain(v) for v in value]
        if isinstance(value, Exception):
            raise value  # celpy may return its evaluation errors instead of raising them
        return value


_BACKENDS = (_RustCEL, _PurePythonCEL)
_backend: _RustCEL | _PurePythonCEL | None = None


def backend() -> _RustCEL | _PurePythonCEL:
    """The first CEL library that imports (lazily: only a function with expressions needs one)."""
    global _backend
    if _backend is None:
        for candidate in _BACKENDS:
            try:
                _backend = candidate()
                break
            except ImportError:
                continue
        else:
            raise ExpressionError(f"expressions need a CEL library: {INSTALL_HINT}")
    return _backend


def _program(expression: str) -> Any:
    engine = backend()
    key = (engine.name, expression)
    program = _programs.get(key)
    if program is None:
        try:
            program = engine.compile(expression)
        except Exception as exc:  # each library has its own parse error types
            raise ExpressionError(f"invalid expression {expression!r}: {exc}") from None
        with _lock:
            _programs[key] = program
    return program


def validate(expression: str) -> None:
    """Raise ExpressionError when ``expression`` is not valid CEL."""
    _program(expression)


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The expression's value, or None when it refers to missing data or fails at run time."""
    program = _program(expression)
    try:
        return backend().run(program, variables)
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
