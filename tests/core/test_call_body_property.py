"""Any call body an executor builds with core's model parses back to itself (hypothesis; apart from
tests/core/test_call_body.py, which runs on every supported Python without test extras)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from inngest_serverless.core.call_body import CallBody, CallContext

_json = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=8)
_events = st.fixed_dictionaries({"name": st.text(min_size=1, max_size=10), "data": st.dictionaries(st.text(max_size=5),
                                                                                              _json, max_size=3)})
_maybe_text = st.none() | st.text(max_size=12)
_contexts = st.builds(
    CallContext, run_id=st.text(max_size=30), attempt=st.integers(0, 100), max_attempts=st.none() | st.integers(0, 100),
    fn_id=_maybe_text, env=st.text(max_size=8), step_id=_maybe_text,
    stack=st.lists(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40), max_size=4),
    stack_current=st.integers(0, 4), qi_id=_maybe_text, request_id=_maybe_text, job_id=_maybe_text,
    generation_id=st.none() | st.integers(0, 10), disable_immediate_execution=st.booleans(), use_api=st.booleans())
_bodies = st.builds(CallBody, event=_events, ctx=_contexts, events=st.lists(_events, min_size=1, max_size=3),
                    steps=st.dictionaries(st.text(max_size=40), st.fixed_dictionaries({"data": _json}), max_size=4),
                    version=st.none() | st.integers(0, 3), use_api=st.booleans())


@given(_bodies)
def test_any_body_an_executor_builds_parses_back_to_itself(body: CallBody) -> None:
    assert CallBody.parse(json.dumps(body.to_wire()).encode()) == body
