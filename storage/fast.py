"""Hot statements run straight on the DB-API cursor of the session's connection.

The bot runs the same five or six statements for every message (log it, take the chain,
insert the entry, its event and its items). Through SQLAlchemy's execution machinery each
costs ~60 µs of Python on top of the ~10 µs the database needs; here each is compiled once
per dialect and parameter set, and its values go through the same type processors
SQLAlchemy would apply, so the rows stored are the same. Inside the session's transaction
(and its savepoints), like any other statement.

On PostgreSQL a statement whose result nobody reads (`send`, `execute_many`: an event, the
items of an entry, taking a lock) does not wait for its own round trip: it is queued and goes
out in one pipeline (psycopg's pipeline mode) with the next statement whose result is read — another
FastStatement, any SQLAlchemy statement (the queue is sent first), or the COMMIT. The server
still runs each as its own statement, in order; an error in a queued one is raised where the
queue is sent, inside the same transaction. A rollback drops the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

_QUEUE = "jielong.queued"  # Connection.info: [(sql, values, many)] waiting for the next round trip


class FastStatement:
    def __init__(self, statement: ClauseElement):
        self._statement = statement
        self._prepared: dict[tuple[str, tuple[str, ...]], tuple[str, dict, dict]] = {}

    def execute(self, session: Session, params: dict[str, Any]) -> int:
        """Run once; the number of rows it changed."""
        cursor = self._cursor(session, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def fetch_one(self, session: Session, params: dict[str, Any]) -> tuple | None:
        """Run once; the first row it returns (a SELECT, or a RETURNING clause)."""
        cursor = self._cursor(session, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def _cursor(self, session: Session, params: dict[str, Any]):
        connection = session.connection()
        sql, processors, constants = self._prepare(connection.dialect, tuple(params))
        values = _processed(params, processors, constants)
        queued = connection.info.pop(_QUEUE, None)
        if queued:
            return _send_queued(connection, queued, (sql, values))
        cursor = connection.connection.cursor()
        cursor.execute(sql, values)
        return cursor

    def execute_many(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Run once per row. Nothing is read back, so on PostgreSQL it is sent like `send`."""
        connection = session.connection()
        sql, processors, constants = self._prepare(connection.dialect, tuple(rows[0]))
        values = [_processed(row, processors, constants) for row in rows]
        if connection.dialect.name == "postgresql":
            connection.info.setdefault(_QUEUE, []).append((sql, values, True))
            return
        cursor = connection.connection.cursor()
        cursor.executemany(sql, values)
        cursor.close()

    def send(self, session: Session, params: dict[str, Any]) -> None:
        """Run once, for its effect only: on PostgreSQL it is sent with the next statement
        whose result is read (see the module's docstring); elsewhere at once."""
        connection = session.connection()
        sql, processors, constants = self._prepare(connection.dialect, tuple(params))
        values = _processed(params, processors, constants)
        if connection.dialect.name != "postgresql":
            connection.connection.cursor().execute(sql, values).close()
            return
        connection.info.setdefault(_QUEUE, []).append((sql, values, False))


    def bound(self, dialect: Dialect, params: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The SQL in the driver's parameter style and its values, processed as SQLAlchemy would
        process them: for a driver call SQLAlchemy does not make, such as PostgreSQL's COPY."""
        params = params or {}
        sql, processors, constants = self._prepare(dialect, tuple(params))
        return sql, _processed(params, processors, constants)

    def _prepare(self, dialect: Dialect, keys: tuple[str, ...]):
        key = (dialect.name, keys)
        prepared = self._prepared.get(key)
        if prepared is None:
            named = type(dialect)(paramstyle="named" if dialect.paramstyle in ("qmark", "numeric") else dialect.paramstyle)
            compiled = self._statement.compile(dialect=named, column_keys=list(keys))
            processors = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            # values the statement carries itself (the 1 of "version + 1")
            constants = _processed({k: v for k, v in compiled.params.items() if k not in keys}, processors)
            prepared = self._prepared[key] = (compiled.string, processors, constants)
        return prepared


def _processed(params: dict[str, Any], processors: dict[str, Callable[[Any], Any]],
               constants: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {k: (processors[k](v) if k in processors and v is not None else v) for k, v in params.items()}
    return {**constants, **values} if constants else values


def _send_queued(connection: Connection, queued: list, last: tuple[str, dict] | None = None, *,
                 commit: bool = False):
    """The queued statements, then `last` (its cursor is returned, results read) or a COMMIT,
    in one pipeline: one round trip to the server."""
    if not queued and last is None and not commit:
        return None
    driver = connection.connection.driver_connection
    with driver.pipeline():
        for sql, values, many in queued:
            cursor = driver.cursor()
            (cursor.executemany if many else cursor.execute)(sql, values)
        if commit:
            # As a statement of the pipeline: `driver.commit()` would wait for its own sync.
            driver.cursor().execute("COMMIT")
            return None
        if last is None:
            return None
        cursor = driver.cursor()
        cursor.execute(*last)
    return cursor  # leaving the pipeline waited for every result: this one's are readable


def _take_queue(connection: Connection) -> list | None:
    # A connection lost or invalidated has no queue worth sending (and its pool record's info
    # is cleared when it reconnects).
    if connection.invalidated or connection.closed:
        return None
    try:
        info = connection.info
    except SQLAlchemyError:
        return None
    return info.pop(_QUEUE, None) if _QUEUE in info else None


@event.listens_for(Engine, "before_cursor_execute")
def _send_before_others(connection: Connection, _cursor, _statement, _parameters, _context, _many) -> None:
    queued = _take_queue(connection)
    if queued:
        _send_queued(connection, queued)


@event.listens_for(Engine, "commit")
def _send_with_commit(connection: Connection) -> None:
    queued = _take_queue(connection)
    if queued:
        # COMMIT goes in the same round trip; SQLAlchemy's own commit then finds nothing to do.
        _send_queued(connection, queued, commit=True)


@event.listens_for(Engine, "rollback")
@event.listens_for(Engine, "rollback_savepoint")
def _drop_queue(connection: Connection, *_args) -> None:
    # Whatever was queued belongs to the work being rolled back (a savepoint sends the queue
    # before it is set, so nothing queued predates it).
    _take_queue(connection)
