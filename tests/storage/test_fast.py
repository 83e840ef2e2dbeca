"""FastStatement stores exactly what SQLAlchemy's own execution stores (types, constants)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, func, insert, select, update

from storage.db import open_db
from storage.fast import FastStatement
from storage.models import MessageLog, OrderItem
from tests.storage.helpers import Feed, line, load
from tests.storage.helpers import at as at_hour

WHEN = datetime(2026, 11, 24, 20, 1, 5, 123456, tzinfo=UTC)


def test_rows_read_back_the_same_as_through_sqlalchemy(sessions):
    table = MessageLog.__table__
    fast = FastStatement(insert(table).returning(table.c.id))
    values = dict(platform="p", chat_id=None, chat_name="群", sender_id="wxid_a", sender_name="王姐",
                  text="1. 王姐 西瓜2个", sent_at=WHEN, received_at=WHEN)
    with sessions.begin() as session:
        fast_id = fast.fetch_one(session, {**values, "message_id": "fast"})[0]
        session.execute(insert(table).values(**values, message_id="core"))
    with sessions() as session:
        rows = {r.message_id: r for r in session.scalars(select(MessageLog))}
    assert rows["fast"].id == fast_id
    columns = [c.key for c in table.c if c.key not in ("id", "message_id")]
    assert [getattr(rows["fast"], c) for c in columns] == [getattr(rows["core"], c) for c in columns]
    assert rows["fast"].sent_at == WHEN


def test_constants_in_the_statement_and_row_counts(sessions):
    load(sessions)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at_hour(10))
    items = OrderItem.__table__
    fast = FastStatement(update(items).where(items.c.member_id == bindparam("member"))
                         .values(qty=items.c.qty + Decimal("0.5")))
    with sessions.begin() as session:
        assert fast.execute(session, {"member": "wxid_wang"}) == 1
        assert fast.execute(session, {"member": "nobody"}) == 0
    with sessions() as session:
        assert session.scalar(select(OrderItem.qty)) == Decimal("2.5")


def test_many_rows_in_one_call_and_rolled_back_with_the_session(sessions):
    table = MessageLog.__table__
    fast = FastStatement(insert(table))
    rows = [dict(platform="p", message_id=f"m{k}", chat_id=None, chat_name=None, sender_id="a", sender_name="",
                 text="t", sent_at=WHEN, received_at=WHEN) for k in range(3)]
    with sessions() as session:
        fast.execute_many(session, rows)
        assert len(session.scalars(select(MessageLog.id)).all()) == 3
        session.rollback()
        assert session.scalars(select(MessageLog.id)).all() == []


def test_bound_sql_and_values_run_on_the_driver_as_sqlalchemy_would(sessions):
    table = MessageLog.__table__
    values = dict(platform="p", message_id="m1", chat_id=None, chat_name="群", sender_id="wxid_a",
                  sender_name="王姐", text="1. 王姐 西瓜2个", sent_at=WHEN, received_at=WHEN)
    with sessions.begin() as session:
        session.execute(insert(table).values(**values))
    query = select(table.c.message_id).where(table.c.sent_at >= WHEN, table.c.sender_id == bindparam("who"))
    with sessions() as session:
        connection = session.connection()
        sql, params = FastStatement(query).bound(connection.dialect, {"who": "wxid_a"})
        cursor = connection.connection.cursor()
        cursor.execute(sql, params)
        # on SQLite the time only matches once processed into the stored text form
        assert cursor.fetchall() == [("m1",)]


def _message(mid: str) -> dict:
    return dict(platform="p", message_id=mid, chat_id=None, chat_name=None, sender_id="a", sender_name="",
                text="t", sent_at=WHEN, received_at=WHEN)


INSERT_MESSAGE = FastStatement(insert(MessageLog.__table__))
COUNT = FastStatement(select(func.count()).select_from(MessageLog.__table__))


def _ids(sessions) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(MessageLog.message_id)))


def test_a_sent_statement_is_seen_by_the_next_fast_and_sqlalchemy_statements(sessions):
    with sessions.begin() as session:
        INSERT_MESSAGE.send(session, _message("m1"))
        assert COUNT.fetch_one(session, {})[0] == 1  # goes out with this one
        INSERT_MESSAGE.send(session, _message("m2"))
        assert session.scalar(select(func.count()).select_from(MessageLog)) == 2  # sent before it
        INSERT_MESSAGE.send(session, _message("m3"))
        INSERT_MESSAGE.execute_many(session, [_message("m4"), _message("m5")])
    assert _ids(sessions) == ["m1", "m2", "m3", "m4", "m5"]  # the last ones went with the COMMIT


def test_a_rollback_drops_what_was_queued(sessions):
    with sessions() as session:
        INSERT_MESSAGE.send(session, _message("gone"))
        session.rollback()
    with sessions.begin() as session:
        INSERT_MESSAGE.send(session, _message("kept"))
    assert _ids(sessions) == ["kept"]


def test_a_savepoint_rolled_back_drops_only_its_own_statements(sessions):
    with sessions.begin() as session:
        INSERT_MESSAGE.send(session, _message("before"))
        try:
            with session.begin_nested():
                INSERT_MESSAGE.send(session, _message("inside"))
                raise ValueError("this message fails")
        except ValueError:
            pass
        INSERT_MESSAGE.send(session, _message("after"))
    assert _ids(sessions) == ["after", "before"]


def test_an_error_in_a_queued_statement_fails_its_transaction(sessions):
    with sessions.begin() as session:
        INSERT_MESSAGE.send(session, _message("dup"))
    # The driver's own error (the statement ran on its cursor): SQLite at once, PostgreSQL at COMMIT.
    with pytest.raises(Exception, match="(?i)unique") as caught, sessions.begin() as session:
        INSERT_MESSAGE.send(session, _message("fine"))
        INSERT_MESSAGE.send(session, _message("dup"))
    assert "Integrity" in type(caught.value).__name__ or "Unique" in type(caught.value).__name__
    assert _ids(sessions) == ["dup"]
    with sessions.begin() as session:  # the connection is usable again
        INSERT_MESSAGE.send(session, _message("next"))
    assert _ids(sessions) == ["dup", "next"]


def test_queued_statements_share_one_round_trip(pg_url):
    """PostgreSQL: three queued statements and a read cost one wait for the server, not four."""
    import psycopg

    sessions = open_db(pg_url)
    waits = []
    real = psycopg.Connection.wait

    def counting(self, gen, *args, **kwargs):
        waits.append(1)
        return real(self, gen, *args, **kwargs)

    with sessions.begin() as session:
        COUNT.fetch_one(session, {})  # the transaction has begun
        psycopg.Connection.wait = counting
        try:
            for k in range(3):
                INSERT_MESSAGE.send(session, _message(f"m{k}"))
            assert waits == []
            assert COUNT.fetch_one(session, {})[0] == 3
        finally:
            psycopg.Connection.wait = real
    assert 0 < len(waits) <= 6  # psycopg waits while sending and once for the results
    sessions.kw["bind"].dispose()
