"""The map in docs/architecture.md stays true: imports follow its layer table, and no import cycle.

The layer table is read from the doc itself, so the rules are written once and the doc cannot
drift from what is enforced. Every import of every package module is read with ``ast``: module
level, inside ``if TYPE_CHECKING:``, and inside functions (the lazy ones). Direction is checked on
all three; cycles on the first two (a lazy import runs after both modules exist, so it cannot
deadlock start-up, but a TYPE_CHECKING cycle still ties two modules' designs together).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "inngest_serverless"
DOC = ROOT / "docs" / "architecture.md"

# Top-level names of this repository's code outside the package: never imported by it.
OUTSIDE_PACKAGE = ("tests", "bench", "scripts", "templates", "sam")
# Host libraries: only adapters and the serve helpers may import them.
HOST_LIBRARIES = (
    "aws_lambda_powertools", "awslambdaric", "azure", "boto3", "botocore", "django", "fastapi",
    "flask", "functions_framework", "starlette", "tornado", "uvicorn", "vercel_runtime", "werkzeug",
)
HOST_LAYERS = ("adapters", "serve helpers", "cli")

MODULE, TYPE_CHECKING, FUNCTION = "module", "TYPE_CHECKING", "function"


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # patterns: ``core`` is core and everything under it; the root is ``inngest_serverless``
    may_import: tuple[str, ...]  # patterns as above, or ``*`` for the whole package


@dataclass(frozen=True)
class Import:
    source: str  # full dotted module name
    target: str  # full dotted name of the module (or package) it loads
    kind: str  # MODULE, TYPE_CHECKING or FUNCTION
    line: int


def parse_layers(markdown: str) -> list[Layer]:
    """The table between ``<!-- layers -->`` and ``<!-- /layers -->``: layer | modules | may import."""
    found = re.search(r"<!-- layers -->(.*?)<!-- /layers -->", markdown, flags=re.S)
    assert found, "the layer table's markers are missing"
    layers = []
    for row in found.group(1).strip().splitlines()[2:]:  # after the header and the --- row
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) >= 3, f"a layer row needs three cells: {row!r}"
        name, modules, may_import = cells[:3]
        layers.append(Layer(name, tuple(re.findall(r"`([^`]+)`", modules)), tuple(re.findall(r"`([^`]+)`", may_import))))
    assert layers, "the layer table is empty"
    return layers


def _full(pattern: str, package: str) -> str:
    """A pattern is relative to the package, unless written in full (``inngest_serverless_pytest``, beside it)."""
    return pattern if pattern == package or pattern.startswith(package + "_") else f"{package}.{pattern}"


def _matches(module: str, pattern: str, package: str) -> int:
    """How specific ``pattern`` is for ``module`` (0: no match). The root pattern matches the root only."""
    full = _full(pattern, package)
    if module == full:
        return len(full) + 1
    if full != package and module.startswith(full + "."):
        return len(full)
    return 0


def layer_of(module: str, layers: list[Layer], package: str) -> Layer | None:
    best: tuple[int, Layer | None] = (0, None)
    for layer in layers:
        for pattern in layer.modules:
            score = _matches(module, pattern, package)
            if score > best[0]:
                best = (score, layer)
    return best[1]


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file, for every module the wheel ships: each ``.py`` under ``root / package``, and
    the top-level modules pyproject.toml force-includes beside it (the pytest plugin)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        for name in re.findall(r'^"([\w]+)\.py" = ', pyproject.read_text(), flags=re.M):
            modules[name] = root / f"{name}.py"
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, kind
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, FUNCTION)
        elif isinstance(child, ast.If) and _is_type_checking(child.test) and kind == MODULE:
            for statement in child.body:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), TYPE_CHECKING)
            for statement in child.orelse:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), MODULE)
        else:
            yield from _walk(child, kind)


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    """Every import in the file, resolved to the module it loads (``from p import m`` loads ``p.m``)."""
    is_package = path.name == "__init__.py"
    found = []
    for node, kind in _walk(ast.parse(path.read_text(), filename=str(path)), MODULE):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                up = node.level - 1
                base = base[: len(base) - up] if up <= len(base) else []
                if not base:  # a relative import that climbs out of the package
                    found.append(Import(name, "." * node.level + (node.module or ""), kind, node.lineno))
                    continue
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            targets = [f"{parent}.{alias.name}" if f"{parent}.{alias.name}" in known else parent for alias in node.names]
        for target in dict.fromkeys(targets):
            while "." in target and target.split(".")[0] in {n.split(".")[0] for n in known} and target not in known:
                target = target.rsplit(".", 1)[0]  # ``import a.b.C``-style names resolve to their module
            found.append(Import(name, target, kind, node.lineno))
    return found


def all_imports(root: Path, package: str) -> list[Import]:
    modules = package_modules(root, package)
    known = set(modules)
    return [found for name, path in modules.items() for found in imports_of(name, path, known)]


def direction_violations(imports: list[Import], layers: list[Layer], modules: set[str], package: str) -> list[str]:
    problems = []
    for module in sorted(modules):
        if layer_of(module, layers, package) is None:
            problems.append(f"{module} is in no layer of the table: add it to docs/architecture.md")
    for found in imports:
        source_layer = layer_of(found.source, layers, package)
        top = found.target.split(".")[0]
        where = f"{found.source}:{found.line} ({found.kind})"
        if found.target.startswith(".") or top in OUTSIDE_PACKAGE:
            problems.append(f"{where} imports {found.target}, which is outside the package")
            continue
        if top in HOST_LIBRARIES and (source_layer is None or source_layer.name not in HOST_LAYERS):
            problems.append(f"{where} imports the host library {found.target}")
            continue
        if top != package or source_layer is None:
            continue
        target_layer = layer_of(found.target, layers, package)
        if target_layer is source_layer:
            continue
        if "*" in source_layer.may_import or any(_matches(found.target, p, package) for p in source_layer.may_import):
            continue
        target_name = target_layer.name if target_layer else "no layer"
        problems.append(f"{where} imports {found.target} ({target_name}), against the direction of the {source_layer.name} layer")
    return problems


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module, over module-level and TYPE_CHECKING edges."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        graph.setdefault(found.source, set())
        if found.kind != FUNCTION and found.target != found.source:
            graph[found.source].add(found.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue  # not a package module (stdlib, third party)
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycle_path(imports: list[Import], component: list[str]) -> str:
    """The shortest loop from the component's first module back to it, with the line of each import."""
    members = set(component)
    edges: dict[str, list[Import]] = {}
    for found in imports:
        if found.kind != FUNCTION and found.source in members and found.target in members:
            edges.setdefault(found.source, []).append(found)
    start = component[0]
    paths: dict[str, list[Import]] = {start: []}
    frontier = [start]
    while frontier:  # breadth first: every member is reachable, so a way back to start exists
        following = []
        for node in frontier:
            for edge in sorted(edges.get(node, []), key=lambda e: (e.target, e.line)):
                if edge.target == start:
                    steps = [*paths[node], edge]
                    return " -> ".join(
                        [start]
                        + [f"{e.target} (line {e.line}{', TYPE_CHECKING' if e.kind == TYPE_CHECKING else ''})" for e in steps]
                    )
                if edge.target not in paths:
                    paths[edge.target] = [*paths[node], edge]
                    following.append(edge.target)
        frontier = following
    raise AssertionError(f"no loop through {start}: not a cycle")


