"""Rendering runs for a terminal: the runs table and one run's timeline (colour only on a TTY).

Values are cut to the terminal's width (``shutil.get_terminal_size``, which reads ``COLUMNS``
first), never to a fixed 80 columns; a run's error, in full with its stack, follows its timeline.
"""

from __future__ import annotations

import json
import re
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


# Piped output has no terminal to measure: wide enough not to hide what a grep looks for.
PIPED_COLUMNS = 240
_MIN_VALUE_WIDTH = 24


def terminal_columns() -> int:
    import shutil

    return shutil.get_terminal_size((PIPED_COLUMNS, 24)).columns


def _clip(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    width = max(width, _MIN_VALUE_WIDTH)
    return text if len(text) <= width else text[: width - 1] + "…"


def error_text(error: Any) -> str:
    """``Name: message`` for a wire error ``{name, message, ...}`` (or whatever stands in for one)."""
    if not isinstance(error, dict):
        return str(error)
    message = error.get("message") or error.get("error") or ""
    name = error.get("name") or ""
    return f"{name}: {message}" if name and not str(message).startswith(f"{name}:") else str(message)


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


def run_timeline(run: dict[str, Any], colour: bool, columns: int | None = None) -> str:
    """One line per step (name, duration, output or error), then the run's outcome and, for a run
    that failed or waits for a retry, its error: type, message, stack (the app's frames first), and
    the attempt with when the next one is due."""
    columns = columns or terminal_columns()
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
            retry = " (will retry)" if isinstance(detail, dict) and detail.get("retry_at") else ""
            text = f"error: {error_text(error)}{retry}"
        elif kind in ("Completed", "Cancelled"):
            text = json.dumps(detail.get("output"), separators=(",", ":")) if "output" in detail else detail.get("reason", "")
        elif isinstance(detail, dict) and "data" in detail:
            text = "→ " + json.dumps(detail["data"], separators=(",", ":"))
        elif isinstance(detail, dict) and "result" in detail:
            text = "→ " + json.dumps(detail["result"], separators=(",", ":"))
        elif kind == "Sleep":
            text = ""
        else:
            text = json.dumps(detail) if detail else ""
        attempt = f" #{entry['attempt'] + 1}" if entry.get("attempt") else ""
        prefix = f"  {offset:>9}  {kind:<14} {label[:28]:<28} {took:>8}{attempt}  "
        text = _clip(text, columns - len(prefix))
        lines.append((prefix + (paint(text, "31", colour) if kind in _ERROR_KINDS else text)).rstrip())
    if run.get("ended_at") and origin:
        lines.append(f"  total {duration(run['ended_at'] - origin)}")
    lines.extend(error_report(run, colour))
    return "\n".join(lines)


def error_report(run: dict[str, Any], colour: bool, now: float | None = None) -> list[str]:
    """The run's error in full: its final one if it failed, else the last failed attempt of a run
    waiting for its retry. Empty for a run with neither."""
    error: Any = None
    retry_at = None
    attempts = [e for e in run.get("timeline") or [] if e["kind"] in _ERROR_KINDS and e.get("attempt") is not None]
    attempt = int(attempts[-1]["attempt"]) if attempts else None
    if run.get("status") == "Failed":
        error = run.get("error")
    elif run.get("status") == "Running":
        entries = [e for e in run.get("timeline") or [] if e["kind"] not in ("Scheduled", "FunctionReturned")]
        last = entries[-1] if entries else None
        detail = last.get("detail") if last else None
        if last and last["kind"] in _ERROR_KINDS and isinstance(detail, dict) and detail.get("retry_at"):
            error, retry_at = detail.get("error"), float(detail["retry_at"])
    if error is None:
        return []
    lines = ["", f"  {paint('error', '1;31', colour)}  {paint(error_text(error), '31', colour)}"]
    stack = error.get("stack") if isinstance(error, dict) else None
    if isinstance(stack, str) and stack.strip():
        lines.extend(f"         {line}" for line in stack_lines(stack))
    if retry_at is not None and attempt is not None:
        wait = retry_at - (time.time() if now is None else now)
        due = time.strftime("%H:%M:%S", time.localtime(retry_at))
        when = f"in {duration(wait)}" if wait > 0 else "now"
        lines.append(f"  attempt #{attempt + 1} failed; attempt #{attempt + 2} is due at {due} ({when})")
    elif attempt is not None:
        lines.append(f"  attempt #{attempt + 1} failed; no attempt follows")
    return lines


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>.+)$')
# Frames from installed packages and from the SDK itself: the app's own frames come first.
_LIBRARY = re.compile(
    r"[/\\](site-packages|dist-packages)[/\\]"
    r"|[/\\]inngest_serverless[/\\](core|adapters)[/\\]"
    r"|[/\\]lib[/\\]python3[^/\\]*[/\\][^/\\]+\.py$"
)


def stack_lines(stack: str) -> list[str]:
    """A Python traceback as ``at function (file:line)  code`` lines, innermost first, the app's
    frames before the libraries' (which are counted, not listed). Any other stack (another SDK's,
    already innermost first) comes back line by line."""
    block = stack.rsplit("Traceback (most recent call last):", 1)[-1]
    frames: list[tuple[str, str, str, str]] = []
    lines = block.splitlines()
    for index, line in enumerate(lines):
        match = _FRAME.match(line)
        if match:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            # A frame's code line is indented under it; a frame without source (<string>) has none.
            code = following.strip() if following.startswith("    ") and not _FRAME.match(following) else ""
            frames.append((match["name"], match["file"], match["line"], code))
    if not frames:
        return [line.rstrip() for line in stack.strip().splitlines()]
    frames.reverse()
    own = [f for f in frames if not _LIBRARY.search(f[1])]
    out = [f"at {name} ({file}:{line})" + (f"  {code}" if code else "") for name, file, line, code in own]
    hidden = len(frames) - len(own)
    if hidden:
        out.append(f"… and {hidden} frame{'s' if hidden != 1 else ''} in the SDK and libraries (--json shows the raw stack)")
    return out
