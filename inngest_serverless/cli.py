"""The ``inngest-serverless`` command: run the local executor and look at its runs.

    inngest-serverless dev [-p 8288] [-u URL ...] [--db PATH]   start the executor
    inngest-serverless send NAME --data JSON                     send an event
    inngest-serverless runs                                      recent runs as a table
    inngest-serverless run ID                                    one run's timeline
    inngest-serverless cancel ID                                 cancel a run
    inngest-serverless demo                                      a durable order flow, end to end

Importing this module stays cheap: the executor is imported by the commands that need it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["main"]

DEFAULT_URL = "http://127.0.0.1:8288"


def _server_url(args: argparse.Namespace) -> str:
    """The executor's URL from ``--url``, ``$INNGEST_DEV`` or ``$INNGEST_BASE_URL``; one line and
    exit status 1 when it is not an http(s) URL."""
    dev = os.environ.get("INNGEST_DEV", "")
    if args.url:
        url, source = str(args.url), "--url"
    elif dev.startswith(("http://", "https://")):
        url, source = dev, "$INNGEST_DEV"
    else:
        url, source = os.environ.get("INNGEST_BASE_URL", DEFAULT_URL), "$INNGEST_BASE_URL"
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"error: {url} is not an http:// URL (from {source})")
    return url.rstrip("/")


# Said whenever --url leads to something other than an executor.
_POINT_AT_EXECUTOR = f"point --url at `inngest-serverless dev`, e.g. {DEFAULT_URL}"


class _Reply:
    """An HTTP answer: status, JSON body (None when empty or not JSON), and whether an
    inngest-serverless executor sent it (its replies carry ``X-Inngest-Server-Kind: dev``)."""

    def __init__(self, status: int, body: Any, from_executor: bool) -> None:
        self.status, self.body, self.from_executor = status, body, from_executor

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        said = (self.body.get("error") or self.body.get("message")) if isinstance(self.body, dict) else None
        return str(said or f"HTTP {self.status}")


def _request(method: str, url: str, body: Any = None) -> _Reply:
    """One request to the executor; a wrong or unreachable URL ends the command with one line."""
    import http.client
    import urllib.error
    import urllib.request

    from .core.wire import Header, ServerKind

    data = None if body is None else json.dumps(body).encode()
    try:
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    except ValueError:
        raise SystemExit(f"error: {_origin(url)} is not an http:// URL") from None
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SystemExit(f"error: cannot reach the executor at {_origin(url)}: {reason}") from None
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return _Reply(status, parsed, (headers.get(Header.SERVER_KIND) or "").lower() == ServerKind.DEV)


def _origin(url: str) -> str:
    return "/".join(url.split("/", 3)[:3])


def _executor(method: str, url: str, body: Any = None) -> _Reply:
    """A request that only an inngest-serverless executor answers; anything else ends the command."""
    reply = _request(method, url, body)
    if not reply.from_executor:
        raise SystemExit(
            f"error: {_origin(url)} is not an inngest-serverless executor (it answered HTTP {reply.status} "
            f"to {method} {url[len(_origin(url)) :]}); {_POINT_AT_EXECUTOR}"
        )
    return reply


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _missing_dev_libraries() -> str | None:
    """What the executor would miss at its first expression or cron trigger, as one line that fixes it;
    checked at start so that a run does not fail later for want of a library."""
    import importlib

    from .dev import expressions

    missing = []
    try:
        expressions.backend()
    except expressions.ExpressionError:
        missing.append("a CEL library (for expressions)")
    try:
        importlib.import_module("croniter")
    except ImportError:
        missing.append("croniter (for cron triggers)")
    if not missing:
        return None
    return f"error: the local executor needs {' and '.join(missing)}: {expressions.INSTALL_HINT}"


def cmd_dev(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from .dev.executor import Options
    from .dev.server import DevServer

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from .dev import console

    console.print_to(sys.stdout)  # what the executor says about apps, syncs and events, among the runs
    event_keys = tuple(args.event_key or ())
    options = Options(
        signing_key=args.signing_key or os.environ.get("INNGEST_SIGNING_KEY") or None,
        event_keys=event_keys,
        retry_interval=args.retry_interval,
        poll_interval=args.poll_interval,
        workers=args.workers,
    )
    import sqlite3

    missing = _missing_dev_libraries()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    try:
        server = DevServer(host=args.host, port=args.port, db=args.db, sdk_urls=args.sdk_url or [], options=options)
    except sqlite3.Error as exc:
        print(f"error: cannot open the database {args.db}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot start on {args.host}:{args.port} with database {args.db}: {exc}", file=sys.stderr)
        return 1
    colour = _colour()
    from .dev.timeline import paint

    # Before start(): the poller's first report about an app follows these lines.
    print(f"{paint('inngest-serverless dev', '1', colour)}  executor on {server.url}  (state: {args.db})", flush=True)
    from .dev.dashboard import home_url

    print(f"  dashboard {home_url(server.url)}", flush=True)
    for url in args.sdk_url or []:
        print(f"  polling app {url}", flush=True)
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _watch(server, stop, colour)
    server.stop()
    print("  stopped", flush=True)
    return 0


def _watch(server: Any, stop: Any, colour: bool) -> None:
    """Print each run as it starts and ends (the dev server's log)."""
    from .dev.timeline import duration, status

    seen: dict[str, str] = {}
    synced: dict[str, Any] = {}
    first = True
    while not stop.wait(0.25):
        for app in server.executor.registry.apps():
            if synced.get(app["name"]) != app["updated_at"]:
                synced[app["name"]] = app["updated_at"]
                count = sum(1 for fn in server.executor.registry.functions() if fn.app == app["name"])
                print(f"  app {app['name']} synced from {app['url']} ({count} functions)", flush=True)
        for run in reversed(server.executor.runs.list(200)):
            previous = seen.get(run.id)
            if previous == run.status:
                continue
            seen[run.id] = run.status
            if first and run.status != "Running":
                continue  # finished before this process started
            took = f" in {duration(run.ended_at - run.created_at)}" if run.ended_at else ""
            print(f"  {run.id}  {run.fn_slug}  {status(run.status, colour)}{took}", flush=True)
        first = False


def cmd_send(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.data) if args.data else {}
    except ValueError as exc:
        print(f"error: --data is not JSON: {exc}", file=sys.stderr)
        return 2
    event: dict[str, Any] = {"name": args.name, "data": data}
    if args.id:
        event["id"] = args.id
    key = args.event_key or os.environ.get("INNGEST_EVENT_KEY") or "NO_EVENT_KEY_SET"
    url = f"{_server_url(args)}/e/{key}"
    reply = _request("POST", url, event)
    ids = reply.body.get("ids") if isinstance(reply.body, dict) else None
    if not reply.ok and isinstance(reply.body, dict) and "error" in reply.body:
        return _fail(reply.error)
    if not reply.ok or not isinstance(ids, list):
        # Any Inngest event API answers {"ids": [...]}: whatever answered here is something else.
        answered = f"it answered HTTP {reply.status} to POST /e/..."
        return _fail(f"{_origin(url)} is not an Inngest event API ({answered}); {_POINT_AT_EXECUTOR}")
    for event_id in ids:
        print(event_id)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .dev.timeline import runs_table

    query = f"?limit={args.limit}" + (f"&status={args.status}" if args.status else "")
    reply = _executor("GET", f"{_server_url(args)}/dev/runs{query}")
    if not reply.ok or not isinstance(reply.body, list):
        return _fail(reply.error)
    if args.json:
        print(json.dumps(reply.body, indent=2))
    else:
        print(runs_table(reply.body, _colour()))
    return 0


def _find_run(base: str, run_id: str) -> dict[str, Any] | str:
    """The run (with its timeline), or the one-line reason there is none: an unknown id, or the id
    of an event, whose runs are named instead."""
    reply = _executor("GET", f"{base}/dev/runs/{run_id}")
    if reply.ok and isinstance(reply.body, dict):
        return reply.body
    if reply.status != 404:
        return reply.error
    event = _request("GET", f"{base}/v1/events/{run_id}")
    if event.ok:
        runs = _request("GET", f"{base}/v1/events/{run_id}/runs").body
        listed = [r["run_id"] for r in (runs or {}).get("data") or []]
        started = f"it started {', '.join(listed)}" if listed else "it started no run"
        return f"{run_id} is an event's id, not a run's: {started}"
    return f"no run {run_id} on this executor (`inngest-serverless runs` lists the recent ones)"


def cmd_run(args: argparse.Namespace) -> int:
    from .dev.timeline import run_timeline

    base = _server_url(args)
    run = _find_run(base, args.run_id)
    if isinstance(run, str):
        return _fail(run)
    if args.json:
        print(json.dumps(run, indent=2))
        return 0
    from .dev.dashboard import run_url

    print(f"dashboard {run_url(base, run['run_id'])}\n")
    print(run_timeline(run, _colour()))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    base = _server_url(args)
    run = _find_run(base, args.run_id)
    if isinstance(run, str):
        return _fail(run)
    if run["status"] != "Running":
        return _fail(f"{args.run_id} is already {run['status']}: nothing to cancel")
    reply = _executor("DELETE", f"{base}/v1/runs/{args.run_id}")
    if not reply.ok:
        return _fail(reply.error)
    after = _find_run(base, args.run_id)
    status = after["status"] if isinstance(after, dict) else "unknown"
    if status != "Cancelled":
        return _fail(f"{args.run_id} ended as {status} before it could be cancelled")
    print(f"{args.run_id} Cancelled")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    missing = _missing_dev_libraries()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    from .demo import main

    return main(keep=args.keep)


class _PrintVersion(argparse.Action):
    """``--version``, read from the installed distribution only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(_version())
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"inngest-serverless {version('inngest-serverless')}"
    except PackageNotFoundError:
        return "inngest-serverless (not installed: running from a source tree)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inngest-serverless", description="Durable functions on one machine.")
    top.add_argument("--version", action=_PrintVersion, nargs=0, help="print the installed version and exit")
    commands = top.add_subparsers(dest="command", required=True)

    def with_url(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--url", help=f"the executor's URL (default: $INNGEST_DEV or {DEFAULT_URL})")
        return sub

    dev = commands.add_parser("dev", help="start the local executor")
    dev.add_argument("-p", "--port", type=int, default=8288)
    dev.add_argument("-u", "--sdk-url", action="append", help="an app URL to sync (repeatable; polled with PUT)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--db", default=".inngest-serverless/dev.db", help="SQLite file, or :memory:")
    dev.add_argument("--signing-key", help="sign calls and require it on registration")
    dev.add_argument("--event-key", action="append", help="accept only these event keys (repeatable)")
    dev.add_argument("--retry-interval", type=float, help="linear retry delay in seconds instead of the backoff table")
    dev.add_argument("--poll-interval", type=float, default=5.0, help="seconds between app syncs")
    dev.add_argument("--workers", type=int, default=32, help="queue worker threads")
    dev.set_defaults(func=cmd_dev)

    send = with_url(commands.add_parser("send", help="send an event"))
    send.add_argument("name")
    send.add_argument("--data", default="{}", help="event data as JSON")
    send.add_argument("--id", help="event id (deduplicates runs)")
    send.add_argument("--event-key")
    send.set_defaults(func=cmd_send)

    runs = with_url(commands.add_parser("runs", help="list recent runs"))
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--status", choices=["Running", "Completed", "Failed", "Cancelled", "Skipped"])
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)

    run = with_url(commands.add_parser("run", help="show a run's timeline"))
    run.add_argument("run_id")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)

    cancel = with_url(commands.add_parser("cancel", help="cancel a run"))
    cancel.add_argument("run_id")
    cancel.set_defaults(func=cmd_cancel)

    demo = commands.add_parser("demo", help="run a durable order flow end to end and print its timeline")
    demo.add_argument("--keep", action="store_true", help="keep the executor and app running afterwards, for the dashboard")
    demo.set_defaults(func=cmd_demo)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:  # Ctrl-C: the user asked to stop, a traceback would say it crashed
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
