"""``python -m inngest_serverless.adapters.aws_lambda_streaming [module.client]`` (default: ``_HANDLER``)."""

import sys

from . import main

main(sys.argv[1:])
