"""The package's import graph: no module imports one that imports it back, and the core
modules (the send decision, the state, the records, the clock) import no HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import augnet_mock

PACKAGE = Path(augnet_mock.__file__).parent
# Pure of HTTP: what REST, the inbox, SMPP and batches all build on.
CORE = (
    "clock",
    "lifecycle",
    "models",
    "rows",
    "scenarios",
    "segmentation",
    "sending",
    "signing",
    "store",
    "validation",
)
HTTP_LIBRARIES = ("starlette", "uvicorn", "aiohttp", "httpx", "httpx2")
EDGES = ("api", "app", "control", "httpio", "openapi", "ui", "guard", "handle", "server", "cli")


def module_imports(name: str) -> tuple[set[str], set[str]]:
    """(package modules, outside top-level packages) that `name` imports when loaded."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    inside: set[str] = set()
    outside: set[str] = set()
    for node in tree.body:  # what runs at import time; imports inside functions are lazy
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                inside.add(node.module.split(".")[0])
            else:
                inside.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(alias.name.split(".")[0] for alias in node.names)
    return inside, outside


def graph() -> dict[str, set[str]]:
    return {path.stem: module_imports(path.stem)[0] for path in PACKAGE.glob("*.py")}


def test_no_import_runs_back_up() -> None:
    """Following module-level imports from any module never leads back to it."""
    edges = graph()
    cycles = []
    for start in edges:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            name = todo.pop()
            if name == start:
                cycles.append(start)
                break
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, ()))
    assert cycles == []


def test_core_modules_import_no_http_and_no_edge() -> None:
    """The core imports neither an HTTP library nor an edge module (routes, client, CLI)."""
    for name in CORE:
        inside, outside = module_imports(name)
        assert not outside & set(HTTP_LIBRARIES), name
        assert not inside & set(EDGES), name
