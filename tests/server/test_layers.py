"""The server's layers (docs/server.md): services and the web app never import the HTTP API, and the server uses the
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


def _api_imports(folder: str) -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(SERVER)), module)
        for path in (SERVER / folder).rglob("*.py")
        for module in _imports(path)
        if module == "server.api" or module.startswith("server.api.")
    ]


def test_services_never_import_the_http_layer():
    assert _api_imports("services") == []


def test_the_web_app_never_imports_the_api():
    assert _api_imports("web") == []


def test_the_server_imports_only_top_level_recommender_names():
    offenders = [
        (str(path.relative_to(SERVER)), module)
        for path in SERVER.rglob("*.py")
        for module in _imports(path)
        if module.startswith("recommender.")
    ]
    assert offenders == []
