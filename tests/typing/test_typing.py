"""The public API's types, checked by mypy --strict on the files beside this one.

``ok_*.py`` must pass (their ``assert_type`` calls pin what mypy infers); ``bad_*.py`` must give
exactly the errors their ``# E: <code>`` comments announce, on those lines, each message holding
the text after ``<code>:`` when there is one. mypy runs once per Python version the package
supports at both ends, over every file, with a cache of its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CASES = sorted(p for p in HERE.glob("*.py") if p.name.startswith(("ok_", "bad_")))
PYTHONS = ("3.10", "3.13")
_EXPECT = re.compile(r"# E: ([a-z-]+)(?:: ([^#]*))?")
_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<msg>.*?)  \[(?P<code>[a-z-]+)\]$")

Found = dict[str, list[tuple[int, str, str]]]  # file name -> (line, code, message)


@pytest.fixture(scope="module", params=PYTHONS)
def mypy_errors(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Found:
    cache = tmp_path_factory.mktemp("mypy-cache")
    saved = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = str(ROOT)  # the package of this tree, whatever copy is installed
    try:
        stdout, stderr, status = api.run([
            "--config-file", str(ROOT / "pyproject.toml"), "--strict", "--python-version", request.param,
            "--cache-dir", str(cache), "--show-error-codes", "--no-error-summary", "--hide-error-context",
            "--no-pretty", *map(str, CASES),
        ])
    finally:
        if saved is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = saved
    assert status in (0, 1), f"mypy did not run: {stderr}{stdout}"
    found: Found = {}
    for line in stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            found.setdefault(Path(match["path"]).name, []).append((int(match["line"]), match["code"], match["msg"]))
        else:
            assert ": note: " in line, f"an output line this test cannot read: {line}"
    return found


def expected(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        out += [(number, code, (fragment or "").strip()) for code, fragment in _EXPECT.findall(text)]
    return out


def test_the_cases_are_all_here() -> None:
    names = {p.name for p in CASES}
    for topic in ("steps", "invoke", "parallel", "events", "public"):
        assert {f"ok_{topic}.py", f"bad_{topic}.py"} <= names
    assert all(expected(p) for p in CASES if p.name.startswith("bad_"))


@pytest.mark.parametrize("case", [p for p in CASES if p.name.startswith("ok_")], ids=lambda p: p.name)
def test_passes_mypy_strict(case: Path, mypy_errors: Found) -> None:
    assert mypy_errors.get(case.name, []) == []


@pytest.mark.parametrize("case", [p for p in CASES if p.name.startswith("bad_")], ids=lambda p: p.name)
def test_fails_mypy_strict_with_the_announced_errors(case: Path, mypy_errors: Found) -> None:
    got = mypy_errors.get(case.name, [])
    want = expected(case)
    assert sorted((line, code) for line, code, _ in got) == sorted((line, code) for line, code, _ in want), got
    messages = {(line, code): msg for line, code, msg in got}
    for line, code, fragment in want:
        assert fragment in messages[(line, code)], (line, messages[(line, code)])
