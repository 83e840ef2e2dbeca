"""Database faults on demand, the way a real one fails: before a chosen statement, PostgreSQL's
backend is terminated (`pg_terminate_backend`, as a server restart or failover would) and
SQLite answers "database is locked" (a writer held it past the busy timeout).

Every cursor of the engine is watched — SQLAlchemy's and the raw ones the hot path uses — by
giving its connections a cursor class of our own (new connections: the pool is emptied when
the faults are installed).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy import Engine, event

SQLITE_BUSY = 5


@dataclass
class Rule:
    prefix: str  # the statement's first words, upper case, e.g. "INSERT INTO ENTRY_EVENTS"
    times: int  # how many more statements to fail


class Faults:
    def __init__(self, engine: Engine, sqlite_error: tuple[str, int] = ("database is locked", SQLITE_BUSY)):
        self.sqlite_error = sqlite_error  # SQLite's message and result code: locked, disk full (13), I/O (10)
        self.rules: list[Rule] = []
        self.fired = 0
        self.postgresql = engine.dialect.name == "postgresql"
        faults = self

        if self.postgresql:
            import psycopg

            class FaultyCursor(psycopg.Cursor):
                def execute(self, query, params=None, **kwargs):
                    if faults._fire(query):
                        super().execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    return super().execute(query, params, **kwargs)

                def executemany(self, query, params_seq, **kwargs):
                    if faults._fire(query):
                        super().execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    return super().executemany(query, params_seq, **kwargs)

            @event.listens_for(engine, "connect")
            def _watch(dbapi_connection, _record) -> None:
                dbapi_connection.cursor_factory = FaultyCursor
        else:
            class FaultySqliteCursor(sqlite3.Cursor):
                def execute(self, sql, parameters=()):
                    faults._raise_if(sql)
                    return super().execute(sql, parameters)

                def executemany(self, sql, seq_of_parameters):
                    faults._raise_if(sql)
                    return super().executemany(sql, seq_of_parameters)

            class FaultySqliteConnection(sqlite3.Connection):
                def cursor(self, factory=FaultySqliteCursor):
                    return super().cursor(factory)

            @event.listens_for(engine, "do_connect")
            def _watch(_dialect, _record, _cargs, cparams) -> None:
                cparams["factory"] = FaultySqliteConnection

        engine.dispose()  # connections made from now on are watched

    def arm(self, prefix: str, times: int = 1) -> None:
        self.rules.append(Rule(prefix.upper(), times))

    def disarm(self) -> None:
        self.rules.clear()

    def _fire(self, sql) -> bool:
        text = str(sql).lstrip().upper()
        for rule in self.rules:
            if rule.times > 0 and text.startswith(rule.prefix):
                rule.times -= 1
                self.fired += 1
                return True
        return False

    def _raise_if(self, sql) -> None:
        if self._fire(sql):
            text, code = self.sqlite_error
            error = sqlite3.OperationalError(text)
            error.sqlite_errorcode = code
            raise error
