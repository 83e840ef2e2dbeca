"""The layers import only downwards: bot → parsers, storage; storage → parsers; parsers → neither.

Also: only the wechaty transport imports wechaty, only the scheduler module imports APScheduler.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "parsers": {"bot", "storage", "sqlalchemy", "apscheduler", "wechaty", "click"},
    "storage": {"bot", "apscheduler", "wechaty", "click"},
}
ONLY_IN = {
    "wechaty": {"bot/transports/wechaty.py"},
    "wechaty_puppet": {"bot/transports/wechaty.py"},
    "wechaty_puppet_service": {"bot/transports/wechaty.py"},
    "apscheduler": {"bot/scheduler.py"},
    "matplotlib": {"bot/charts.py"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package: str) -> None:
    offences = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in _sources(package)
    }
    assert {p: mods for p, mods in offences.items() if mods} == {}


@pytest.mark.parametrize("module", sorted(ONLY_IN))
def test_sdk_imported_in_one_place(module: str) -> None:
    users = {
        str(path.relative_to(ROOT))
        for package in ("bot", "parsers", "storage")
        for path in _sources(package)
        if module in _imported_roots(path)
    }
    assert users <= ONLY_IN[module]


# SQL lives in storage/: bot/ may name sessions and errors, never build a statement.
BOT_SQLALCHEMY_ALLOWED = {"sqlalchemy.orm", "sqlalchemy.exc"}
BOT_SQLALCHEMY_NAMES_ALLOWED = {"inspect"}  # reading an ORM row's columns is not SQL
BOT_MODULES_WITH_SQL: set[str] = set()


def _sqlalchemy_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            uses += [alias.name for alias in node.names if alias.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            if node.module == "sqlalchemy":
                uses += [f"sqlalchemy.{a.name}" for a in node.names if a.name not in BOT_SQLALCHEMY_NAMES_ALLOWED]
            elif node.module not in BOT_SQLALCHEMY_ALLOWED:
                uses.append(node.module)
    return uses


def test_bot_builds_no_sql() -> None:
    offences = {
        str(path.relative_to(ROOT)): _sqlalchemy_uses(path)
        for path in _sources("bot")
        if str(path.relative_to(ROOT)) not in BOT_MODULES_WITH_SQL
    }
    assert {p: uses for p, uses in offences.items() if uses} == {}
