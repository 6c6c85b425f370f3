"""The direction of imports (ARCHITECTURE.md): bot → actions → desk → storage.

Nothing in `bot/` or `actions/` imports SQLAlchemy (queries live in `storage/repositories/`), and
nothing below `bot/` imports a web framework or a chat platform's SDK. Imports are read with
`ast`, so one inside a function or under `TYPE_CHECKING` counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_SQLALCHEMY = ("bot", "actions")
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
