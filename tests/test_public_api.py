"""The public modules export exactly the names this table says, and every one of them imports.

One table to update when a public name is added, renamed or removed: a change to what users
import is then a decision someone wrote down. docs/architecture.md lists the same modules.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PUBLIC: dict[str, set[str]] = {
    "inngest_serverless": {
        "ApiError", "Batch", "Cancel", "Checkpoint", "Concurrency", "ConfigError", "Context", "ContextSync",
        "Debounce", "Event", "Function", "Handler", "Inngest", "InngestError", "JSON", "Middleware", "MiddlewareSync",
        "NonRetriableError", "ParallelMode", "Priority", "PydanticSerializer", "RateLimit", "Request", "Response",
        "RetryAfterError", "SendEventsError", "SendEventsResult", "Serializer", "Singleton", "Step", "StepError",
        "StepMemos", "StepSync", "Streaming", "Throttle", "Timeouts",
        "TransformOutputResult", "TransformOutputStepInfo", "TriggerCron", "TriggerEvent", "__version__", "slugify",
    },
    "inngest_serverless.adapters.aws_lambda": {
        "ACCEPTED", "AwsKeySource", "AwsKeys", "EventShape", "EventShapeError", "KeySourceError", "LambdaAdapter",
        "LambdaHandler", "PARAMETER_ENV", "SECRET_ENV", "SHAPES", "aws_keys", "lambda_adapter",
    },
    "inngest_serverless.adapters.aws_lambda_streaming": {
        "DELIMITER", "LambdaStreamingAdapter", "PRELUDE_CONTENT_TYPE", "RuntimeApi", "lambda_streaming_adapter", "main",
        "stream_body",
    },
    "inngest_serverless.adapters.gcp": {"GcfAdapter", "gcf_adapter"},
    "inngest_serverless.adapters.azure": {
        "AzureAdapter", "HTTP_TIMEOUT_SECONDS", "azure_adapter", "host_json_timeout",
    },
    "inngest_serverless.adapters.vercel": {
        "VercelASGIAdapter", "VercelAdapter", "VercelWSGIAdapter", "runtime_deadline", "vercel_adapter",
        "vercel_asgi_adapter", "vercel_wsgi_adapter",
    },
    "inngest_serverless.adapters.asgi": {"ASGIAdapter", "asgi_adapter"},
    "inngest_serverless.adapters.wsgi": {"LocalServer", "WSGIAdapter", "wsgi_adapter"},
    "inngest_serverless.flask": {"serve"},
    "inngest_serverless.fast_api": {"serve"},
    "inngest_serverless.django": {"serve"},
    "inngest_serverless.tornado": {"serve"},
    "inngest_serverless.signing": {"SignatureError", "hash_signing_key", "sign", "verify"},
    "inngest_serverless.ai": {"Adapter", "Anthropic", "DeepSeek", "Gemini", "Grok", "OpenAI"},
    "inngest_serverless.experimental.ai": {"BaseAdapter", "anthropic", "openai"},
    "inngest_serverless.experimental.ai.openai": {"Adapter"},
    "inngest_serverless.experimental.ai.anthropic": {"Adapter"},
    "inngest_serverless.experimental.ai.gemini": {"Adapter"},
    "inngest_serverless.experimental.ai.grok": {"Adapter"},
    "inngest_serverless.experimental.ai.deepseek": {"Adapter"},
    "inngest_serverless.cli": {"main"},
    "inngest_serverless.testing": {"EngineError", "Mock", "MockedStepError", "RunResult", "StepRecord", "TestEngine", "run"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_a_public_module_exports_exactly_the_pinned_names_and_each_imports(module: str) -> None:
    loaded = importlib.import_module(module)
    exported = getattr(loaded, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    assert len(exported) == len(set(exported)), f"{module}.__all__ repeats a name"
    assert set(exported) == PUBLIC[module], (
        f"{module}.__all__ changed: added {sorted(set(exported) - PUBLIC[module])}, "
        f"removed {sorted(PUBLIC[module] - set(exported))}; update PUBLIC in this file if that is meant"
    )
    namespace: dict[str, object] = {}
    exec(f"from {module} import *", namespace)  # the lazily loaded names (``__getattr__``) included
    missing = PUBLIC[module] - set(namespace)
    assert not missing, f"{module} lists names it cannot give: {sorted(missing)}"
    assert all(namespace[name] is not None for name in PUBLIC[module])


def test_no_public_name_is_private() -> None:
    private = {f"{module}.{name}" for module, names in PUBLIC.items() for name in names if name.startswith("_")}
    assert private == {"inngest_serverless.__version__"}


def test_the_architecture_doc_lists_the_same_public_modules() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## What is public", 1)[1].split("\n## ", 1)[0]
    table, internal = section.split("Everything else is internal", 1)
    assert set(re.findall(r"`(inngest_serverless[\w.]*)`", table)) == set(PUBLIC)
    for module in ("inngest_serverless.core", "inngest_serverless.dev"):
        assert f"`{module}`" in internal


@pytest.mark.parametrize("module", ["inngest_serverless.core", "inngest_serverless.dev"])
def test_internal_packages_say_so(module: str) -> None:
    doc = importlib.import_module(module).__doc__ or ""
    assert "Internal, with no stability promise" in doc and "docs/architecture.md" in doc
