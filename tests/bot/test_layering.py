"""The direction of imports (README, Architecture): bot → actions → desk → storage.

Nothing in `bot/` or `actions/` imports SQLAlchemy (queries live in `storage/repositories/`), and
nothing below `bot/` imports a web framework or a chat platform's SDK. Imports are read with
`ast`, so one inside a function or under `TYPE_CHECKING` counts too.

No code reaches into another object's private attributes (`obj._name`), which for a library's
objects means its internals: a minor release of the library may change them without notice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_SQLALCHEMY = ("bot", "actions")
PACKAGES = ("bot", "actions", "nlu", "desk", "storage")
LOOKUPS = ("getattr", "setattr", "hasattr", "delattr")
BELOW_BOT = ("actions", "desk", "nlu", "storage")
TRANSPORTS = ("fastapi", "starlette", "slack_bolt", "slack_sdk", "telegram", "socketio", "engineio")


def imported(path: Path) -> set[str]:
    """The top-level package of every module `path` imports (relative imports left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {', '.join(sorted(imported(path) & set(forbidden)))}"
        for path in modules(*packages)
        if imported(path) & set(forbidden)
    ]


@pytest.mark.parametrize("package", ["bot", "actions"])
def test_never_imports_sqlalchemy(package: str) -> None:
    assert package in NO_SQLALCHEMY
    assert modules(package), "no modules found: is ROOT right?"
    assert offenders((package,), ("sqlalchemy",)) == []


def test_nothing_below_bot_imports_a_transport() -> None:
    assert modules(*BELOW_BOT)
    assert offenders(BELOW_BOT, TRANSPORTS) == []


def test_the_desk_and_storage_never_import_the_layers_above() -> None:
    """desk/ → storage/ only: the desk's customer notices are catalog message ids (bot/notices.py)."""
    assert offenders(("desk", "storage"), ("bot", "actions")) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import sqlalchemy.orm as orm", {"sqlalchemy"}),
        ("from sqlalchemy import select", {"sqlalchemy"}),
        ("def f():\n    from telegram import Bot", {"telegram"}),
        ("from . import sibling", set()),
        ("from storage.repositories import Session", {"storage"}),
    ],
)
def test_imports_are_read_wherever_they_are(tmp_path: Path, source: str, found: set[str]) -> None:
    module = tmp_path / "module.py"
    module.write_text(source, encoding="utf-8")
    assert imported(module) == found


def private_reaches(source: str) -> list[str]:
    """`obj._name` (or `getattr(obj, "_name")`) on anything but `self` or `cls`, any use of another object's `__dict__` or a
    write to its `__class__`, and imports of another package's private modules or names, each with its line number."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in LOOKUPS:
            named = node.args[1] if len(node.args) > 1 else None
            if isinstance(named, ast.Constant) and str(named.value).startswith("_"):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            parts = [*(node.module or "").split("."), *(a.name for a in node.names)]
            if any(part.startswith("_") and not part.startswith("__") for part in parts):
                found.append(f"{node.lineno}: {ast.unparse(node)}")  # another package's private module
        if isinstance(node, ast.Import) and any(
            part.startswith("_") and not part.startswith("__")
            for a in node.names
            for part in a.name.split(".")
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        if not isinstance(node, ast.Attribute):
            continue
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        private = node.attr.startswith("_") and not node.attr.startswith("__")
        swapped = node.attr == "__class__" and not isinstance(node.ctx, ast.Load)
        if (private and not own) or swapped or (node.attr == "__dict__" and not own):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_attribute_of_another_object_is_used() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules(*PACKAGES, "bench")
        for line in private_reaches(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "reached"),
    [
        ("engine._connection.close()", True),
        ("conn.driver_connection._conn", True),
        ("def f(x):\n    return getattr(x, 'name')._private", True),
        ("getattr(conn, '_connection', None)", True),
        ("setattr(obj, '__class__', Other)", True),
        ("getattr(settings, 'name')", False),
        ("obj.__class__ = Other", True),
        ("obj.__dict__.update(values)", True),
        ("self._lock", False),
        ("cls._cache", False),
        ("type(obj).__name__", False),
        ("print(obj.__class__)", False),
        ("from re import _parser as sre_parse", True),
        ("import re._constants", True),
        ("from sqlalchemy.engine import _py_row", True),
        ("from __future__ import annotations", False),
        ("from . import _helpers", False),
    ],
)
def test_private_reaches_are_read(source: str, reached: bool) -> None:
    assert bool(private_reaches(source)) is reached


MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    """A module a maintainer reads in one sitting; past that it is two modules.

    Tests and benchmarks are read as often as the code, so the rule holds for them too.
    """
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules(*PACKAGES, "tests", "bench")
        if "node_modules" not in path.parts
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_packages_are_at_the_top_level() -> None:
    assert not (ROOT / "src").exists()
    assert all((ROOT / package / "__init__.py").is_file() for package in PACKAGES)
