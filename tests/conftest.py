"""Shared fixtures: databases (SQLite, PostgreSQL), a fixed clock, an app with a fake transport."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from bot.app import App
from bot.context import AppContext, SettableClock, Settings
from bot.transports.fake import FakeTransport
from storage.db import open_db
from storage.setup import apply_setup, load_setup_text

TZ = ZoneInfo("Asia/Shanghai")
PG_ADMIN_URL = os.environ.get("JIELONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GROUP = "阳光小区3期团购群"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time on November `day`, 2026, in Asia/Shanghai."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=TZ)


def demo_setup_text() -> str:
    return resources.files("bot.demo").joinpath("setup.toml").read_text(encoding="utf-8")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no server here
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


def wait_for_a_lock_wait(sessions, timeout: float = 10) -> None:
    """Until some session of this PostgreSQL database waits on a lock held by another."""
    deadline = time.monotonic() + timeout
    with sessions() as session:
        while time.monotonic() < deadline:
            waiting = session.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            session.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    return _pg_available()


@contextmanager
def fresh_pg_database(reason: str | None):
    """A new PostgreSQL database, dropped afterwards (skipped where no server is reachable;
    failed under CI, which always has one)."""
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"jielong_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_reason):
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database(pg_reason) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The same test on SQLite (a file, WAL) and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sessions(db_url):
    maker = open_db(db_url)
    yield maker
    maker.kw["bind"].dispose()


@pytest.fixture
def loaded(sessions):
    """The demo set-up loaded: leaders 李姐 (阳光小区3期团购群) and 老周, campaign fruit-1125."""
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text()))
    return sessions


@pytest.fixture
def clock():
    return SettableClock(at(25, 8))


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def app(loaded, clock, settings):
    return App(AppContext(loaded, clock, settings))


@pytest.fixture
def chat(app, clock):
    return FakeTransport(app, clock)
