"""Replace one ``## `` section of a Markdown file, leaving the others as they are.

Several benchmarks write into docs/benchmarks.md, each owning one section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def replace_section(path: Path, heading: str, body: str, *, title: str = "# Benchmarks\n") -> None:
    """Put ``body`` (which starts with ``heading``) in place of that section, or append it."""
    text = path.read_text() if path.exists() else title
    body = body.rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(heading))
        text = text[:start] + body + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def report(results: Any, *, json_path: str | None, doc: Path | None, heading: str, body: str) -> None:
    """A bench's ending: print its results as JSON, also write them to ``json_path`` if given, and
    rewrite its ``heading`` section of ``doc`` with ``body`` unless ``doc`` is None (smoke runs)."""
    text = json.dumps(results, indent=2)
    print(text)
    if json_path:
        Path(json_path).write_text(text)
    if doc is not None:
        replace_section(doc, heading, body)
