"""The shape of the package, drawn from its imports (docs/architecture.md).

Every `import` of a mktows module counts, wherever it is written (inside a function too),
except those under `if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mktows"

# layer -> the layers it may import (besides itself and `mktows.errors`)
ALLOWED = {
    "observe": set(),
    "store": {"observe"},
    "runtime": {"observe", "store"},
    "engine": {"observe", "runtime", "store"},
    "delivery": {"engine", "observe", "runtime", "store"},
    "soap": {"engine", "observe", "runtime"},
    "console": {"delivery", "engine", "observe", "runtime", "soap"},
    # the test double's control API: reads the SOAP wire (no SQL there), snapshots the store
    "emulator": {"engine", "observe", "runtime", "soap", "store"},
    # the Python client of the API talks to a server over HTTP only (see CLIENT_ALLOWED)
    "client": set(),
}
# What the client package may import besides the standard library and itself: no other mktows
# module, `mktows.errors` included (its fault codes come from the fault's detail).
CLIENT_ALLOWED = {"httpx", "lxml"}
ENGINE_FAMILIES = ("activities", "admin", "campaigns", "leads", "lists", "objects")
# Modules whose functions import on demand, so that `mktows --help` does not load the server,
# `mktows serve` does not load the client, nor does every pytest run of an environment where
# the test double's plugin is installed.
LAZY_ALLOWED = {"mktows.cli", "mktows.cli_remote", "mktows.docgen", "mktows.testing"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _imports(name: str) -> list[tuple[str, bool]]:
    """(imported mktows module, imported inside a function?) for each import of `name`."""
    tree = ast.parse(MODULES[name].read_text())
    skipped = _type_checking_nodes(tree)
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mktows"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                targets.append(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            targets += [a.name for a in node.names if a.name.startswith("mktows")]
        found += [(t, id(node) in nested) for t in targets if t != name]
    return found


GRAPH = {name: {target for target, _ in _imports(name)} for name in MODULES}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_the_import_graph_has_no_loops() -> None:
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            loop = path[path.index(name) :] + [name]
            pytest.fail("import loop: " + " -> ".join(loop))
        if name in done:
            return
        path.append(name)
        for target in sorted(GRAPH.get(name, ())):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if _layer(name) == layer
        for target in targets
        if target != "mktows.errors" and _layer(target) not in {layer, *ALLOWED[layer]}
    )
    assert wrong == []


def test_no_module_of_the_server_imports_inside_a_function() -> None:
    late = sorted(
        f"{name} imports {target} inside a function"
        for name in MODULES
        if name not in LAZY_ALLOWED
        for target, nested in _imports(name)
        if nested
    )
    assert late == []


def test_the_engine_families_are_packages() -> None:
    engine = PACKAGE / "engine"
    assert {p.name for p in engine.iterdir() if (p / "__init__.py").exists()} == set(ENGINE_FAMILIES)
    shared = sorted(p.stem for p in engine.glob("*.py") if p.stem != "__init__")
    assert shared == ["base", "models", "positions", "timestamps"]


def _top_level_imports(name: str) -> set[str]:
    """The top-level package of every import of `name` (mktows modules by their full name)."""
    tree = ast.parse(MODULES[name].read_text())
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module if node.module.startswith("mktows") else node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name if a.name.startswith("mktows") else a.name.split(".")[0] for a in node.names)
    return found


def test_the_client_imports_nothing_of_the_server() -> None:
    client = sorted(name for name in MODULES if _layer(name) == "client")
    assert "mktows.client.sync" in client
    wrong = sorted(
        f"{name} imports {target}"
        for name in client
        for target in _top_level_imports(name)
        if not (
            target == "mktows.client"
            or target.startswith("mktows.client.")
            or target in CLIENT_ALLOWED
            or target in sys.stdlib_module_names
            or target == "__future__"
        )
    )
    assert wrong == []


def test_the_server_commands_start_without_the_client() -> None:
    """`mktows serve` and the other server-side commands do not pay for the client's
    generated types; only the commands that call an endpoint load it."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mktows.cli; print(sorted(m for m in sys.modules if m.startswith('mktows.client')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
