"""The Azure Functions app of the scenario suite: tests/hosts/app.py's client on one route."""

import azure.functions as func

from inngest_serverless.adapters.azure import azure_route
from tests.hosts.app import client

app = func.FunctionApp()
azure_route(app, client)
