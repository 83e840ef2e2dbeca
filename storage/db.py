"""Engines and sessions: SQLite (WAL) by default, PostgreSQL (psycopg 3) in production.

The schema is brought to the newest migration the first time a database is opened.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import weakref
from pathlib import Path

from sqlalchemy import Engine, Insert, Table, create_engine, event, make_url, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

import storage.revision  # noqa: F401  (its flush hook bumps the set-up revision)
from storage.models import Platform

DEFAULT_URL = "sqlite:///jielong.db"
_upgraded: set[str] = set()
_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """`--db` value, else $JIELONG_DB, else a SQLite file in the working directory."""
    url = url or os.environ.get("JIELONG_DB") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def display_url(url: str | None = None) -> str:
    """The database URL as it may be shown (messages, logs): any password masked."""
    try:
        return make_url(database_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given, it holds nothing to hide
        return database_url(url)


def insert_unless_present(dialect: str, table: Table, keys: list[str]) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING: where two writers create the same row at once,
    the second waits for the first (PostgreSQL) and keeps its row instead of failing."""
    return upsert_insert(dialect, table).on_conflict_do_nothing(index_elements=keys)


def upsert_insert(dialect: str, table: Table):
    """The dialect's INSERT, which can say ON CONFLICT (both databases speak it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def lock_for_writing(session: Session) -> None:
    """SQLite: take the database's write lock now, at the start of a transaction that reads and
    then writes what it read (claims), so what it reads stays true until it writes; the
    others wait their turn (busy timeout) instead of failing. PostgreSQL locks rows instead."""
    if session.get_bind().dialect.name == "sqlite":
        # A write statement that changes nothing still takes the lock (pysqlite opens the
        # transaction before it); every migrated database has this table.
        session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 0"))


def commit_without_waiting(session: Session) -> None:
    """PostgreSQL: this transaction's commit does not wait for the disk (a server crash may
    forget it, never corrupt anything). For bookkeeping that is safe to lose: the outbox's
    claims and sent marks, where forgetting one only means a message is sent again. SQLite
    (WAL, synchronous=NORMAL) does not wait at commit anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


# SQLite primary result codes that go away by themselves: busy/locked (another writer),
# out of memory, I/O error, disk full, cannot open, lock protocol.
_SQLITE_TRANSIENT = {5, 6, 7, 10, 13, 14, 15}
# PostgreSQL SQLSTATE classes and codes that do: connection exception, transaction rollback
# (serialization, deadlock), insufficient resources (disk full, out of memory), operator
# intervention (shutdown, cannot connect now, statement cancelled), system error (I/O), lock
# not available.
_PG_TRANSIENT_CLASSES = {"08", "40", "53", "57", "58"}
_PG_TRANSIENT_CODES = {"55P03"}


def is_transient(error: BaseException) -> bool:
    """Would the same work succeed if tried again a little later? True for a lost connection,
    a lock held past the timeout, a full disk, a server restart; False for a bug or a value the
    database refuses (those fail the same way every time). Takes SQLAlchemy's wrapped errors and
    the driver's own (the hot statements run on the DB-API cursor)."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection free in time
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_TRANSIENT
    state = getattr(error, "sqlstate", None)
    if state:
        return state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT_CODES
    # A psycopg error without a SQLSTATE is the connection itself (closed, reset, unreachable).
    # (Where psycopg was never imported, none of its errors can be here.)
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not memory and engine.url.database:
            _checkpointer.watch(engine, engine.url.database)
        return engine
    engine = create_engine(url)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 5.0  # seconds a pooled connection may rest before it is checked at checkout
_USED = "jielong.last_used"


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for a connection that rested: a ping is a round trip, which a
    message handled every few milliseconds should not pay (a connection lost within those few
    seconds fails its statement, and the message pipeline tries it again)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection, record) -> None:
        record.info[_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_USED, 0.0) < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise sa_exc.DisconnectionError("connection lost while idle")  # the pool reconnects


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # The background checkpointer keeps the WAL short; a writer checkpoints itself only
    # when the WAL grows far beyond that (a commit that checkpoints takes ~5 ms more).
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


class _Checkpointer:
    """One daemon thread per process that checkpoints the WAL of every open SQLite file
    database a few times a second, so message commits do not pay for it. A database is
    watched while its engine lives."""

    interval = 0.25

    def __init__(self) -> None:
        self._paths: dict[str, int] = {}  # path → engines alive
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, engine: Engine, path: str) -> None:
        path = os.path.abspath(path)
        with self._guard:
            self._paths[path] = self._paths.get(path, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self._thread.start()
        weakref.finalize(engine, self._unwatch, path)

    def _unwatch(self, path: str) -> None:
        with self._guard:
            left = self._paths.get(path, 1) - 1
            if left > 0:
                self._paths[path] = left
            else:
                self._paths.pop(path, None)

    def _run(self) -> None:
        connections: dict[str, sqlite3.Connection] = {}
        while True:
            time.sleep(self.interval)
            with self._guard:
                paths = set(self._paths)
            for path in set(connections) - paths:
                connections.pop(path).close()
            for path in paths:
                try:
                    if path not in connections:
                        if not os.path.exists(path):
                            continue
                        connections[path] = sqlite3.connect(path, timeout=0.1, check_same_thread=False)
                    # PASSIVE: copies what it can without waiting for or blocking writers.
                    connections[path].execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    stale = connections.pop(path, None)
                    if stale is not None:
                        stale.close()


_checkpointer = _Checkpointer()


def upgrade(target: Engine | str | None = None, revision: str = "head") -> None:
    """Apply every migration up to `revision` (alembic, `upgrade head`): on an engine, or on a
    database URL (None: the default, see `database_url`). Safe to run again: applied ones are
    skipped."""
    import logging

    # Before importing alembic: its plugins log at INFO on import.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command
    from alembic.config import Config

    engine = target if isinstance(target, Engine) else make_engine(target)

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch migration on SQLite rebuilds a table (copy, drop, rename): with
                # foreign keys enforced, dropping a table other rows point at fails. They are
                # checked once the migration is done instead (the pragma is a no-op inside a
                # transaction, so it is set before one begins).
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Several processes may open a fresh database at once: one migrates, the
                    # others wait for it and then find nothing left to do.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7310514)")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    finally:
        if engine is not target:
            engine.dispose()


def open_db(url: str | None = None) -> sessionmaker[Session]:
    """A sessionmaker for the database, migrated to the newest schema on first use."""
    engine = make_engine(url)
    key = engine.url.render_as_string(hide_password=False)
    in_memory = engine.url.database in (None, "", ":memory:")
    with _lock:
        if in_memory or key not in _upgraded:
            upgrade(engine)
            if not in_memory:
                _upgraded.add(key)
    return sessionmaker(engine, expire_on_commit=False)


class DatabaseNotReady(Exception):
    """A database a command cannot work on as it is: missing, or without a set-up."""


def sqlite_file(url: str | None = None) -> Path | None:
    """The file of a SQLite database URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_existing(url: str | None = None) -> sessionmaker[Session]:
    """`open_db` for commands that read what a set-up put there (export, replay, rebuild,
    console, run): a SQLite file that does not exist is not created, and a database without a
    set-up is refused (forgetting --db must not produce an empty jielong.db and empty exports)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseNotReady("does not exist")
    sessions = open_db(url)
    with sessions() as session:
        if session.scalar(select(Platform.id).limit(1)) is None:
            sessions.kw["bind"].dispose()
            raise DatabaseNotReady("holds no set-up")
    return sessions
