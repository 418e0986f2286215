"""The server's layers (docs/server.md): services never import the HTTP layer, and the server uses the
recommender library through the names its package exports, never its modules."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_services_never_import_the_http_layer():
    offenders = [
        (str(path.relative_to(SERVER)), module)
        for path in (SERVER / "services").rglob("*.py")
        for module in _imports(path)
        if module == "server.api" or module.startswith("server.api.")
    ]
    assert offenders == []


def test_the_server_imports_only_top_level_recommender_names():
    offenders = [
        (str(path.relative_to(SERVER)), module)
        for path in SERVER.rglob("*.py")
        for module in _imports(path)
        if module.startswith("recommender.")
    ]
    assert offenders == []
