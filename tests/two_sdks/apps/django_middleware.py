"""A sync middleware on the client and one on a function, served by Django, written for the
official SDK (``inngest`` 0.5.19). Its URLconf is this module."""

from __future__ import annotations

import logging

import inngest
import inngest.django

log = logging.getLogger("two_sdks")


class Envelope(inngest.MiddlewareSync):
    """Wraps the outputs of the steps it knows on their way out, as an encrypting middleware would;
    a memoized step comes back wrapped."""

    def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if result.step is not None and result.step.id in ("first", "second") and result.has_output():
            result.output = {"sealed": result.output}

    def transform_input(self, ctx: inngest.Context | inngest.ContextSync, function: inngest.Function[object],
                        steps: inngest.StepMemos) -> None:
        log.info("envelope: transform_input for %s", function.id)


class Audit(inngest.MiddlewareSync):
    def before_send_events(self, events: list[inngest.Event]) -> None:
        for event in events:
            event.data = {**event.data, "audited": True}

    def after_send_events(self, result: inngest.SendEventsResult) -> None:
        log.info("audit: sent %d", len(result.ids))


client = inngest.Inngest(app_id="two-sdks-django", is_production=False, logger=log, middleware=[Audit],
                         request_timeout=30_000)


@client.create_function(fn_id="enveloped", trigger=inngest.TriggerEvent(event="two-sdks/enveloped"), retries=0,
                        middleware=[Envelope])
def enveloped(ctx: inngest.ContextSync) -> dict[str, object]:
    first = ctx.step.run("first", lambda: 20)
    second = ctx.step.run("second", lambda: {"n": 22})
    ids = ctx.step.send_event("notify", inngest.Event(name="two-sdks/audited", data={"from": "enveloped"}))
    direct = ctx.step.run("direct", lambda: client.send_sync(inngest.Event(name="two-sdks/audited", data={"from": "direct"}),
                                                             skip_middleware=True))
    return {"first": first, "second": second, "sent": ids, "direct": direct}


@client.create_function(fn_id="audited", trigger=inngest.TriggerEvent(event="two-sdks/audited"), retries=0)
def audited(ctx: inngest.ContextSync) -> dict[str, object]:
    return {"data": dict(ctx.event.data)}


urlpatterns = [inngest.django.serve(client, [enveloped, audited])]
