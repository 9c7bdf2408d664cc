"""Tests help themselves from tests/support/: no module under tests/ imports a test module or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

from core.settings import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"


def imported_modules(source: str, package: tuple[str, ...]) -> list[str]:
    """Every module `source` imports, by dotted name (relative imports resolved against `package`)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from tests.web import test_x` names the module in the alias
            found += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return found


def forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.split(".", 1)[0] == "tests" and (last.startswith("test_") or last == "conftest")


def offences(root: Path) -> list[str]:
    return [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in sorted(root.rglob("*.py"))
        for module in imported_modules(path.read_text(encoding="utf-8"), path.relative_to(PROJECT_ROOT).parent.parts)
        if forbidden(module)
    ]


def test_no_module_under_tests_imports_a_test_module_or_a_conftest():
    assert offences(TESTS) == []


def test_the_check_sees_every_kind_of_import():
    sample = {
        "from tests.web.test_a import helper": True,
        "from .conftest import helper": True,
        "from tests.e2e.conftest import helper": True,
        "from tests.web import test_a": True,
        "import tests.core.test_b": True,
        "from . import conftest": True,
        "from tests.support import factories": False,
        "from tests.support.api import assert_error": False,
        "from ..support.hostile import snapshot": False,
        "from ..hostile.conftest import snapshot": True,
        "import pytest": False,
    }
    for source, bad in sample.items():
        assert any(forbidden(m) for m in imported_modules(source, ("tests", "web"))) is bad, source
