"""The dashboard's browser tests: a real ``inngest-serverless dev`` process, the shop app in its
own process, and Debian's headless Chromium driven by Playwright (never a downloaded browser:
scripts/install-hosts.d/50-browser.sh installs /usr/bin/chromium).

Screenshots of each page go to a temp dir, or to docs/images/ with ``DASHBOARD_SCREENSHOTS=docs``
(how the ones in docs/local-development.md were made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import ROOT, Client, app_process, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1000, "height": 700}
SHOP_FUNCTIONS = 7
UNREACHABLE = f"http://127.0.0.1:{free_port()}/api/inngest"


class Stack:
    def __init__(self, executor: ExecutorProcess, client: Client) -> None:
        self.executor, self.client = executor, client
        self.url = executor.url

    def send(self, name: str, data: dict[str, Any] | None = None) -> str:
        """Send an event through the event API, as an app would."""
        return self.client.send(name, data or {})


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with app_process("tests.dashboard.app", url) as app_url:
        # A second app URL where nothing listens: the apps page shows why it never synced.
        executor = ExecutorProcess(port, str(tmp_path_factory.mktemp("dashboard") / "dev.db"), [app_url, UNREACHABLE])
        try:
            executor.start()
            client = Client(url)
            client.wait_functions(SHOP_FUNCTIONS)
            yield Stack(executor, client)
        finally:
            executor.stop()


@pytest.fixture(scope="package")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (scripts/install-hosts.d/50-browser.sh installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a shared, slow machine: waits are for events, not timings

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            color_scheme="light",
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any, stack: Stack) -> Iterator[Any]:
    """A fresh tab; every request it makes is recorded, to show the page loads nothing from elsewhere."""
    tab = browser_context.new_page()
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    tab.set_viewport_size(VIEWPORT)
    try:
        yield tab
    finally:
        tab.close()
    foreign = [url for url in requested if not url.startswith(stack.url + "/")]
    assert not foreign, f"the page requested other origins: {foreign}"


@pytest.fixture(scope="package")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("DASHBOARD_SCREENSHOTS") == "docs":
        return Path(ROOT) / "docs" / "images"
    return tmp_path_factory.mktemp("screenshots")
