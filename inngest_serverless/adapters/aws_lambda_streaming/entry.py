"""The streaming loop as a Lambda handler, for the managed ``python3.x`` runtimes.

``Handler: inngest_serverless.adapters.aws_lambda_streaming.entry.handler`` with
``INNGEST_LAMBDA_CLIENT=app.client`` (``module.attribute`` of the Inngest client to serve).

The managed runtime's client (``awslambdaric``) imports the handler's module before it
asks the Runtime API for the first invocation. Importing this module starts the streaming
loop right there, in the same process, and never returns: the loop, not ``awslambdaric``,
takes every invocation and streams every reply.

Why a handler rather than ``AWS_LAMBDA_EXEC_WRAPPER`` pointing at ``bootstrap``: Lambda runs
a wrapper only if the deployed file is executable, and that bit does not survive every
build (``sam build`` unpacks wheels without their file modes; zips made on Windows have
none), while an import needs no file mode. The price is the managed runtime's own start
before the loop's, which the wrapper skips.
"""

from __future__ import annotations

import os
from typing import NoReturn

from ...core.wire import Env
from . import main

__all__ = ["handler"]


def handler(event: object, context: object) -> NoReturn:
    """Named by the function's Handler setting; never called, since importing this module serves."""
    raise RuntimeError("the streaming loop serves this function: its handler is never called")


main([os.environ.get(Env.LAMBDA_CLIENT, "")])
