"""The app every host serves in the scenario suite: one client, the standard functions, one entry per host.

Configured by the environment the harness gives the host process:
INNGEST_SIGNING_KEY (cloud mode, signed calls) and INNGEST_API_BASE_URL (the
loopback fake API that records register POSTs).
"""

from __future__ import annotations

import os

from inngest_serverless import Inngest
from inngest_serverless.adapters.asgi import asgi_adapter
from inngest_serverless.adapters.gcp import gcf_adapter
from inngest_serverless.adapters.vercel import vercel_adapter
from inngest_serverless.adapters.wsgi import wsgi_adapter
from tests.support.hosts import APP_ID
from tests.support.standard_functions import add_standard_functions

client = Inngest(app_id=APP_ID, is_production=True, signing_key=os.environ.get("INNGEST_SIGNING_KEY"))
add_standard_functions(client)

asgi = asgi_adapter(client)  # uvicorn tests.support.hosts.app:asgi
wsgi = wsgi_adapter(client)  # gunicorn tests.support.hosts.app:wsgi
gcf = gcf_adapter(client)  # functions-framework --target=gcf --source=tests/support/hosts/app.py
handler = vercel_adapter(client)  # vercel-runtime's vc_init, variable "handler"
