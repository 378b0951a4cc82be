"""The Azure Functions app of the scenario suite: an app module's client on one route.

The module is tests/support/hosts/app.py unless TEST_HOST_APP names another (servers.start sets it).
"""

import importlib
import os

import azure.functions as func

from inngest_serverless.adapters.azure import azure_adapter

client = importlib.import_module(os.environ.get("TEST_HOST_APP", "tests.support.hosts.app")).client

app = func.FunctionApp()
azure_adapter(app, client)
