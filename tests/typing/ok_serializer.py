"""Inngest(serializer=) takes PydanticSerializer or any object with serialize/deserialize, and
transform_input's StepMemos has the official SDK's methods."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import Function, MiddlewareSync, PydanticSerializer, Serializer, StepMemos


class Tagging:
    def serialize(self, obj: object, typ: object) -> object:
        return {"value": obj}

    def deserialize(self, obj: object, typ: object) -> object:
        return obj


pydantic_client = inngest_serverless.Inngest(app_id="typing", serializer=PydanticSerializer())
own = inngest_serverless.Inngest(app_id="typing", serializer=Tagging())
assert_type(own.serializer, Serializer | None)


class Opening(MiddlewareSync):
    def transform_input(self, ctx: inngest_serverless.ContextSync | inngest_serverless.Context,
                        function: Function[Any], steps: StepMemos) -> None:
        assert_type(steps.size, int)
        for memo in steps.values():
            if memo.error is None:
                memo.data = {"opened": memo.data}
            else:
                assert_type(memo.error.message, str)
        steps.pop("0" * 40)