# -- the package ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layers() -> list[Layer]:
    return parse_layers(DOC.read_text())


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports(ROOT, PACKAGE)


def test_every_module_imports_in_the_direction_the_map_states(layers: list[Layer], imports: list[Import]) -> None:
    problems = direction_violations(imports, layers, set(package_modules(ROOT, PACKAGE)), PACKAGE)
    assert not problems, "\n".join(problems)


def test_no_import_cycle_among_package_modules(imports: list[Import]) -> None:
    found = cycles(imports)
    assert not found, "\n".join(cycle_path(imports, component) for component in found)


def test_every_layer_of_the_table_names_real_modules(layers: list[Layer]) -> None:
    modules = set(package_modules(ROOT, PACKAGE))
    for layer in layers:
        for pattern in (*layer.modules, *(p for p in layer.may_import if p != "*")):
            assert any(_matches(m, pattern, PACKAGE) for m in modules), f"{layer.name}: `{pattern}` names no module"


def test_the_map_names_every_module_of_core_dev_and_the_adapters() -> None:
    """A newcomer finds each concept from the map: every module of the middle layers is named there."""
    doc = DOC.read_text()
    missing = []
    for area in ("core", "dev", "adapters"):
        for path in sorted((ROOT / PACKAGE / area).rglob("*.py")):
            if path.name == "__init__.py":
                continue
            if not re.search(rf"`(?:[\w/]+/)?{re.escape(path.name)}[`:]", doc):
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"docs/architecture.md does not name: {missing}"


# -- the checker itself, on a synthetic package -----------------------------------------------

SYNTHETIC_LAYERS = """
<!-- layers -->
| layer | modules | may import |
| --- | --- | --- |
| core | `core` | nothing else |
| adapters | `adapters` | `core` |
| dev | `dev` | `core.wire` |
| api | `pkg` | `core` |
| plugin | `pkg_plugin` | `core` |
<!-- /layers -->
"""


