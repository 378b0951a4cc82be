"""docs/environment.md lists exactly the variables core/wire.py's ``Env`` declares, and ``Env`` is the whole truth:
every ``INNGEST_*`` name the package mentions is declared there, and every one declared is read somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from inngest_serverless.core.wire import Env

PACKAGE = Path(__file__).resolve().parent.parent / "inngest_serverless"
DOC = PACKAGE.parent / "docs" / "environment.md"
NAME = re.compile(r"\bINNGEST_[A-Z0-9_]*[A-Z0-9]\b")

DECLARED = {attr: value for attr, value in vars(Env).items() if isinstance(value, str) and value.startswith("INNGEST_")}


def package_texts() -> dict[Path, str]:
    """Every text file of the package but wire.py: its modules and the streaming ``bootstrap`` script."""
    texts = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix not in (".pyc", ".typed") and path.name != "wire.py":
            texts[path] = path.read_text()
    return texts


def test_the_doc_lists_every_declared_variable_once_and_nothing_else() -> None:
    rows = re.findall(r"^\| `(INNGEST_[A-Z0-9_]+)` \|", DOC.read_text(), flags=re.MULTILINE)
    assert sorted(rows) == sorted(DECLARED.values())


def test_every_inngest_name_in_the_package_is_declared_in_env() -> None:
    mentioned = {name for text in package_texts().values() for name in NAME.findall(text)}
    assert mentioned - set(DECLARED.values()) == set()


def test_every_declared_variable_is_read() -> None:
    # Through Env in Python; the bootstrap shell script reads its one variable by name.
    texts = package_texts()
    code = "\n".join(text for path, text in texts.items() if path.suffix == ".py")
    scripts = "\n".join(text for path, text in texts.items() if path.suffix != ".py")
    unread = {value for attr, value in DECLARED.items()
              if not re.search(rf"\bEnv\.{attr}\b", code) and not re.search(rf"\$\{{?{value}\b", scripts)}
    assert unread == set()
