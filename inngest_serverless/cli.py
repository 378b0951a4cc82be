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

DEFAULT_URL = "http://127.0.0.1:8288"


def _server_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url).rstrip("/")
    dev = os.environ.get("INNGEST_DEV", "")
    if dev.startswith(("http://", "https://")):
        return dev.rstrip("/")
    return os.environ.get("INNGEST_BASE_URL", DEFAULT_URL).rstrip("/")


def _request(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, {"error": raw.decode("utf-8", "replace")}
    except OSError as exc:
        raise SystemExit(f"error: cannot reach the executor at {url.split('/', 3)[:3][-1]}: {exc}") from None


def _call(method: str, url: str, body: Any = None) -> tuple[bool, Any]:
    """(ok, body); on a non-2xx reply the executor's error is printed to stderr."""
    status, reply = _request(method, url, body)
    if 200 <= status < 300:
        return True, reply
    print(f"error: {reply.get('error') if isinstance(reply, dict) else reply}", file=sys.stderr)
    return False, reply


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def cmd_dev(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from .dev.executor import Options
    from .dev.server import DevServer

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    event_keys = tuple(args.event_key or ())
    options = Options(
        signing_key=args.signing_key or os.environ.get("INNGEST_SIGNING_KEY") or None,
        event_keys=event_keys,
        retry_interval=args.retry_interval,
        poll_interval=args.poll_interval,
        workers=args.workers,
    )
    import sqlite3

    try:
        server = DevServer(host=args.host, port=args.port, db=args.db, sdk_urls=args.sdk_url or [], options=options)
    except sqlite3.Error as exc:
        print(f"error: cannot open the database {args.db}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot start on {args.host}:{args.port} with database {args.db}: {exc}", file=sys.stderr)
        return 1
    server.start()
    colour = _colour()
    from .dev.timeline import paint

    print(f"{paint('inngest-serverless dev', '1', colour)}  executor on {server.url}  (state: {args.db})", flush=True)
    for url in args.sdk_url or []:
        print(f"  polling app {url}", flush=True)
    import importlib.util

    missing = [name for name in ("cel", "croniter") if importlib.util.find_spec(name) is None]
    if missing:
        print("  note: expressions and cron triggers need `pip install 'inngest-serverless[dev]'`", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _watch(server, stop, colour)
    server.stop()
    return 0


def _watch(server: Any, stop: Any, colour: bool) -> None:
    """Print each run as it starts and ends (the dev server's log)."""
    from .dev.timeline import duration, status

    seen: dict[str, str] = {}
    synced: dict[str, Any] = {}
    first = True
    while not stop.wait(0.25):
        for app in server.executor.apps():
            if synced.get(app["name"]) != app["updated_at"]:
                synced[app["name"]] = app["updated_at"]
                count = sum(1 for fn in server.executor.functions() if fn.app == app["name"])
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
    ok, body = _call("POST", f"{_server_url(args)}/e/{key}", event)
    if not ok:
        return 1
    for event_id in body["ids"]:
        print(event_id)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .dev.timeline import runs_table

    query = f"?limit={args.limit}" + (f"&status={args.status}" if args.status else "")
    ok, body = _call("GET", f"{_server_url(args)}/dev/runs{query}")
    if not ok:
        return 1
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(runs_table(body, _colour()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .dev.timeline import run_timeline

    ok, body = _call("GET", f"{_server_url(args)}/dev/runs/{args.run_id}")
    if not ok:
        return 1
    print(json.dumps(body, indent=2) if args.json else run_timeline(body, _colour()))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    ok, _ = _call("DELETE", f"{_server_url(args)}/v1/runs/{args.run_id}")
    if not ok:
        return 1
    _, run = _request("GET", f"{_server_url(args)}/dev/runs/{args.run_id}")
    print(f"{args.run_id} {run['status'] if isinstance(run, dict) else 'Cancelled'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inngest-serverless", description="Durable functions on one machine.")
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
    demo.set_defaults(func=cmd_demo)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