_SHIPS_PLUGIN = '[tool.hatch.build.targets.wheel.force-include]\n"pkg_plugin.py" = "pkg_plugin.py"\n'


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, source in {"pkg/__init__.py": "", "pkg/core/__init__.py": "", "pkg/core/wire.py": "",
                             "pkg/adapters/__init__.py": "", "pkg/dev/__init__.py": "", **files}.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return tmp_path


def _check(tmp_path: Path, files: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    root = _tree(tmp_path, files)
    found = all_imports(root, "pkg")
    layers = parse_layers(SYNTHETIC_LAYERS)
    return direction_violations(found, layers, set(package_modules(root, "pkg")), "pkg"), cycles(found)


def test_the_checker_passes_a_package_that_follows_the_table(tmp_path: Path) -> None:
    problems, loops = _check(tmp_path, {
        "pkg/core/handler.py": "from . import wire\nfrom .wire import X\n",
        "pkg/adapters/lambda_.py": "from ..core.handler import Handler\nimport json\n",
        "pkg/dev/server.py": "from pkg.core import wire\n",
        "pkg/__init__.py": "from .core.handler import Handler\n",
    })
    assert problems == [] and loops == []


@pytest.mark.parametrize(("files", "expected"), [
    ({"pkg/core/handler.py": "from ..adapters import lambda_\n", "pkg/adapters/lambda_.py": ""},
     "pkg.core.handler:1 (module) imports pkg.adapters.lambda_ (adapters), against the direction of the core layer"),
    ({"pkg/core/handler.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.dev import server\n",
      "pkg/dev/server.py": ""},
     "pkg.core.handler:3 (TYPE_CHECKING) imports pkg.dev.server (dev)"),
    ({"pkg/core/handler.py": "def lazy():\n    import pkg.adapters.lambda_\n", "pkg/adapters/lambda_.py": ""},
     "pkg.core.handler:2 (function) imports pkg.adapters.lambda_ (adapters)"),
    ({"pkg/adapters/lambda_.py": "from ..dev import server\n", "pkg/dev/server.py": ""},
     "pkg.adapters.lambda_:1 (module) imports pkg.dev.server (dev)"),
    ({"pkg/dev/server.py": "from pkg.core.handler import Handler\n", "pkg/core/handler.py": ""},
     "pkg.dev.server:1 (module) imports pkg.core.handler (core)"),
    ({"pkg/core/handler.py": "class Handler:\n    def run(self):\n        from tests.support import apps\n"},
     "pkg.core.handler:3 (function) imports tests.support, which is outside the package"),
    ({"pkg/core/handler.py": "from ... import elsewhere\n"},
     "pkg.core.handler:1 (module) imports ..., which is outside the package"),
    ({"pkg/core/handler.py": "import boto3\n"}, "pkg.core.handler:1 (module) imports the host library boto3"),
    ({"pkg/stray.py": ""}, "pkg.stray is in no layer of the table"),
    ({"pyproject.toml": _SHIPS_PLUGIN, "pkg_plugin.py": "def fixture():\n    from pkg.dev import server\n",
      "pkg/dev/server.py": ""},
     "pkg_plugin:2 (function) imports pkg.dev.server (dev), against the direction of the plugin layer"),
])
def test_the_checker_reports_an_import_against_the_direction(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    problems, _ = _check(tmp_path, files)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_checker_finds_module_level_and_type_checking_cycles_but_not_lazy_ones(tmp_path: Path) -> None:
    _, loops = _check(tmp_path, {
        "pkg/core/a.py": "from . import b\n",
        "pkg/core/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n",
        "pkg/core/c.py": "from pkg.core.a import A\n",
        "pkg/core/d.py": "from . import e\n",
        "pkg/core/e.py": "def lazy():\n    from . import d\n",
    })
    assert loops == [["pkg.core.a", "pkg.core.b", "pkg.core.c"]]
    found = all_imports(tmp_path, "pkg")
    assert cycle_path(found, loops[0]) == (
        "pkg.core.a -> pkg.core.b (line 1) -> pkg.core.c (line 3, TYPE_CHECKING) -> pkg.core.a (line 1)"
    )


def test_the_layer_table_is_read_from_the_doc() -> None:
    layers = parse_layers(SYNTHETIC_LAYERS)
    assert [(layer.name, layer.modules, layer.may_import) for layer in layers] == [
        ("core", ("core",), ()), ("adapters", ("adapters",), ("core",)),
        ("dev", ("dev",), ("core.wire",)), ("api", ("pkg",), ("core",)), ("plugin", ("pkg_plugin",), ("core",)),
    ]
