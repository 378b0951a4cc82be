"""What the app modules of tests/support/two_sdks/apps/ end with, wherever they run: served under
either SDK on an executor (tests/protocol/test_two_sdks.py), or in the test engine
(tests/testing/test_official_apps.py). One table, so the two tests cannot drift apart."""

from __future__ import annotations

from typing import Any


def completed(output: Any) -> dict[str, Any]:
    """A run's outcome as the tests compare it: status, output, error (name and message)."""
    return {"status": "Completed", "output": output, "error": None}


# ------------------------------------------------------------------ flask_sync: sync functions
FLASK_APPROVAL = ("two-sdks/approved", {"total": 5, "by": "ada"})
FLASK_STEPS = {"total": 5, "sent": 1, "invoked": {"doubled": 10}, "missed": None,
               "approved": {"total": 5, "by": "ada"}, "parallel": ["L", "R"]}
FLASK_FIRST_STEPS = ["add", "nap", "wake-at"]
FLASK_FAILS = {"name": "NonRetriableError", "message": "the order is gone"}
FLASK_RETRIED = {"attempt": 1}  # RetryAfterError on attempt 0, its result on attempt 1
FLASK_LOG = ["steps: start", "steps: total is 5", "steps: done"]  # once each, over the run's many calls

# ------------------------------------------------------------------ fast_api_async: async functions
FASTAPI_APPROVAL = ("two-sdks/async-approved", {"total": 5})
# "sent" and "direct" are the events' IDs on the wire: here, the outcomes of the runs they started.
FASTAPI_STEPS = {
    "total": 5, "invoked": {"doubled": 10, "stamped_event": None, "stamped": True}, "missed": None,
    "approved": {"total": 5}, "parallel": [2, 4], "stamped": True,
    "sent": [completed({"total": 5, "stamped": True})],
    "direct": [completed({"direct": True, "stamped": True})],
}
FASTAPI_FIRST_STEPS = ["add", "nap", "until", "announce"]
FASTAPI_RACE = {"winner": "fast", "stamped": True}
FASTAPI_LOG = [
    "steps: start", "steps: total is 5",
    # the invoked child's async middleware: before_execution at the start of its first call,
    # and in its second as the memoized "double" is met, before the code after it runs
    "child: before_execution", "child: before_execution", "child: doubled is 10",
    "steps: done", "race: won by fast"]

# ------------------------------------------------------------------ tornado_ai: step.ai.infer
AI_QUESTION = {"q": "durable"}
AI_ANSWER = {"answer": "elbarud", "length": 7}  # the fake provider answers with the question reversed
AI_AUTHORIZATION = "Bearer sk-two-sdks"
AI_REQUEST = {"messages": [{"role": "user", "content": "durable"}], "model": "gpt-test"}

# ------------------------------------------------------------------ django_middleware: middleware, serializer
DJANGO_ENVELOPED = {
    "first": 20, "second": {"n": 22},  # sealed on the wire, opened through StepMemos
    "sent": [completed({"data": {"from": "enveloped", "audited": True}})],
    "direct": [completed({"data": {"from": "direct"}})],
    "total": "3.75", "at": "2026-01-02T03:04:05+00:00",  # PydanticSerializer: list[Line] back from JSON
}
# before_execution: at the start of the first call, then as each call meets its last memoized step
# (before the code after "first" runs in the second call, after it in the third).
_TI = "envelope: transform_input for two-sdks-django-enveloped with %d memos"
DJANGO_LOG_START = [
    _TI % 0, "envelope: before_execution",
    _TI % 1, "envelope: before_execution", "enveloped: first is 20",
    _TI % 2, "enveloped: first is 20", "envelope: before_execution"]
