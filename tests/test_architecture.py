"""The layers of src/meetsrv, as the README's Layout draws them: doors, sockets and the staff
pages reach data through core (sockets also meet the bus); core holds the rules over store and
the bus; store holds the SQL and imports no rule. Imports made for type checking only (under
`if TYPE_CHECKING:`) are not dependencies and do not count."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "meetsrv"

# layer -> the meetsrv packages and modules it may import
ALLOWED = {
    "core": {"core", "store", "bus", "config"},
    "store": {"store", "config"},
    "doors": {"doors", "core", "http", "ws", "openapi", "config", "metrics"},
    "ws": {"ws", "core", "bus", "http", "config", "metrics"},
    "admin": {"admin", "core", "http", "config"},
}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def imports_across_layers(source: str, layer: str) -> list[tuple[int, str]]:
    """(line, module) of each meetsrv import in `source`, a module of `layer`, that the layer
    may not make."""
    tree = ast.parse(source)
    typing_only = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "meetsrv" and len(parts) > 1 and parts[1] not in ALLOWED[layer]:
                found.append((node.lineno, module))
    return found


def test_each_layer_imports_only_what_it_may():
    crossings = []
    for layer in ALLOWED:
        for path in sorted((SRC / layer).rglob("*.py")):
            crossings += [f"{path.relative_to(SRC)}:{line} imports {module}"
                          for line, module in imports_across_layers(path.read_text(), layer)]
    assert crossings == []


def test_the_check_sees_a_crossing_and_ignores_type_only_imports():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from meetsrv.core.chats.service import ChatService\n"
        "import meetsrv.store.db\n"
        "if TYPE_CHECKING:\n"
        "    from meetsrv.store.accounts.users import User\n"
    )
    assert imports_across_layers(source, "doors") == [(3, "meetsrv.store.db")]
    assert imports_across_layers(source, "core") == []
    assert imports_across_layers("from meetsrv.core.clock import Clock\n", "store") == [(1, "meetsrv.core.clock")]
