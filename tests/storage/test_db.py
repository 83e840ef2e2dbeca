"""Engines, URLs and migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import database_url, make_engine, open_db, upgrade
from storage.models import Base


@pytest.mark.parametrize(("given", "env", "expected"), [
    ("sqlite:///x.db", "sqlite:///env.db", "sqlite:///x.db"),
    (None, "sqlite:///env.db", "sqlite:///env.db"),
    (None, None, "sqlite:///jielong.db"),
    ("postgresql://u@h/db", None, "postgresql+psycopg://u@h/db"),
    ("postgres://u@h/db", None, "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", None, "postgresql+psycopg://u@h/db"),
], ids=["flag-wins", "env", "default-file", "plain-postgresql", "postgres-scheme", "already-psycopg"])
def test_database_url(monkeypatch, given, env, expected):
    if env is None:
        monkeypatch.delenv("JIELONG_DB", raising=False)
    else:
        monkeypatch.setenv("JIELONG_DB", env)
    assert database_url(given) == expected


def test_migrations_build_exactly_the_models(sessions):
    """The alembic head and storage.models describe the same schema (nothing to autogenerate)."""
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_accepts_a_url(db_url):
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            version = conn.execute(text("select version_num from alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {"messages", "entries", "order_items", "entry_events", "outbox"} <= tables
    assert version


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    sessions = open_db(f"sqlite:///{tmp_path / 'wal.db'}")
    with sessions() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar_one() > 0
    sessions.kw["bind"].dispose()


def test_the_wal_checkpointer_watches_a_file_database_while_its_engine_lives(tmp_path):
    import gc
    import os

    from storage.db import _checkpointer

    path = os.path.abspath(tmp_path / "watched.db")
    engine = make_engine(f"sqlite:///{path}")
    assert path in _checkpointer._paths
    memory = make_engine("sqlite://")
    assert not any(p.endswith(":memory:") for p in _checkpointer._paths)
    engine.dispose()
    del engine, memory
    gc.collect()
    assert path not in _checkpointer._paths
