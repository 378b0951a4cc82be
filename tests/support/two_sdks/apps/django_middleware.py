"""A sync middleware on the client and one on a function, and a pydantic serializer, served by
Django, written for the official SDK (``inngest`` 0.5.19). Its URLconf is this module."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

import inngest
import inngest.django
import pydantic

log = logging.getLogger("two_sdks")


class Envelope(inngest.MiddlewareSync):
    """Wraps the outputs of the steps it knows on their way out, as an encrypting middleware would,
    and unwraps their memos on the way in (through StepMemos), so the function sees plain values."""

    def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if result.step is not None and result.step.id in ("first", "second") and result.has_output():
            result.output = {"sealed": result.output}

    def transform_input(self, ctx: inngest.Context | inngest.ContextSync, function: inngest.Function[object],
                        steps: inngest.StepMemos) -> None:
        log.info("envelope: transform_input for %s with %d memos", function.id, steps.size)
        for memo in steps.values():
            if isinstance(memo.data, dict) and set(memo.data) == {"sealed"}:
                memo.data = memo.data["sealed"]

    def before_execution(self) -> None:
        log.info("envelope: before_execution")


class Line(pydantic.BaseModel):
    sku: str
    price: Decimal
    at: datetime.datetime


def priced() -> list[Line]:
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    return [Line(sku="a", price=Decimal("1.25"), at=at), Line(sku="b", price=Decimal("2.50"), at=at)]


class Audit(inngest.MiddlewareSync):
    def before_send_events(self, events: list[inngest.Event]) -> None:
        for event in events:
            event.data = {**event.data, "audited": True}

    def after_send_events(self, result: inngest.SendEventsResult) -> None:
        log.info("audit: sent %d", len(result.ids))


client = inngest.Inngest(app_id="two-sdks-django", is_production=False, logger=log, middleware=[Audit],
                         request_timeout=30_000, serializer=inngest.PydanticSerializer())


@client.create_function(fn_id="enveloped", trigger=inngest.TriggerEvent(event="two-sdks/enveloped"), retries=0,
                        middleware=[Envelope])
def enveloped(ctx: inngest.ContextSync) -> dict[str, object]:
    first = ctx.step.run("first", lambda: 20)
    log.info("enveloped: first is %s", first)  # after before_execution when "first" is the last memo met
    second = ctx.step.run("second", lambda: {"n": 22})
    # The serializer's: pydantic's JSON on the wire, a list of Line again in the code.
    lines = ctx.step.run("lines", priced, output_type=list[Line])
    total = sum((line.price for line in lines), Decimal(0))
    ids = ctx.step.send_event("notify", inngest.Event(name="two-sdks/audited", data={"from": "enveloped"}))
    direct = ctx.step.run("direct", lambda: client.send_sync(inngest.Event(name="two-sdks/audited", data={"from": "direct"}),
                                                             skip_middleware=True))
    return {"first": first, "second": second, "sent": ids, "direct": direct, "total": str(total),
            "at": lines[0].at.isoformat()}


@client.create_function(fn_id="audited", trigger=inngest.TriggerEvent(event="two-sdks/audited"), retries=0)
def audited(ctx: inngest.ContextSync) -> dict[str, object]:
    return {"data": dict(ctx.event.data)}


urlpatterns = [inngest.django.serve(client, [enveloped, audited])]
