"""A simulated executor that plays one run against both SDKs in lockstep, and the
normalisation that makes their replies comparable.

Each call goes to both SDKs with the same body; the normalised replies must be
equal (or differ in a way the caller names), and the executor's next call is
computed from the lead SDK's reply by the tests' one oracle
(tests/support/oracle.py) as the server would: every memo shape, planning
after a parallel group (``disable_immediate_execution``), targeted calls by
``stepId``, retries with ``ctx.attempt`` / ``ctx.max_attempts``.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support import oracle
from tests.support.oracle import Answer, Memos, Resolver

from .drivers import Reply, Sdk, call_body

# What legitimately differs between two correct SDKs and is dropped before comparing:
# ``stack`` (SDK frames), the error ``code`` (Python-only), ``opts.type`` (a UI hint),
# ``parallelMode: "wait"`` (the default), ``userland.index`` of 0/None (the same step),
# and ``data: null`` on ops that carry none.
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds_until(value: str, now: float) -> float:
    """Seconds from ``now`` to a wire time: a duration string (``90s``) or an RFC 3339 date."""
    if len(value) >= 10 and value[:4].isdigit() and value[4] == "-":
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return when.timestamp() - now
    if value.strip().isdigit():  # a Retry-After header in whole seconds
        return float(value)
    total, pos = 0.0, 0
    for m in _DURATION.finditer(value):
        assert m.start() == pos, f"not a duration: {value!r}"
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    assert pos == len(value) and value, f"not a duration: {value!r}"
    return total


def error_core(err: Any) -> dict[str, Any]:
    """What the server and its conformance runner read of an error object."""
    assert isinstance(err, dict), err
    return {"name": err.get("name"), "message": err.get("message")}


def norm_op(op: dict[str, Any], now: float) -> dict[str, Any]:
    """One op reduced to what the server reads of it, with derived values in
    the same form for both SDKs."""
    kind = op["op"]
    opts = {k: v for k, v in (op.get("opts") or {}).items() if v is not None}
    out: dict[str, Any] = {"op": kind, "id": op["id"], "displayName": op.get("displayName") or op.get("name")}
    userland = op.get("userland") or {}
    out["userland"] = {"id": userland.get("id"), "index": userland.get("index") or 0}
    if kind == "Sleep":
        # The wake time: opts.duration, or the date in ``name`` when opts are empty.
        out["sleep_s"] = seconds_until(opts.get("duration") or op["name"], now)
        return out
    if kind == "WaitForEvent":
        # The awaited event: opts.event, falling back to ``name``.
        out["event"] = opts.pop("event", None) or op["name"]
        out["timeout_s"] = seconds_until(opts.pop("timeout"), now)
        out["opts"] = opts
        return out
    out["name"] = op.get("name")
    if kind == "InvokeFunction":
        payload = {k: v for k, v in (opts.get("payload") or {}).items() if v is not None}
        out["opts"] = {**opts, "payload": payload}
        if "timeout" in opts:
            out["opts"]["timeout"] = seconds_until(opts["timeout"], now)
    elif kind in ("StepRun",):
        out["data"] = op.get("data")
    elif kind in ("StepError", "StepFailed"):
        out["error"] = error_core(op.get("error"))
    elif kind == "StepPlanned":
        mode = opts.get("parallelMode")
        if mode not in (None, "wait"):
            out["parallelMode"] = mode
    return out


@dataclass
class Seen:
    """One reply, normalised: how the server will treat it, and what it carries."""

    status: int
    outcome: str  # "done" | "ops" | "retry" | "fail"
    body: Any
    retry_after_s: float | None = None

    @classmethod
    def of(cls, reply: Reply, now: float) -> Seen:
        no_retry = (reply.header("x-inngest-no-retry") or "").lower() == "true"
        retry_after = reply.header("retry-after")
        after = seconds_until(retry_after, now) if retry_after else None
        if reply.status == 200:
            return cls(200, "done", reply.json())
        if reply.status == 206:
            ops = reply.json()
            ops = ops if isinstance(ops, list) else [ops]
            return cls(206, "ops", {"ops": [norm_op(o, now) for o in ops], "no_retry": no_retry}, after)
        body = reply.json()
        return cls(reply.status, "fail" if no_retry else "retry", error_core(body) if isinstance(body, dict) else body,
                   after)

    def comparable(self) -> dict[str, Any]:
        """Everything but the approximate times, which :func:`same` compares with a tolerance."""
        return {"status": self.status, "outcome": self.outcome, "body": _strip_times(self.body)}


def _strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if not k.endswith("_s")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _times(value: Any, path: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if k.endswith("_s") and isinstance(v, (int, float)):
                out[f"{path}.{k}"] = float(v)
            else:
                out.update(_times(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(_times(v, f"{path}[{i}]"))
    return out


def same(a: Seen, b: Seen, *, tolerance_s: float = 5.0) -> bool:
    """Equal, with times (sleeps, timeouts, Retry-After) equal to within ``tolerance_s``
    (one SDK sends a duration, the other a date computed from the clock)."""
    if a.comparable() != b.comparable():
        return False
    ta, tb = _times(a.body), _times(b.body)
    if ta.keys() != tb.keys():
        return False
    if (a.retry_after_s is None) != (b.retry_after_s is None):
        return False
    if a.retry_after_s is not None and b.retry_after_s is not None and abs(a.retry_after_s - b.retry_after_s) > tolerance_s:
        return False
    return all(abs(ta[k] - tb[k]) <= tolerance_s for k in ta)


# -- the executor ------------------------------------------------------------------------------


@dataclass
class Turn:
    step: str  # "step" or the targeted hash
    attempt: int
    disable: bool
    seen: dict[str, Seen]  # by SDK name


@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    result: Any = None
    outcome: str = ""  # "completed" | "failed"
    steps: dict[str, Any] = field(default_factory=dict)


class Mismatch(AssertionError):
    pass


def play(sdks: list[Sdk], fn_id: str, *, max_attempts: int = 5, resolve: Resolver | None = None,
         event: dict[str, Any] | None = None, allow: Callable[[Turn], bool] | None = None,
         lead: int = 0, limit: int = 40) -> Run:
    """Run ``fn_id`` to its end on every SDK in lockstep, with the oracle (tests/support/oracle.py).

    Every call's normalised replies must agree, unless ``allow(turn)`` accepts the
    turn as a documented difference; the oracle follows ``sdks[lead]``'s reply.
    """
    run = Run()
    memos = Memos(max_attempts=max_attempts)
    run.steps = memos.steps

    def send(memos: Memos) -> Answer:
        target, attempt, disable = memos.target, memos.attempt, memos.disable
        body = call_body(dict(memos.steps), event=event, attempt=attempt, max_attempts=max_attempts, disable=disable)
        now = time.time()
        replies = {s.name: s.call(fn_id, body, step=target) for s in sdks}
        seen = {name: Seen.of(r, now) for name, r in replies.items()}
        turn = Turn(target, attempt, disable, seen)
        run.turns.append(turn)
        first, *others = list(seen.values())
        if not all(same(first, o) for o in others) and not (allow and allow(turn)):
            raise Mismatch(f"{fn_id}: replies differ at call {len(run.turns)} (stepId={target}, attempt={attempt}, "
                           f"disable={disable}):\n" + "\n".join(f"  {n}: {s}" for n, s in seen.items()))
        reply, raw = seen[sdks[lead].name], replies[sdks[lead].name]
        no_retry = reply.outcome == "fail" or (reply.outcome == "ops" and reply.body["no_retry"])
        # The run's result is the normalised reply: the value itself, or an error's name and message.
        return Answer(raw.status, raw.json() if reply.outcome == "ops" else reply.body, no_retry)

    outcome = oracle.play(send, memos, resolve=resolve, limit=limit, name=fn_id)
    run.result, run.outcome = outcome.output, outcome.status
    return run
