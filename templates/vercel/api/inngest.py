"""Inngest on Vercel: this file is served at /api/inngest.

Deploy (see docs/deploy-vercel.md): build the wheel requirements.txt names until
inngest-serverless is on PyPI (``python -m pip wheel --no-deps --wheel-dir wheels ../..``),
then ``vercel deploy``, with the environment
variables INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY set in the project (the
Inngest Vercel integration sets them for you). Then sync
https://<your-app>.vercel.app/api/inngest.
"""

from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.vercel import vercel_wsgi_adapter

# Keys come from the environment: INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY (INNGEST_DEV=1 locally).
client = Inngest(app_id="my-vercel-app")


@client.create_function(fn_id="hello", trigger=TriggerEvent(event="app/hello"))
def hello(ctx: ContextSync) -> dict[str, Any]:
    greeting = ctx.step.run("greet", lambda: f"Hello, {ctx.event.data.get('name', 'world')}!")
    loud = ctx.step.run("shout", lambda: greeting.upper())
    return {"greeting": greeting, "loud": loud}


# Vercel's builder deploys a file as a function only if it defines `app` (or a `class handler`);
# its runtime then serves this WSGI app, flushing streamed chunks. The invocation deadline
# comes from the runtime (vercel.json's maxDuration sets it).
app = vercel_wsgi_adapter(client)
