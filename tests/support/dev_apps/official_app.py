"""The scenario suite served by the official Python SDK (PyPI ``inngest``) through Flask.

Usage: python -m tests.support.dev_apps.official_app PORT EXECUTOR_URL
"""

from __future__ import annotations

import logging
import os
import sys

import flask
import inngest
import inngest.flask
from werkzeug.serving import make_server

from tests.support.dev_apps import suite


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    os.environ["INNGEST_DEV"] = executor
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    client = inngest.Inngest(app_id="dev-suite", is_production=False, api_base_url=executor, event_api_base_url=executor)
    app = flask.Flask(__name__)
    inngest.flask.serve(app, client, suite.build(inngest, client))

    @app.get("/stats")
    def stats() -> object:
        return flask.jsonify(suite.RECORD)

    server = make_server("127.0.0.1", port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
