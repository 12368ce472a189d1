"""The tests' own layout: helpers live in tests/clients/ (one client per door, one image helper)
and tests/support/; no test module imports another test module or a conftest, so each test file
can move, split or go without breaking another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HELPER_PACKAGES = ("clients", "support")


def _is_test_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts[1:])


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a `from ... import` names (relative ones against `package`)."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_test_modules(source: str, package: str) -> list[tuple[int, str]]:
    """The test modules and conftests that `source`, a module of `package`, imports: (line,
    module) pairs."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, package)
            # `from tests import test_rooms` names the module among the imported names
            names = [module] if _is_test_module(module) else [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if _is_test_module(name)]
    return sorted(set(found))


def _package_of(path: Path) -> str:
    return ".".join(("tests",) + path.relative_to(TESTS).parent.parts)


def test_no_test_module_imports_another():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        imported = imported_test_modules(path.read_text(encoding="utf-8"), _package_of(path))
        if imported:
            offenders[str(path.relative_to(TESTS.parent))] = imported
    assert not offenders, "import helpers from tests.clients or tests.support instead:\n" + "\n".join(
        f"{path} imports " + ", ".join(f"{module} (line {line})" for line, module in imported) for path, imported in offenders.items())


def test_the_check_sees_every_form_of_import():
    """The check above can fail: each way of importing a test module is found."""
    importing = {
        "import tests.test_rooms": [(1, "tests.test_rooms")],
        "import tests.test_rooms as rooms": [(1, "tests.test_rooms")],
        "from tests.test_rooms import register": [(1, "tests.test_rooms")],
        "from tests import test_directory_admin as admin": [(1, "tests.test_directory_admin")],
        "from tests.core.test_limiter import Accounts": [(1, "tests.core.test_limiter")],
        "from tests.conftest import REDIS": [(1, "tests.conftest")],
        "from .test_social import login": [(1, "tests.test_social")],
        "from . import test_social": [(1, "tests.test_social")],
        "def f():\n    from tests.test_social_chat import approve": [(2, "tests.test_social_chat")],
    }
    for source, expected in importing.items():
        assert imported_test_modules(source, "tests") == expected, source
    assert imported_test_modules("from ..test_rooms import auth", "tests.core") == [(1, "tests.test_rooms")]
    assert imported_test_modules("from . import test_names", "tests.core") == [(1, "tests.core.test_names")]
    for fine in ("from tests.clients.rooms import auth, register", "from tests.clients import phone",
                 "from tests.support.backends import REDIS", "import pytest", "from meetsrv.core import errors",
                 "from tests.clients.base import http  # test_rooms"):
        assert imported_test_modules(fine, "tests") == [], fine


def test_helpers_live_in_their_packages():
    """tests/ holds test modules and conftest.py; a helper module goes to tests/clients/ (a client
    of a door) or tests/support/ (anything else), not next to the tests."""
    loose = [p.name for p in TESTS.glob("*.py")
             if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")]
    assert loose == []
    for package in HELPER_PACKAGES:
        assert (TESTS / package / "__init__.py").is_file()
        assert [p.name for p in (TESTS / package).glob("test_*.py")] == [], f"tests/{package} holds helpers only"
    doors = {"rooms", "social", "campus", "phone", "directory"}
    assert doors <= {p.stem for p in (TESTS / "clients").glob("*.py")}
    assert (TESTS / "clients" / "images.py").is_file()
