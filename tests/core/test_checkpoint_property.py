"""Checkpointing never changes a run's outcome: any mix of steps, sleeps, a flaky step and failing posts
ends with the same result as without checkpointing, every finished step having run exactly once."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.core.checkpoint import Checkpoint
from tests.support import checkpoint_driver
from tests.support.checkpoint_driver import Run, attach, play
from tests.support.fake_api import FakeApi

api = checkpoint_driver.api

KINDS = st.sampled_from(["run", "run", "run", "sleep", "flaky"])


def build(client: Inngest, kinds: list[str], ran: Counter[str], checkpoint: Checkpoint | bool) -> None:
    @client.create_function(fn_id="mix", trigger=TriggerEvent(event="t/mix"), checkpoint=checkpoint)
    def fn(ctx: ContextSync) -> Any:
        total = 0
        for i, kind in enumerate(kinds):
            if kind == "sleep":
                ctx.step.sleep(f"nap{i}", datetime.timedelta(seconds=1))
                continue

            def body(i: int = i, kind: str = kind) -> int:
                ran.update([f"s{i}"])
                if kind == "flaky" and ran[f"s{i}"] == 1:
                    raise RuntimeError("first attempt fails")
                return i

            total += ctx.step.run(f"s{i}", body)
        return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(KINDS, min_size=1, max_size=8), failures=st.lists(st.booleans(), max_size=12),
       batch=st.integers(min_value=1, max_value=4))
def test_checkpointing_never_changes_the_outcome(api: FakeApi, kinds: list[str], failures: list[bool],
                                                 batch: int) -> None:
    expected = sum(i for i, kind in enumerate(kinds) if kind != "sleep")
    outcomes = {}
    for checkpoint in (False, Checkpoint(batch_steps=batch)):
        run = Run(fail_pattern=list(failures))
        attach(api, run)
        client = Inngest(app_id="prop", is_production=False, api_base_url=api.url)
        ran: Counter[str] = Counter()
        build(client, kinds, ran, checkpoint)
        assert play(Handler(client), "mix", run) == expected
        assert ran == Counter({f"s{i}": 2 if kind == "flaky" else 1 for i, kind in enumerate(kinds) if kind != "sleep"})
        outcomes[bool(checkpoint)] = run.invocations
    assert outcomes[True] <= outcomes[False]
