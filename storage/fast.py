"""Hot statements run straight on the DB-API cursor of the session's connection.

The bot runs the same five or six statements for every message (log it, take the chain,
insert the entry, its event and its items). Through SQLAlchemy's execution machinery each
costs ~60 µs of Python on top of the ~10 µs the database needs; here each is compiled once
per dialect and parameter set, and its values go through the same type processors
SQLAlchemy would apply, so the rows stored are the same. Inside the session's transaction
(and its savepoints), like any other statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


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
        cursor = connection.connection.cursor()
        cursor.execute(sql, _processed(params, processors, constants))
        return cursor

    def execute_many(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        connection = session.connection()
        sql, processors, constants = self._prepare(connection.dialect, tuple(rows[0]))
        cursor = connection.connection.cursor()
        cursor.executemany(sql, [_processed(row, processors, constants) for row in rows])
        cursor.close()

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
