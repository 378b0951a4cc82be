"""What the client, its functions, the step API and middleware need of one another, declared below them.

``Inngest`` (core/client.py) makes ``Function``\\ s (core/function.py), whose context
(core/context.py) holds the step API (core/steps.py), which invokes functions and sends events
through the client; middleware (core/middleware.py) is made by the client and handed it. Each of
those modules names the others' types only through this one, so that no import (not even a
``TYPE_CHECKING`` one) goes back up and ties them into a cycle:

* :class:`Invocable`: a function ``step.invoke`` starts, generic in what it returns;
* :class:`StepClient`: the client as the step API uses it;
* :class:`MiddlewareBase`: the base of both middleware classes, what the client's middleware
  factories make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from typing import Protocol

    from .serializer import Serializer

T_co = TypeVar("T_co", covariant=True)  # what a function returns: the type step.invoke gives back


class Invocable(Generic[T_co]):
    """A function that ``step.invoke`` can start; ``Function`` is the one kind.

    A base class rather than a Protocol: no member of a function has the type it returns (its
    handler is stored untyped), so only a declared base carries ``T`` from ``Function[T]`` to the
    step's result.
    """

    __slots__ = ()

    def composite_id(self, app_id: str) -> str:
        """The ID the server knows the function by in app ``app_id``."""
        raise NotImplementedError

    @property
    def output_type(self) -> Any:
        """``create_function(output_type=)``; None when not given."""
        raise NotImplementedError

    def output_model(self) -> Any:
        """The dataclass or pydantic model the function's result is read back as; None for plain JSON."""
        raise NotImplementedError


if TYPE_CHECKING:  # for type checkers only: a Protocol class costs start-up time to build

    class StepClient(Protocol):
        """The client (``Inngest``) as the step API uses it: invoke targets, outputs, ``step.send_event``."""

        @property
        def app_id(self) -> str: ...

        @property
        def serializer(self) -> Serializer | None: ...

        def send_sync(self, events: Any) -> list[str]: ...

        async def send(self, events: Any) -> list[str]: ...


class MiddlewareBase:
    """The base of ``MiddlewareSync`` and ``Middleware``: what a middleware factory makes."""

    __slots__ = ()
