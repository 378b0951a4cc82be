"""Rendering runs for a terminal: the runs table and one run's timeline (colour only on a TTY)."""

from __future__ import annotations

import json
import time
from typing import Any

_COLOURS = {"Completed": "32", "Failed": "31", "Cancelled": "33", "Skipped": "90", "Running": "36"}
_ERROR_KINDS = {"StepError", "StepFailed", "FunctionError", "Failed"}


def paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def status(text: str, colour: bool) -> str:
    return paint(text, _COLOURS.get(text, "0"), colour)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.2f}s"
    return f"{seconds / 60:.1f}m"


def _clip(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def runs_table(runs: list[dict[str, Any]], colour: bool) -> str:
    header = f"{'RUN ID':<26}  {'FUNCTION':<32}  {'STATUS':<9}  {'STARTED':<19}  DURATION"
    lines = [paint(header, "1", colour)]
    for run in runs:
        created = run.get("run_started_at") or 0
        ended = run.get("ended_at")
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) if created else "-"
        took = duration((ended or time.time()) - created) if created else "-"
        name = _clip(run.get("function_slug") or "", 32)
        lines.append(f"{run['run_id']:<26}  {name:<32}  {status(run['status'], colour):<9}  {started:<19}  {took}")
    return "\n".join(lines)


def run_timeline(run: dict[str, Any], colour: bool) -> str:
    """One line per step (name, duration, output or error), then the run's outcome."""
    lines = [
        f"{paint('run', '1', colour)} {run['run_id']}  {run.get('function_slug', '')}  {status(run['status'], colour)}",
    ]
    origin = run.get("run_started_at") or 0
    for entry in run.get("timeline") or []:
        kind = entry["kind"]
        if kind in ("Scheduled", "FunctionReturned"):
            continue
        offset = f"+{duration(entry['started'] - origin)}" if origin else ""
        took = duration(entry["ended"] - entry["started"]) if entry.get("ended") else "waiting"
        label = entry.get("name") or ""
        if kind in ("Completed", "Failed", "Cancelled", "Skipped"):
            took = ""  # the run's end: its total is printed below
        detail = entry.get("detail") or {}
        if kind in _ERROR_KINDS:
            error = detail.get("error") if isinstance(detail, dict) else detail
            message = error.get("message") if isinstance(error, dict) else error
            retry = " (will retry)" if isinstance(detail, dict) and detail.get("retry_at") else ""
            text = paint(f"error: {_clip(message)}{retry}", "31", colour)
        elif kind in ("Completed", "Cancelled"):
            text = _clip(detail.get("output")) if "output" in detail else detail.get("reason", "")
        elif isinstance(detail, dict) and "data" in detail:
            text = "→ " + _clip(detail["data"])
        elif isinstance(detail, dict) and "result" in detail:
            text = "→ " + _clip(detail["result"])
        elif kind == "Sleep":
            text = ""
        else:
            text = _clip(detail) if detail else ""
        attempt = f" #{entry['attempt'] + 1}" if entry.get("attempt") else ""
        lines.append(f"  {offset:>9}  {kind:<14} {label[:28]:<28} {took:>8}{attempt}  {text}".rstrip())
    if run.get("ended_at") and origin:
        lines.append(f"  total {duration(run['ended_at'] - origin)}")
    return "\n".join(lines)
