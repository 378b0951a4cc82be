"""What every starter in templates/ must do once its host serves it: sync and run its hello function."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.support.hosts.servers import REPO, Host
from tests.support.sim_executor import Call, SimExecutor

TEMPLATES: Path = REPO / "templates"
KEY = "signkey-test-5e6f708192a3b4c5d6e7f80912a3b4c5"
ENV = {"INNGEST_SIGNING_KEY": KEY}


# The starters' function: (slug, event, data, output, the ops of each call before the last).
HELLO = ("hello", "app/hello", {"name": "Ada"}, {"greeting": "Hello, Ada!", "loud": "HELLO, ADA!"},
         [["StepRun"], ["StepRun"]])


def assert_template_serves(host: Host, app_id: str) -> None:
    """Signed introspection, in-band sync, and the hello function run to completion."""
    assert_serves(host.call, host.url, app_id)


def assert_serves(call: Call, url: str, app_id: str,
                  run_spec: tuple[str, str, Mapping[str, Any], Any, list[list[str]]] = HELLO) -> None:
    """Through ``call``: signed introspection, in-band sync (PUT), and a multi-step run to completion."""
    slug, event, data, output, ops = run_spec
    sim = SimExecutor(call, url, app_id, KEY)
    assert sim.introspect(signed=True)["app_id"] == app_id
    payload = sim.sync()
    assert [f["id"] for f in payload["functions"]] == [f"{app_id}-{slug}"]
    assert payload["url"] == url
    run = sim.run(slug, event, data)
    assert (run.status, run.output) == ("completed", output)
    assert [[op["op"] for op in step] for step in run.ops] == ops


DOCS: Path = REPO / "docs"


def python_blocks(doc: str) -> list[str]:
    """The ```python blocks of docs/<doc>, in order."""
    import re

    text = (DOCS / doc).read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def run_blocks(doc: str, *, skip: tuple[str, ...] = ()) -> dict[str, object]:
    """Execute a guide's Python blocks in one namespace (blocks mentioning ``skip`` words are left out)."""
    namespace: dict[str, object] = {"__name__": f"docs_{doc.replace('-', '_').removesuffix('.md')}"}
    for block in python_blocks(doc):
        if not any(word in block for word in skip):
            exec(compile(block, f"docs/{doc}", "exec"), namespace)
    return namespace


STARTERS = {"gcf": "my-gcf-app", "azure311": "my-azure-app", "azure313": "my-azure-app", "vercel": "my-vercel-app"}


def start_template(name: str, env: dict[str, str]) -> AbstractContextManager[Host]:
    """Serve the starter for host ``name`` (a key of STARTERS) under that host's runtime."""
    import pytest

    from tests.support.hosts import servers

    if name == "azure313" and not servers.AZURE313_PYTHON.exists():
        pytest.skip("no Python 3.13 venv with azure-functions 2.x: run scripts/install-hosts.d/30-hosts.sh")
    if name == "vercel" and not servers.VERCEL_PYTHON.exists():
        pytest.skip("no Python 3.12 venv with vercel-runtime: run scripts/install-hosts.d/30-hosts.sh")
    if name == "gcf":
        return servers.gcf(env, source=TEMPLATES / "gcf" / "main.py", target="inngest")
    if name == "azure311":
        return servers.azure(env, app_dir=TEMPLATES / "azure")
    if name == "azure313":
        return servers.azure(env, python=servers.AZURE313_PYTHON, app_dir=TEMPLATES / "azure", name="azure313")
    return servers.vercel(env, entry=TEMPLATES / "vercel" / "api" / "inngest.py", module="api.inngest", variable="app")
