"""step.ai.infer served by Tornado, written for the official SDK (``inngest`` 0.5.19). The executor
makes the model request, to the OpenAI-shaped provider at TWO_SDKS_PROVIDER."""

from __future__ import annotations

import logging
import os
import typing

import inngest
import inngest.tornado
import tornado.web
from inngest.experimental.ai import openai

client = inngest.Inngest(app_id="two-sdks-tornado", is_production=False, logger=logging.getLogger("two_sdks"))


@client.create_function(fn_id="ask", trigger=inngest.TriggerEvent(event="two-sdks/ask"), retries=0)
def ask(ctx: inngest.ContextSync) -> dict[str, object]:
    question = ctx.event.data["q"]
    assert isinstance(question, str)
    adapter = openai.Adapter(auth_key="sk-two-sdks", model="gpt-test", base_url=os.environ["TWO_SDKS_PROVIDER"])
    reply: dict[str, typing.Any] = ctx.step.ai.infer(
        "ask", adapter=adapter, body={"messages": [{"role": "user", "content": question}]})
    answer = reply["choices"][0]["message"]["content"]
    checked = ctx.step.run("check", lambda: len(answer))
    return {"answer": answer, "length": checked}


app = tornado.web.Application()
inngest.tornado.serve(app, client, [ask])
