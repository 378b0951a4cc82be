"""docs/testing.md stays true: its worked examples run as written (their asserts are the test)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_the_worked_examples_run_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    examples = [b for b in blocks if "def test_" not in b]  # the pytest sketch needs a test module around it
    assert len(examples) >= 5
    namespace: dict[str, object] = {"__name__": "docs_testing"}
    for block in examples:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert {"order_flow", "reindex", "restock", "weekly_report"} <= set(namespace)
