"""Mocked steps and mocked invoked functions.

A mocked step is still a real step: it is reported, memoized, retried and timed by the executor
like any other; only its body is replaced. The function's context gets a step API whose ``run``
swaps the body of a mocked step ID before handing the call to the real one, so replay, hashing
and the wire stay the SDK's own.

A function outside the app that a run invokes is served by a stand-in app the engine registers
with the executor (``MOCK_APP_URL``): the executor runs the invoke as it runs any other, and the
stand-in answers its call with the mocked result.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from inngest_serverless.core import serialize
from inngest_serverless.core.errors import error_object
from inngest_serverless.core.http import sdk_headers
from inngest_serverless.core.wire import Header, Query

MOCK_APP_URL = "http://mocked-functions.invalid/api/inngest"
MOCK_APP_ID = "mocked-functions"


class MockedStepError(Exception):
    """What a step mocked with ``fail_times`` (and no ``error``) raises on each failing attempt."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclasses.dataclass
class Mock:
    """One mock's answer: a value, an error, or a callable; failing first ``fail_times`` times."""

    value: Any = UNSET
    error: BaseException | type[BaseException] | None = None
    fn: Callable[..., Any] | None = None
    fail_times: int = 0
    calls: dict[str, int] = dataclasses.field(default_factory=dict)  # per run ID: a retry counts per run

    def __post_init__(self) -> None:
        given = sum(1 for x in (self.value is not UNSET, self.fn is not None) if x)
        if given > 1:
            raise ValueError("mock with value= or fn=, not both")
        if self.fail_times < 0:
            raise ValueError("fail_times must be 0 or more")
        if self.error is not None and not (
            isinstance(self.error, BaseException) or (isinstance(self.error, type) and issubclass(self.error, BaseException))
        ):
            raise TypeError(f"error= must be an exception or an exception class, not {self.error!r}")

    def _raise(self, attempt: int) -> None:
        if self.error is None:
            raise MockedStepError(f"mocked failure {attempt} of {self.fail_times}")
        raise self.error

    def answer(
        self, run_id: str, real: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
    ) -> Any:
        """What this mock's step body (or invoked function) returns on this attempt, or raises."""
        attempt = self.calls[run_id] = self.calls.get(run_id, 0) + 1
        failing = attempt <= self.fail_times or (self.error is not None and self.fail_times == 0)
        if failing:
            self._raise(attempt)
        kwargs = kwargs or {}
        if self.fn is not None:
            return self.fn(*args, **kwargs)
        if self.value is not UNSET:
            return self.value
        if real is None:  # an invoked function with fail_times only: it succeeds with no output
            return None
        return real(*args, **kwargs)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class Mocks:
    """The engine's step and invoke mocks, keyed by step ID (optionally per function) and function ID."""

    def __init__(self) -> None:
        self.steps: dict[tuple[str | None, str], Mock] = {}
        self.invokes: dict[str, Mock] = {}

    def step(self, function_id: str, step_id: str) -> Mock | None:
        return self.steps.get((function_id, step_id)) or self.steps.get((None, step_id))

    # -- steps --------------------------------------------------------------------------

    def wrap_context(self, ctx: Any, function_id: str) -> Any:
        """``ctx`` with a step API that swaps mocked bodies in (``ctx`` itself when nothing is mocked)."""
        if not self.steps:
            return ctx
        step = _MockedStep(ctx.step, self, function_id, ctx.run_id)
        return ctx.replace(step=step)  # the context's group is rebuilt on the new step

    def body(self, function_id: str, run_id: str, step_id: str, real: Callable[..., Any]) -> Callable[..., Any]:
        mock = self.step(function_id, step_id)
        if mock is None:
            return real

        @functools.wraps(real)
        def mocked(*args: Any, **kwargs: Any) -> Any:
            return mock.answer(run_id, real, args, kwargs)

        return mocked

    # -- invoked functions --------------------------------------------------------------

    def invoke_reply(self, url: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        """The stand-in app's answer to a call of a mocked function: (status, headers, body)."""
        query = dict(parse_qsl(urlsplit(url).query))
        mock = self.invokes.get(query.get(Query.FN_ID, ""))
        call = json.loads(body or b"{}")
        ctx = call.get("ctx") or {}
        data = dict((call.get("event") or {}).get("data") or {})
        data.pop("_inngest", None)
        headers = sdk_headers()
        try:
            if mock is None:
                raise LookupError(f"function {query.get(Query.FN_ID)!r} is not mocked")
            value = mock.answer(str(ctx.get("run_id") or ""), None, (data,))
            raw = serialize.dumps(value)
        except Exception as exc:
            final = not (mock is not None and mock.calls.get(str(ctx.get("run_id") or ""), 0) <= mock.fail_times)
            headers[Header.NO_RETRY] = "true" if final else "false"
            return (400 if final else 500), headers, serialize.dumps(error_object(exc))
        headers[Header.NO_RETRY] = "false"
        return 200, headers, raw

    @staticmethod
    def register_payload(function_ids: list[str]) -> dict[str, Any]:
        """The stand-in app's sync: one function per mocked ID, triggered by nothing else than invokes."""
        functions = []
        for fn_id in function_ids:
            url = f"{MOCK_APP_URL}?{Query.FN_ID}={fn_id}&{Query.STEP_ID}=step"
            functions.append(
                {
                    "id": fn_id,
                    "name": fn_id,
                    "triggers": [{"event": f"{MOCK_APP_ID}/{fn_id}.invoked-only"}],
                    "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": url}}},
                }
            )
        return {"appName": MOCK_APP_ID, "url": MOCK_APP_URL, "functions": functions}


class _MockedStep:
    """The real step API, with ``run`` bodies swapped for the mocked step IDs."""

    def __init__(self, step: Any, mocks: Mocks, function_id: str, run_id: str) -> None:
        self._step = step
        self._mocks = mocks
        self._function_id = function_id
        self._run_id = run_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._step, name)

    def run(
        self, step_id: str, handler: Callable[..., Any], *handler_args: Any, output_type: Any = None, **handler_kwargs: Any
    ) -> Any:
        if output_type is None and callable(handler):
            output_type = serialize.output_type_of(handler)  # the swapped body has the real one's type
        body = self._mocks.body(self._function_id, self._run_id, step_id, handler) if callable(handler) else handler
        return self._step.run(step_id, body, *handler_args, output_type=output_type, **handler_kwargs)
