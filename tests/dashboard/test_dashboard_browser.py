"""The dashboard in headless Chromium, through the page only: the test sends events through the
event API as an app would, and everything else (finding a run, reading it, cancelling, rerunning,
invoking, sending an event) is done by clicking, typing and reading what the page shows.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .conftest import UNREACHABLE, Stack

XSS = '<img src=x onerror="window.__xss=1">'


def open_run_from_list(page: Any, stack: Stack, function: str, status: str | None = None) -> str:
    """On the runs page, filter by function (and status) with the form, open the newest run."""
    page.goto(f"{stack.url}/ui/runs")
    page.get_by_label("Function").select_option(function)
    if status:
        page.get_by_label("Status").select_option(status)
    link = page.locator("table.list tbody tr").first.locator("a").first
    expect(link).to_be_visible()
    run_id = link.inner_text().strip()
    link.click()
    expect(page).to_have_url(re.compile(f"/ui/runs/{run_id}$"))
    return run_id


def step(page: Any, name: str, kind: str | None = None) -> Any:
    selector = f'li.step[data-step="{name}"]' + (f'[data-kind="{kind}"]' if kind else "")
    return page.locator(selector)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def shoot(page: Any, screenshots: Path, name: str) -> None:
    path = screenshots / f"dashboard-{name}.png"
    page.screenshot(path=str(path))
    assert png_size(path) == (1000, 700)
    assert path.stat().st_size < 400_000


def no_injected_markup(page: Any) -> None:
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_a_run_shows_each_steps_output_the_failed_attempt_and_its_retry(page: Any, stack: Stack, screenshots: Path) -> None:
    stack.send("shop/order.placed", {"order": "ord-100", "customer": "c1", "note": XSS})
    run_id = open_run_from_list(page, stack, "shop-order-flow")
    expect(page.locator("h1 .badge")).to_have_text("Completed")  # live: it may still be running when opened
    reserve = step(page, "reserve stock", "StepRun")
    expect(reserve.locator("pre.json")).to_contain_text('"order": "ord-100"')
    failed = step(page, "charge card", "StepError")
    expect(failed).to_contain_text("RuntimeError: card processor timed out")
    expect(failed.locator("pre.stack")).to_contain_text("Traceback")
    retried = step(page, "charge card", "StepRun")
    expect(retried).to_contain_text("attempt 2")
    expect(retried.locator("pre.json")).to_contain_text('"charged": 42.5')
    # Event data is user input: shown as text, never as markup.
    expect(retried.locator("pre.json")).to_contain_text(XSS.replace('"', '\\"'))
    no_injected_markup(page)
    # Bars are drawn to scale: the retried step starts after the failed one, at least 0.2 s in.
    left_failed = failed.locator(".bar").evaluate("el => el.getBoundingClientRect().left")
    left_retried = retried.locator(".bar").evaluate("el => el.getBoundingClientRect().left")
    assert left_retried > left_failed
    expect(page.get_by_role("heading", name="Output")).to_be_visible()
    expect(page.get_by_role("link", name="shop/order.placed")).to_be_visible()
    assert run_id in page.inner_text("main")
    page.get_by_role("heading", name="Timeline").evaluate("el => el.scrollIntoView()")  # the picture shows the steps
    shoot(page, screenshots, "run")


def test_a_retry_due_later_shows_when(page: Any, stack: Stack) -> None:
    stack.send("shop/retry-later", {})
    open_run_from_list(page, stack, "shop-retry-later")
    box = page.get_by_role("group", name="Next retry")
    expect(box).to_contain_text("Attempt 1 failed: RetryAfterError: the bank is closed")
    expect(box).to_contain_text(re.compile(r"Attempt 2 is due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (59\.\d|60\.0)m\)"))


def test_cancel_a_sleeping_run(page: Any, stack: Stack) -> None:
    stack.send("shop/nap", {})
    open_run_from_list(page, stack, "shop-napper", "Running")
    nap = step(page, "nap", "Sleep")
    expect(nap).to_contain_text(re.compile(r"Sleeping until .*\(in (59\.\d|60\.0)m\)"))
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(step(page, "Cancelled")).to_contain_text("Reason: cancelled")


def test_a_wait_shows_its_event_and_when_it_times_out(page: Any, stack: Stack) -> None:
    stack.send("shop/wait", {})
    open_run_from_list(page, stack, "shop-waiter", "Running")
    wait = step(page, "wait for go", "WaitForEvent")
    expect(wait).to_contain_text("Waits for shop/go")
    expect(wait).to_contain_text(re.compile(r"Times out \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (1\d\d\.\dm|2\.0h)\)"))
    # The time filter: the run started within the last 15 minutes, and not before.
    page.get_by_role("navigation").get_by_role("link", name="Runs").click()
    page.get_by_label("Function").select_option("shop-waiter")
    page.get_by_label("Started").select_option("900")
    expect(page).to_have_url(re.compile(r"window=900"))
    expect(page.locator("table.list tbody tr").first).to_contain_text("shop-waiter")


def test_rerun_a_failed_run(page: Any, stack: Stack) -> None:
    stack.send("shop/flaky", {"order": "flaky-1"})
    failed_id = open_run_from_list(page, stack, "shop-flaky-once", "Failed")
    expect(page.get_by_role("group", name="Run failed")).to_contain_text("ValueError: warehouse offline for flaky-1")
    expect(page.get_by_role("group", name="Run failed").locator("pre.stack")).to_contain_text("in ship")
    page.get_by_role("button", name="Rerun").click()
    expect(page).not_to_have_url(re.compile(f"/ui/runs/{failed_id}$"))
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(page.locator("main")).to_contain_text('"shipped flaky-1"')
    page.get_by_role("link", name=failed_id).click()  # "Rerun of <id>"
    expect(page).to_have_url(re.compile(f"/ui/runs/{failed_id}$"))
    expect(page.locator("ul.links")).to_contain_text("Rerun as")


def test_invoke_opens_the_child_run_and_the_functions_page_invokes(page: Any, stack: Stack, screenshots: Path) -> None:
    stack.send("shop/invoke", {})
    open_run_from_list(page, stack, "shop-parent")
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    invoke = step(page, "call child", "InvokeFunction")
    invoke.get_by_role("link").click()
    expect(page.locator("ul.links")).to_contain_text("Invoked by run")
    expect(page.locator("main")).to_contain_text('"doubled": 42')

    page.get_by_role("navigation").get_by_role("link", name="Functions").click()
    card = page.locator("section.card", has=page.get_by_role("heading", name="child", exact=True))
    card.get_by_label("Invoke with data (JSON object)").fill('{"n": 5}')
    card.get_by_role("button", name="Invoke").click()
    expect(page).to_have_url(re.compile(r"/ui/runs/[0-9A-Z]{26}$"))
    expect(page.locator("main")).to_contain_text('"doubled": 10')

    page.get_by_role("navigation").get_by_role("link", name="Functions").click()
    flow = page.locator("section.card", has=page.get_by_role("heading", name="Order flow"))
    expect(flow).to_contain_text("event shop/order.placed")
    expect(flow).to_contain_text("concurrency")
    expect(flow).to_contain_text("throttle")
    card = page.locator("section.card", has=page.get_by_role("heading", name="child", exact=True))
    card.get_by_label("Invoke with data (JSON object)").fill("[1, 2")
    card.get_by_role("button", name="Invoke").click()
    expect(card.get_by_role("status")).to_contain_text("data is not JSON")
    shoot(page, screenshots, "functions")


def test_send_an_event_from_the_page_and_watch_its_run_appear(page: Any, stack: Stack, screenshots: Path) -> None:
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto(f"{stack.url}/ui/runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    page.get_by_text("Send event", exact=True).click()
    page.get_by_label("Event name").fill("shop/order.placed")
    page.get_by_label("Data (JSON object)").fill('{"order": "from-the-page", "customer": "c2"}')
    page.get_by_role("button", name="Send", exact=True).click()
    started = page.locator("#send-status").get_by_role("link", name="shop-order-flow")
    expect(started).to_be_visible()
    run_id = started.get_attribute("href").rsplit("/", 1)[1]
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Completed")  # Running first, then live to Completed
    assert len(loads) == 1, f"the page reloaded: {loads}"
    page.get_by_text("Send event", exact=True).click()  # close the form for the screenshot
    shoot(page, screenshots, "runs")

    # An event that starts nothing says why, and its hostile name stays text.
    page.get_by_role("navigation").get_by_role("link", name="Events").click()
    page.get_by_text("Send event", exact=True).click()
    page.get_by_label("Event name").fill(f"shop/{XSS}")
    page.get_by_label("Data (JSON object)").fill(json.dumps({"html": XSS}))
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#send-status")).to_contain_text("no run started")
    row = page.locator("table.list tbody tr").first
    expect(row).to_contain_text(f"no run: no function is triggered by shop/{XSS}")
    no_injected_markup(page)
    row.get_by_role("link").first.click()
    expect(page.locator("main pre.json")).to_contain_text('"html": "<img src=x onerror=\\"window.__xss=1\\">"')
    no_injected_markup(page)
    page.get_by_role("navigation").get_by_role("link", name="Events").click()
    page.get_by_text("Send event", exact=True).click()  # close the form for the screenshot
    shoot(page, screenshots, "events")
    assert len(loads) == 1


def test_apps_page_and_keyboard_and_narrow_window(page: Any, stack: Stack, screenshots: Path) -> None:
    page.goto(f"{stack.url}/")
    expect(page).to_have_url(re.compile("/ui/$"))
    # The keyboard reaches the skip link first, then the sections, with a visible focus ring.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(5):  # the brand, then Runs, Events, Functions, Apps
        page.keyboard.press("Tab")
    apps = page.get_by_role("navigation").get_by_role("link", name="Apps")
    expect(apps).to_be_focused()
    assert apps.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/ui/apps$"))
    expect(apps).to_have_attribute("aria-current", "page")
    row = page.locator("table.list tbody tr", has_text="shop")
    expect(row).to_contain_text("py:v")
    expect(row).to_contain_text("wsgi")
    expect(row).to_contain_text("ok")
    unreachable = page.locator("table.list tbody tr", has_text=UNREACHABLE)
    expect(unreachable).to_contain_text("not synced")
    expect(unreachable.locator(".sync-error")).to_contain_text("Unable to reach SDK URL")
    shoot(page, screenshots, "apps")

    # A phone-sized window: one column, nothing wider than the screen but the tables' own scroller.
    page.set_viewport_size({"width": 380, "height": 800})
    for path in ("/ui/runs", "/ui/functions"):
        page.goto(f"{stack.url}{path}")
        expect(page.locator("main .content > *").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    open_run_from_list(page, stack, "shop-order-flow", "Completed")
    expect(step(page, "charge card", "StepRun")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_unknown_run_and_page_say_so(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/ui/runs/01J00000000000000000000000")
    expect(page.locator("main")).to_contain_text("no run 01J00000000000000000000000")
    page.goto(f"{stack.url}/ui/nowhere")
    expect(page.locator("main")).to_contain_text("No such page")
    assert "Traceback" not in page.inner_text("body")


def test_the_demo_keeps_serving_its_run_for_the_dashboard(browser_context: Any) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.support.dev_apps.harness import ROOT

    demo = subprocess.Popen(
        [sys.executable, "-m", "inngest_serverless.cli", "demo", "--keep"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert demo.stdout is not None
        printed: list[str] = []
        for line in demo.stdout:
            printed.append(line)
            if "Ctrl-C stops them" in line:
                break
        run_page = next(line for line in printed if "the run in the dashboard: " in line).split(": ", 1)[1].strip()
        assert any(line.strip().endswith("/ui/") and "dashboard http://127.0.0.1:" in line for line in printed), printed
        page = browser_context.new_page()
        try:
            page.goto(run_page)
            expect(page.locator("h1 .badge")).to_have_text("Completed")
            expect(step(page, "wait for payment", "WaitForEvent")).to_contain_text("shop/payment.received")
            expect(step(page, "charge card", "StepError")).to_contain_text("card processor timed out")
        finally:
            page.close()
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=20) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
