"""Is a callable ``async``, is a value awaitable: ``inspect``'s answers, without importing it for
the common case.

``inspect`` loads ``ast``, ``dis`` and ``tokenize``, a few milliseconds a cold start need not pay:
a handler or step body that is a plain function (no attributes: not wrapped, not marked with
``inspect.markcoroutinefunction``) is answered from its code flags, and a JSON value is never
awaitable. Anything else (methods, ``functools.partial``, decorated or marked functions, other
objects) is asked of ``inspect`` itself, so the answers are always ``inspect``'s.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE: the code of an ``async def``
_NEVER_AWAITABLE = frozenset({type(None), bool, int, float, str, bytes, dict, list, tuple})


def is_coroutine_function(fn: Any) -> bool:
    """``inspect.iscoroutinefunction(fn)``."""
    if type(fn) is FunctionType and not fn.__dict__:
        return bool(fn.__code__.co_flags & _CO_COROUTINE)
    import inspect

    return inspect.iscoroutinefunction(fn)


def is_awaitable(value: Any) -> bool:
    """``inspect.isawaitable(value)``."""
    if type(value) in _NEVER_AWAITABLE:
        return False
    import inspect

    return inspect.isawaitable(value)
