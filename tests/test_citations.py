"""Code, tests and docs cite only what the repository holds.

A comment that sends the reader to a numbered section of a document the repository does not ship
is a dead end for everyone who clones it; the rule it points at is written here in our own words,
or not cited. A section sign in a guide is fine when it names a numbered section of a guide that is
in docs/ (``docs/deploy-lambda.md §3``, or ``§3`` of the same guide).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Documents that were never part of the repository, by the names they were cited with.
_OUTSIDE = ("PROTOCOL", "EXECUTOR", "STREAMING", "HARNESSES", "REAL-SERVER", "ARCHITECTURE", "STYLE")
OUTSIDE_DOCUMENT = re.compile(r"\b(?:" + "|".join(map(re.escape, _OUTSIDE)) + r")(?:\.md\b|\s*\u00a7)")
# The project's own issue numbers mean nothing to a reader of a clone: say what the code is for instead.
ISSUE_NUMBER = re.compile(r"\b(?:issues?|task)\s+#?\d+\b", flags=re.I)
SECTION = re.compile(r"(?:(docs/[\w.-]+\.md)\s+)?\u00a7\s*(\d+)")


def code_files() -> list[Path]:
    found = [*(ROOT / "inngest_serverless").rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    return sorted(path for path in found if path.resolve() != Path(__file__).resolve())


def doc_files() -> list[Path]:
    return sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def problems_in(path: Path, text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}"
        if OUTSIDE_DOCUMENT.search(line):
            problems.append(f"{where} cites a document that is not in the repository: {line.strip()}")
        if ISSUE_NUMBER.search(line):
            problems.append(f"{where} cites an issue number: {line.strip()}")
        for match in SECTION.finditer(line):
            if path.suffix != ".md":
                problems.append(f"{where} cites a numbered section: {line.strip()}")
                continue
            target = ROOT / match.group(1) if match.group(1) else path
            headings = target.read_text() if target.exists() else ""
            if not re.search(rf"^#+ {match.group(2)}\. ", headings, flags=re.M):
                problems.append(f"{where} cites section {match.group(2)} of {target.name}, which has none: {line.strip()}")
    return problems


@pytest.mark.parametrize("kind", ["code", "docs"])
def test_nothing_cites_a_document_outside_the_repository(kind: str) -> None:
    files = code_files() if kind == "code" else doc_files()
    assert files
    problems = [problem for path in files for problem in problems_in(path, path.read_text())]
    assert not problems, "\n".join(problems)


def test_the_check_catches_each_form_of_citation(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("## 1. Install\n")
    assert problems_in(tmp_path / "m.py", "x = 1  # the server retries (PROTOCOL \u00a711.3)\n")
    assert problems_in(tmp_path / "m.py", '"""As EXECUTOR.md says."""\n')
    assert problems_in(tmp_path / "m.py", "# see \u00a78.1\n")
    assert problems_in(guide, "See STREAMING.md for the hosts.\n")
    assert problems_in(guide, "as in \u00a72\n")  # the guide has no section 2
    assert not problems_in(guide, "as in \u00a71\n")
    assert not problems_in(tmp_path / "m.py", "SERVER_PROTOCOL = 'HTTP/1.1'  # a WSGI key, not a citation\n")
    assert problems_in(tmp_path / "m.py", "# the targets of issue 2\n")
    assert problems_in(guide, "Targets (Issue #6): met\n")
    assert not problems_in(guide, "an issue with 2 steps\n")
