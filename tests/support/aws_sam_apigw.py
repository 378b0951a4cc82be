"""Serve a SAM template's API routes with SAM CLI's own API Gateway emulator, in-process.

Run with the Python of the SAM CLI venv (.cache/aws/sam-venv):

    python tests/support/aws_sam_apigw.py TEMPLATE PORT INVOKE_URL

``sam local start-api`` would run the function in Docker; here SAM's
``LocalApigwService`` (routes read from the template by SAM's ``ApiProvider``,
events built by SAM's event constructor, replies parsed by SAM) hands each
event to the Runtime Interface Emulator at INVOKE_URL instead, which runs the
handler under awslambdaric. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any


class EmulatorRunner:
    """The one part of SAM's LocalLambdaRunner the API service uses, backed by the emulator."""

    def __init__(self, invoke_url: str) -> None:
        self.invoke_url = invoke_url

    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, stdout: Any = None, stderr: Any = None,
               **_: Any) -> None:
        req = urllib.request.Request(self.invoke_url, data=event.encode(), method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            stdout.write_str(resp.read().decode())


def main(template: str, port: int, invoke_url: str) -> None:
    from samcli.lib.providers.api_provider import ApiProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    stacks, _ = SamLocalStackProvider.get_stacks(template)
    api = ApiProvider(stacks, cwd=str(Path(template).parent)).api
    for route in api.routes:
        print("route", route.event_type, sorted(route.methods)[:2], route.path, flush=True)
    service = LocalApigwService(api=api, lambda_runner=EmulatorRunner(invoke_url),  # type: ignore[arg-type]
                                port=port, host="127.0.0.1")
    service.create()
    service.run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
