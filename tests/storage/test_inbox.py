"""The message log as the inbox (storage.inbox, storage.log.record): states, order, holds
across processes, the rebuild mark; which database errors are transient. SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, select, text, update
from sqlalchemy import exc as sa_exc

from storage import inbox
from storage.db import is_transient, make_engine, open_db
from storage.log import record
from storage.models import MessageLog, MessageState, PipelineState
from storage.revision import bump_setup_revision, setup_revision
from tests.conftest import wait_for_a_lock_wait

T = datetime(2026, 11, 25, 10, tzinfo=UTC)


def log(session, mid: str, *, chat: str | None = "群A", sender: str = "wxid_a", minute: int = 0,
        state: MessageState = MessageState.APPLIED):
    return record(session, state=state, platform="t", message_id=mid, chat_id=chat, chat_name=chat,
                  sender_id=sender, sender_name="", text="x", sent_at=T + timedelta(minutes=minute),
                  received_at=T, account=None, raw=None, native_chain=False, applied_at=None)


def test_logging_tells_what_the_pipeline_needs_in_the_same_statement(sessions):
    with sessions.begin() as session:
        bump_setup_revision(session)
        bump_setup_revision(session)
    with sessions.begin() as session:
        first = log(session, "m1")
        assert (first.others_pending, first.rebuilding, first.epoch) == (False, False, 0)
        assert setup_revision(session) == 2  # remembered from the insert: no query of its own
        assert log(session, "m1") is None  # a redelivery
        log(session, "m2", state=MessageState.PENDING)
        assert log(session, "m3").others_pending
        assert not log(session, "m4", chat="群B").others_pending
        log(session, "p1", chat=None, sender="wxid_p", state=MessageState.PENDING)
        assert log(session, "p2", chat=None, sender="wxid_p").others_pending
        assert not log(session, "p3", chat=None, sender="wxid_q").others_pending
        inbox.begin_rebuild(session, T)
        assert log(session, "m5").rebuilding
        inbox.finish_rebuild(session)
        assert log(session, "m6").epoch == 1


def test_pending_messages_come_in_the_order_they_were_sent(sessions):
    with sessions.begin() as session:
        for mid, minute in [("late", 5), ("early", 1), ("same-a", 3), ("same-b", 3)]:
            log(session, mid, minute=minute, state=MessageState.PENDING)
        log(session, "done", minute=0)
        log(session, "other", chat="群B", minute=0, state=MessageState.PENDING)
        log(session, "dm", chat=None, sender="wxid_p", minute=2, state=MessageState.PENDING)
    with sessions() as session:
        assert [r.message_id for r in inbox.pending_messages(session, "群A")] == ["early", "same-a", "same-b", "late"]
        assert [r.message_id for r in inbox.pending_messages(session, "private:wxid_p")] == ["dm"]
        assert [r.message_id for r in inbox.pending_messages(session, "群B")] == ["other"]
        assert inbox.pending_messages(session, "群C") == []
        assert inbox.pending_conversations(session) == ["群B", "群A", "private:wxid_p"]
        assert [r.message_id for r in inbox.pending_rows(session)] == \
            ["other", "early", "dm", "same-a", "same-b", "late"]


def test_failures_count_until_given_up_and_retry_requeues(sessions):
    with sessions.begin() as session:
        log_id = log(session, "m1", state=MessageState.PENDING).row.id
        other = log(session, "m2", state=MessageState.PENDING).row.id
    with sessions.begin() as session:
        assert inbox.mark_failure(session, log_id, "lost", give_up=False, max_attempts=3) == MessageState.PENDING
        assert inbox.mark_failure(session, log_id, "lost", give_up=False, max_attempts=3) == MessageState.PENDING
        assert inbox.mark_failure(session, log_id, "lost again", give_up=False, max_attempts=3) == MessageState.FAILED
        assert inbox.mark_failure(session, other, "a bug", give_up=True, max_attempts=3) == MessageState.FAILED
    with sessions() as session:
        left = inbox.unapplied(session)
        assert [(u.message_id, u.state, u.attempts, u.reason) for u in left] == [
            ("m1", MessageState.FAILED, 3, "lost again"), ("m2", MessageState.FAILED, 1, "a bug")]
        assert inbox.unapplied_counts(session) == {MessageState.FAILED: 2}
        assert inbox.pending_conversations(session) == []  # failed ones are skipped by passes
    with sessions.begin() as session:
        assert inbox.requeue_failed(session) == 2
        inbox.mark_applied(session, log_id, T)
    with sessions() as session:
        assert inbox.unapplied_counts(session) == {MessageState.PENDING: 1}
        row = session.get(MessageLog, log_id)
        assert (row.state, row.attempts, row.failed_reason, row.applied_at) == ("applied", 0, "lost again", T)


def test_a_held_conversation_makes_the_other_process_wait(sessions, db_url):
    """Two engines (two processes): the second transaction holding 群A waits for the first; a
    try finds it taken; another conversation is free."""
    other = open_db(db_url)
    waited = []
    with sessions.begin() as first:
        inbox.hold_conversation(first, "群A")
        log(first, "m1")  # on PostgreSQL the hold goes out with this statement

        def second() -> None:
            started = time.monotonic()
            with other.begin() as session:
                inbox.hold_conversation(session, "群A")
                log(session, "m2")
            waited.append(time.monotonic() - started)

        if db_url.startswith("postgresql"):
            with other.begin() as session:
                assert inbox.try_hold_conversation(session, "群A") is False
                assert inbox.try_hold_conversation(session, "群B") is True
        thread = threading.Thread(target=second)
        thread.start()
        if db_url.startswith("postgresql"):
            wait_for_a_lock_wait(other)
        else:
            time.sleep(0.3)
        assert thread.is_alive()
    thread.join(30)
    assert waited and not thread.is_alive()
    other.kw["bind"].dispose()


def test_a_rebuild_waits_for_live_transactions_and_keeps_them_out(pg_url):
    sessions = open_db(pg_url)
    done = []
    with sessions.begin() as live:
        inbox.hold_conversation(live, "群A")
        log(live, "m1")

        def rebuilding() -> None:
            with sessions.begin() as session:
                inbox.exclude_live(session)
                inbox.begin_rebuild(session, T)
            done.append(True)

        thread = threading.Thread(target=rebuilding)
        thread.start()
        wait_for_a_lock_wait(sessions)
        assert not done
    thread.join(30)
    with sessions.begin() as session:
        inbox.hold_conversation(session, "群B")
        assert inbox.rebuilding(session) is not None
    sessions.kw["bind"].dispose()


def test_claiming_a_rebuild_twice(sessions, db_url):
    from sqlalchemy.orm import Session

    engine = sessions.kw["bind"]
    with engine.connect() as one, engine.connect() as two:
        one.detach()
        two.detach()
        inbox.claim_rebuild(Session(bind=one))
        if db_url.startswith("postgresql"):
            with pytest.raises(inbox.RebuildRunning):
                inbox.claim_rebuild(Session(bind=two))
            inbox.release_rebuild(Session(bind=one))
            inbox.claim_rebuild(Session(bind=two))
        else:  # SQLite: the mark names a process; this one is asking, so it is not "another"
            with sessions.begin() as session:
                inbox.begin_rebuild(session, T)
            inbox.claim_rebuild(Session(bind=two))
            # Another live process marked it (two rebuilds claimed at once): the second to mark stops.
            sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            try:
                with sessions.begin() as session:
                    session.execute(update(PipelineState).values(
                        rebuild_by=f"{socket.gethostname()}:{sleeper.pid}"))
                with pytest.raises(inbox.RebuildRunning), sessions.begin() as session:
                    inbox.begin_rebuild(session, T)
            finally:
                sleeper.kill()
                sleeper.wait()


@pytest.mark.parametrize(("error", "transient"), [
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("database or disk is full"), True),
    (sqlite3.OperationalError("disk I/O error"), True),
    (sqlite3.OperationalError("no such table: x"), False),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
], ids=["sqlite-busy", "sqlite-full", "sqlite-ioerr", "sqlite-no-table", "sqlite-unique"])
def test_sqlite_errors_transient_or_not(error, transient):
    codes = {"database is locked": 5, "database or disk is full": 13, "disk I/O error": 10,
             "no such table: x": 1, "UNIQUE constraint failed": 2067}
    error.sqlite_errorcode = codes[str(error)]
    assert is_transient(error) is transient
    wrapped = sa_exc.OperationalError("INSERT …", {}, error)
    assert is_transient(wrapped) is transient


def test_postgresql_errors_transient_or_not():
    psycopg = pytest.importorskip("psycopg")
    errors = psycopg.errors
    for cls in (errors.AdminShutdown, errors.SerializationFailure, errors.DeadlockDetected, errors.DiskFull,
                errors.QueryCanceled, errors.LockNotAvailable, errors.CannotConnectNow, errors.IoError):
        assert is_transient(cls("x")), cls
    for cls in (errors.StringDataRightTruncation, errors.UniqueViolation, errors.UndefinedTable,
                errors.ProgramLimitExceeded, errors.NumericValueOutOfRange, errors.UntranslatableCharacter):
        assert not is_transient(cls("x")), cls
    assert is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(psycopg.InterfaceError("the connection is closed"))
    assert not is_transient(ValueError("a bug"))
    assert is_transient(sa_exc.TimeoutError("QueuePool limit reached"))
    lost = sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("x"), connection_invalidated=True)
    assert is_transient(lost)


def test_a_real_lost_postgresql_connection_is_transient(pg_url):
    engine = make_engine(pg_url)
    with engine.connect() as conn, pytest.raises(sa_exc.DBAPIError) as caught:
        conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        conn.execute(text("SELECT 1"))
    assert is_transient(caught.value)
    engine.dispose()


def test_migration_0007_keeps_every_logged_message_applied(db_url):
    """A database at 0004 with a logged message, upgraded: the message is applied, with no
    attempts; the pipeline's row exists."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "storage" / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO messages (platform, message_id, chat_id, sender_id, sender_name, text, sent_at, "
            "received_at, native_chain) VALUES ('t', 'old', '群A', 'u', '', 'x', :t, :t, :f)"),
            {"t": T, "f": False})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT state, attempts, applied_at, failed_reason FROM messages")).one()
        epoch = connection.execute(text("SELECT epoch FROM pipeline_state WHERE id = 1")).scalar_one()
    assert tuple(row) == ("applied", 0, None, None) and epoch == 0
    engine.dispose()
    sessions = open_db(db_url)
    with sessions() as session:
        assert session.scalar(select(MessageLog.state)) == MessageState.APPLIED
    sessions.kw["bind"].dispose()


def test_a_pass_over_recorded_messages_commits_without_waiting_for_the_disk(pg_url):
    """Only that transaction: the next one (which may record a message) waits for the disk again."""
    sessions = open_db(pg_url)
    with sessions.begin() as session:
        inbox.hold_conversation(session, "群A")
        inbox.commit_lazily(session)
        assert session.scalar(text("SHOW synchronous_commit")) == "off"
    with sessions.begin() as session:
        assert session.scalar(text("SHOW synchronous_commit")) == "on"
    sessions.kw["bind"].dispose()
