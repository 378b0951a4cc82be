"""Boolean and key expressions in CEL, as the server evaluates triggers, ``if``s and flow-control keys.

The CEL library is imported on first use so that importing the executor stays cheap.
Variables: ``event`` (the run's triggering event) and ``async`` (the incoming event, for
``waitForEvent.if`` and ``cancel.if``). Instead of rewriting ``event.*`` into literals as
the server does, both maps are bound at evaluation time: the outcome is the same.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

INSTALL_HINT = "pip install 'inngest-serverless[dev]'"
# What CEL's now() reads: the evaluating executor's clock (``clock_of``), else the machine's.
_now: contextvars.ContextVar[Callable[[], float]] = contextvars.ContextVar("cel_now", default=time.time)
_FUNCTIONS: dict[str, Any] = {
    "lowercase": lambda s: str(s).lower(),
    "uppercase": lambda s: str(s).upper(),
    "json_parse": lambda s: json.loads(str(s)),
    "now": lambda: _now.get()() * 1000.0,
}
_programs: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
log = logging.getLogger("inngest_serverless.dev")

# Neither CEL library has a cost limit, and the Rust one holds the GIL while it evaluates: a
# comprehension nested in another over a long list (100 items, three deep: 4 s) stalls every
# thread of the executor. So the cost is bounded before evaluation: comprehensions nested ``d``
# deep over lists of at most ``n`` items take up to ``n ** d`` steps (about 3 µs each here).
MAX_COST = 100_000
_MACROS = ("all", "exists", "exists_one", "map", "filter")
_TOKENS = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\.\s*(?:""" + "|".join(_MACROS) + r""")\s*\(|[()]""")
_depths: dict[str, int] = {}
_warned: set[str] = set()


class ExpressionError(ValueError):
    """An expression that does not compile, or that would cost more than ``MAX_COST`` to evaluate."""


class CostError(ExpressionError):
    """An expression whose comprehensions over this data would take more than ``MAX_COST`` steps."""


def comprehension_depth(expression: str) -> int:
    """How deeply comprehension macros (``all``, ``exists``, ``map``...) nest in ``expression``."""
    depth = _depths.get(expression)
    if depth is None:
        stack: list[bool] = []
        depth = 0
        for token in _TOKENS.finditer(expression):
            text = token.group()
            if text[0] in "\"'":
                continue
            if text == ")":
                if stack:
                    stack.pop()
                continue
            stack.append(text != "(")
            depth = max(depth, sum(stack))
        _depths[expression] = depth
    return depth


def _longest(value: Any) -> int:
    """The most items of any list or map inside ``value`` (without recursion: data may nest deeply)."""
    longest, todo = 0, [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            longest = max(longest, len(item))
            todo.extend(item.values())
        elif isinstance(item, list):
            longest = max(longest, len(item))
            todo.extend(item)
    return longest


def _warn_once(expression: str, message: str) -> None:
    """Say why an expression was not evaluated, once per expression: a flood of events must not flood the log."""
    if expression not in _warned:
        _warned.add(expression)
        log.warning("%s", message)


def check_cost(expression: str, variables: dict[str, Any]) -> None:
    """CostError when ``expression`` over ``variables`` may take more than ``MAX_COST`` steps."""
    depth = comprehension_depth(expression)
    if depth < 2:
        return  # one comprehension is linear in the data, which the event size already bounds
    longest = _longest(variables)
    if longest**depth > MAX_COST:
        raise CostError(
            f"expression {expression[:200]!r} nests {depth} comprehensions over a list of {longest} items: "
            f"up to {longest**depth:,} steps, over the limit of {MAX_COST:,}"
        )


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


@contextlib.contextmanager
def clock_of(now: Callable[[], float]) -> Iterator[None]:
    """Evaluate CEL's ``now()`` on ``now`` (an executor's clock) within this block, in this thread."""
    token = _now.set(now)
    try:
        yield
    finally:
        _now.reset(token)


def validate(expression: str) -> None:
    """Raise ExpressionError when ``expression`` is not valid CEL."""
    _program(expression)


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The expression's value, or None when it refers to missing data or fails at run time.

    ExpressionError when it does not compile, CostError when it would cost too much to run.
    """
    program = _program(expression)
    check_cost(expression, variables)
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
    except CostError as exc:
        _warn_once(expression, f"{exc}: taken as false")
        return False
    except ExpressionError:
        return False


def key_value(expression: str, variables: dict[str, Any]) -> str | None:
    """A flow-control key as a string; None when the expression fails or yields ``false``."""
    try:
        value = evaluate(expression, variables)
    except CostError as exc:
        _warn_once(expression, f"{exc}: no key")
        return None
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
