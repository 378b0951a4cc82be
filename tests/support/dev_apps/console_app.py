"""An app whose runs fail, served the way a user serves one with nothing installed:
``LocalServer(wsgi_adapter(client), port=PORT).serve_forever()`` (it prints ``listening on ...``).

Usage: python -m tests.support.dev_apps.console_app PORT EXECUTOR_URL
"""

from __future__ import annotations

import datetime
import sys

import inngest_serverless as sdk
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter

# Longer than 80 columns, so that a cut at 80 would show.
LONG_MESSAGE = "the card processor timed out after 30 s while talking to " + "gateway-" * 12 + "end"


def charge(order: str) -> dict[str, str]:
    raise sdk.RetryAfterError(f"{order}: {LONG_MESSAGE}", datetime.timedelta(hours=1))


def refuse(order: str) -> None:
    raise sdk.NonRetriableError(f"{order}: card declined")


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    client = sdk.Inngest(app_id="console-app", is_production=False, api_base_url=executor, event_api_base_url=executor)

    @client.create_function(fn_id="retries-later", trigger=sdk.TriggerEvent(event="console/retry"))
    def retries_later(ctx: sdk.ContextSync) -> None:
        ctx.step.run("charge card", charge, ctx.event.data["order"])

    @client.create_function(fn_id="fails-for-good", trigger=sdk.TriggerEvent(event="console/fail"), retries=0)
    def fails_for_good(ctx: sdk.ContextSync) -> None:
        ctx.step.run("charge card", refuse, ctx.event.data["order"])

    LocalServer(wsgi_adapter(client), port=port).serve_forever()


if __name__ == "__main__":
    main()
