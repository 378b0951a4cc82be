"""What serializer= and StepMemos refuse."""

from __future__ import annotations

from typing import Any

import inngest_serverless
from inngest_serverless import Function, MiddlewareSync, StepMemos


class OnlyOneWay:
    def serialize(self, obj: object, typ: object) -> object:
        return obj


inngest_serverless.Inngest(app_id="half", serializer=OnlyOneWay())  # E: arg-type: Argument "serializer" to "Inngest"


class AsADict(MiddlewareSync):
    def transform_input(self, ctx: inngest_serverless.ContextSync | inngest_serverless.Context,
                        function: Function[Any], steps: StepMemos) -> None:
        steps["0" * 40] = {"data": 1}  # E: index: Unsupported target for indexed assignment
