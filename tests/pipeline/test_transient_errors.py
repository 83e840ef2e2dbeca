"""D2: a transient database error never loses a message's effect; a deterministic one marks the
message failed and the chat goes on. On SQLite and PostgreSQL: the connection is dropped (or the
database locked) in the middle of a message, and the orders must equal a clean run."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from bot.app import App
from bot.cli import main
from bot.context import AppContext, SettableClock, Settings
from bot.events import IncomingMessage, MessageNotRecorded, SendResult
from storage.db import open_db
from storage.models import EntryRow, MessageLog, MessageState, OrderItem
from storage.models import Outbox as OutboxRow
from storage.setup import apply_setup, load_setup_text
from tests.pipeline.conversation import TZ, generate, per_conversation, setup_text, snapshot
from tests.pipeline.faults import Faults

G, H = "阳光小区3期团购群", "#接龙\n周三水果团\n\n"
QUICK = Settings(retry_delays=(0.0, 0.0, 0.0))  # three retries, no waiting (tests)


def review_messages() -> list[IncomingMessage]:
    """The review's reproduction: 王姐 writes 西瓜1个 (r1), edits it to 西瓜3个 (r2), 张叔 appends."""
    rows = [("r1", "wxid_a", "王姐", H + "1. 王姐 西瓜1个"), ("r2", "wxid_a", "王姐", H + "1. 王姐 西瓜3个"),
            ("r3", "wxid_b", "张叔", H + "1. 王姐 西瓜3个\n2. 张叔 西瓜1个")]
    return [IncomingMessage("replay", mid, G, who, name, text, datetime(2026, 11, 25, 10, i, tzinfo=TZ), G)
            for i, (mid, who, name, text) in enumerate(rows)]


def fresh(url: str, settings: Settings = QUICK):
    sessions = open_db(url)
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup_text()))
    clock = SettableClock(datetime(2026, 11, 25, 9, tzinfo=TZ))
    return sessions, App(AppContext(sessions, clock, settings))


def feed(app: App, msg: IncomingMessage) -> list:
    app.ctx.clock.set(msg.sent_at)
    out = app.feed(msg)
    for o in out:
        app.report(o, SendResult.sent())
    return out


def orders(sessions) -> list[tuple]:
    with sessions() as session:
        return sorted((a, t, float(q), s) for a, t, q, s in session.execute(
            select(EntryRow.author_id, OrderItem.text, OrderItem.qty, OrderItem.status)
            .join(OrderItem, OrderItem.entry_id == EntryRow.id)))


def states(sessions) -> dict[str, tuple]:
    with sessions() as session:
        return {r.message_id: (r.state, r.attempts, r.failed_reason) for r in session.scalars(select(MessageLog))}


def alerts(sessions) -> list[tuple[str, str]]:
    with sessions() as session:
        return sorted(session.execute(select(OutboxRow.to, OutboxRow.text).where(OutboxRow.kind == "alert")).all())


def without_alerts(snap: dict) -> dict:
    return {**snap, "said": [row for row in snap["said"] if row[1] != "alert"]}


@pytest.fixture
def clean(tmp_path):
    """The review's three messages, fed twice (a rerun), without trouble (SQLite)."""
    sessions, app = fresh(f"sqlite:///{tmp_path / 'clean.db'}")
    for _round in range(2):
        for msg in review_messages():
            feed(app, msg)
    result = orders(sessions), snapshot(sessions)
    sessions.kw["bind"].dispose()
    return result


@pytest.mark.parametrize("statement", ["INSERT INTO messages", "UPDATE chains", "INSERT INTO entry_events",
                                       "INSERT INTO order_items", "UPDATE entries"])
def test_a_connection_dropped_mid_message_is_retried_and_the_orders_equal_a_clean_run(db_url, clean, statement):
    """D2: the review's reproduction (pg_terminate_backend before the edit's event, on PostgreSQL;
    "database is locked" on SQLite), and the same at other statements of the message."""
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    for round_ in range(2):
        for msg in review_messages():
            if round_ == 0 and msg.message_id == "r2":
                faults.arm(statement)
            feed(app, msg)
            faults.disarm()
    assert faults.fired == 1
    assert orders(sessions) == clean[0] == [("wxid_a", "西瓜3个", 3.0, "ok"), ("wxid_b", "西瓜1个", 1.0, "ok")]
    assert snapshot(sessions) == clean[1]
    assert alerts(sessions) == []  # a retry that worked is nobody's business


def test_a_message_that_keeps_failing_is_set_aside_and_applied_first_by_the_next_one(db_url, clean):
    """D2: every retry fails: r2 is kept as pending (with the reason), the admins are told once,
    and 张叔's copy (r3) applies r2 before itself — so his line does not take 王姐's edit."""
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    r1, r2, r3 = review_messages()
    feed(app, r1)
    faults.arm("INSERT INTO entry_events", times=len(QUICK.retry_delays) + 1)
    out = feed(app, r2)
    faults.disarm()
    state, attempts, reason = states(sessions)["r2"]
    assert (state, attempts) == (MessageState.PENDING, 1)
    assert reason  # the driver's first line, e.g. "AdminShutdown: terminating connection…"
    assert [(o.to, o.is_group) for o in out] == [("wxid_admin", False)]
    assert "自动补上" in out[0].text
    feed(app, r3)
    for msg in review_messages():  # the rerun
        feed(app, msg)
    assert orders(sessions) == clean[0]
    assert without_alerts(snapshot(sessions)) == clean[1]
    assert states(sessions)["r2"][0] == MessageState.APPLIED


@pytest.mark.parametrize("how", ["redelivery", "drain", "jielong retry"])
def test_a_message_set_aside_is_applied_by_a_redelivery_a_pass_or_jielong_retry(db_url, how):
    """D2: the last message of its chat, set aside, is applied later by any of the three ways."""
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    r1, r2, _r3 = review_messages()
    feed(app, r1)
    faults.arm("UPDATE chains", times=len(QUICK.retry_delays) + 1)
    feed(app, r2)
    faults.disarm()
    assert states(sessions)["r2"][0] == MessageState.PENDING
    assert orders(sessions) == [("wxid_a", "西瓜1个", 1.0, "ok")]
    if how == "redelivery":
        feed(app, r2)
    elif how == "drain":
        App(AppContext(sessions, SettableClock(r2.sent_at), QUICK)).drain()  # another process's sweep
    else:
        result = CliRunner().invoke(main, ["retry", "--db", db_url])
        assert result.exit_code == 0, result.output
        assert "1 applied" in result.output and "0 not applied" in result.output
    assert orders(sessions) == [("wxid_a", "西瓜3个", 3.0, "ok")]
    assert states(sessions)["r2"][:2] == (MessageState.APPLIED, 1)


def test_a_deterministic_error_marks_the_message_failed_and_the_chat_goes_on(db_url, monkeypatch):
    """D2: a bug while applying r2 is not retried (it would fail the same way): r2 is failed with
    its reason, r3 is applied, a redelivery does not try r2 again; after the fix `jielong retry`
    applies it (and a rebuild gives the clean orders)."""
    import bot.handlers.chain as chain_module

    sessions, app = fresh(db_url)
    r1, r2, r3 = review_messages()
    feed(app, r1)
    real = chain_module.apply_chain
    calls = {"n": 0}

    def buggy(*args, **kwargs):
        calls["n"] += 1
        raise ValueError("a bug in the merge")

    monkeypatch.setattr(chain_module, "apply_chain", buggy)
    out = feed(app, r2)
    assert calls["n"] == 1  # no retry of a bug
    assert states(sessions)["r2"] == (MessageState.FAILED, 1, "ValueError: a bug in the merge")
    assert [o.to for o in out] == ["wxid_admin"] and "jielong retry" in out[0].text
    monkeypatch.setattr(chain_module, "apply_chain", real)
    feed(app, r3)
    feed(app, r2)  # redelivered: still failed, not tried again
    assert calls["n"] == 1 and states(sessions)["r2"][0] == MessageState.FAILED
    assert states(sessions)["r3"][0] == MessageState.APPLIED
    result = CliRunner().invoke(main, ["retry", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert states(sessions)["r2"][0] == MessageState.APPLIED
    CliRunner().invoke(main, ["rebuild", "--db", db_url])
    assert orders(sessions) == [("wxid_a", "西瓜3个", 3.0, "ok"), ("wxid_b", "西瓜1个", 1.0, "ok")]


def test_passes_that_keep_failing_give_up_after_max_attempts(db_url):
    """Never an infinite retry: a message whose every pass fails transiently is failed after
    `max_attempts` passes (and the admins are told)."""
    settings = replace(QUICK, max_attempts=3)
    sessions, app = fresh(db_url, settings)
    faults = Faults(sessions.kw["bind"])
    r1, r2, _r3 = review_messages()
    feed(app, r1)
    faults.arm("UPDATE chains", times=1000)
    feed(app, r2)
    assert states(sessions)["r2"][:2] == (MessageState.PENDING, 1)
    app.drain()
    assert states(sessions)["r2"][:2] == (MessageState.PENDING, 2)
    app.drain()
    assert states(sessions)["r2"][:2] == (MessageState.FAILED, 3)
    app.drain()  # failed messages are left alone
    assert states(sessions)["r2"][:2] == (MessageState.FAILED, 3)
    faults.disarm()
    texts = [text for _to, text in alerts(sessions)]
    assert len(texts) == 2 and any("自动补上" in t for t in texts) and any("jielong retry" in t for t in texts)


def test_the_admins_are_told_once_an_hour_not_once_a_message(db_url):
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    base = datetime(2026, 11, 25, 10, tzinfo=TZ)
    for k in range(4):
        faults.arm("INSERT INTO messages", times=len(QUICK.retry_delays) + 1)
        feed(app, IncomingMessage("replay", f"x{k}", G, f"wxid_{k}", f"会员{k}", H + f"1. 会员{k} 西瓜1个",
                                  base + timedelta(minutes=k), G))
        faults.disarm()
    assert [s[0] for s in states(sessions).values()] == [MessageState.PENDING] * 4
    assert len(alerts(sessions)) == 1


def test_a_database_that_stays_down_raises_message_not_recorded(db_url):
    """Not even the set-aside can be written: the transport must not acknowledge the message
    (`MessageNotRecorded`, retryable); delivered again once the database is back, it is applied."""
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    r1, *_ = review_messages()
    faults.arm("INSERT INTO messages", times=1000)
    with pytest.raises(MessageNotRecorded) as caught:
        feed(app, r1)
    assert caught.value.retryable
    with pytest.raises(MessageNotRecorded):
        app.accept(r1)
    faults.disarm()
    assert states(sessions) == {}
    assert app.accept(r1) is True
    app.drain(r1.session_key)
    assert orders(sessions) == [("wxid_a", "西瓜1个", 1.0, "ok")]


@pytest.mark.parametrize("error", [("database or disk is full", 13), ("disk I/O error", 10)], ids=["full", "io"])
def test_sqlite_disk_full_or_failing_sets_the_message_aside_until_it_recovers(tmp_path, clean, error):
    """F6: the disk is full (or failing) while r2 is handled, longer than the retries: r2 is
    kept, and once there is room again 张叔's copy applies it first — the orders of a clean run."""
    sessions, app = fresh(f"sqlite:///{tmp_path / 'full.db'}")
    faults = Faults(sessions.kw["bind"], sqlite_error=error)
    r1, r2, r3 = review_messages()
    feed(app, r1)
    faults.arm("INSERT INTO ENTRY_EVENTS", times=len(QUICK.retry_delays) + 1)
    feed(app, r2)
    faults.disarm()
    assert states(sessions)["r2"][:2] == (MessageState.PENDING, 1)
    assert error[0] in states(sessions)["r2"][2]
    feed(app, r3)
    for msg in review_messages():
        feed(app, msg)
    assert orders(sessions) == clean[0]


def test_sqlite_locked_by_another_process_past_the_busy_timeout(tmp_path):
    """F5: another writer holds the SQLite database longer than the busy timeout: the message is
    retried with backoff and applied once the lock is gone, nothing lost."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    sessions, app = fresh(url, Settings(retry_delays=(0.05, 0.2, 0.5, 1.0)))

    @event.listens_for(sessions.kw["bind"], "connect")
    def _short_busy_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout = 100")

    sessions.kw["bind"].dispose()
    r1, r2, r3 = review_messages()
    feed(app, r1)
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.6, lambda: other.execute("ROLLBACK"))
    release.start()
    started = time.monotonic()
    feed(app, r2)
    release.join()
    assert time.monotonic() - started >= 0.5  # it waited for the lock
    feed(app, r3)
    assert orders(sessions) == [("wxid_a", "西瓜3个", 3.0, "ok"), ("wxid_b", "西瓜1个", 1.0, "ok")]
    assert states(sessions)["r2"] == (MessageState.APPLIED, 0, None)
    other.close()


STATEMENTS = ["INSERT INTO MESSAGES", "UPDATE CHAINS", "INSERT INTO ENTRIES", "INSERT INTO ENTRY_EVENTS",
              "INSERT INTO ORDER_ITEMS", "UPDATE ENTRIES", "INSERT INTO OUTBOX", "SELECT",
              "WITH"]  # PostgreSQL numbers an order inside its entry insert (a CTE)


@pytest.fixture(scope="module")
def evening():
    return generate(steps=90, seed=7)


@pytest.fixture(scope="module")
def evening_clean(evening, tmp_path_factory):
    sessions, app = fresh(f"sqlite:///{tmp_path_factory.mktemp('clean') / 'evening.db'}")
    for msg in evening:
        feed(app, msg)
    result = snapshot(sessions)
    sessions.kw["bind"].dispose()
    return result


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("persistent", [False, True], ids=["retried", "set-aside"])
def test_faults_at_random_statements_of_a_whole_evening_change_nothing(db_url, evening, evening_clean, seed,
                                                                       persistent):
    """D2, wider: a generated evening (three groups, edits, cancellations, concurrent copies,
    commands) with a fault before a random statement of one message in six. Retried faults
    fire once; set-aside ones outlast every retry (the message waits for the next pass over its
    chat, or the final sweep). The orders, history and group replies equal a clean run. (A
    leader's command set aside is answered when it is applied, from the orders as they are
    then: its text may count later orders, so private replies are compared by addressee.)"""
    rng = random.Random(seed)
    sessions, app = fresh(db_url)
    faults = Faults(sessions.kw["bind"])
    for msg in evening:
        if rng.random() < 1 / 6:
            faults.arm(rng.choice(STATEMENTS), times=len(QUICK.retry_delays) + 1 if persistent else 1)
        feed(app, msg)
        faults.disarm()
    app.drain()
    assert faults.fired > 3
    got = without_alerts(snapshot(sessions))
    if persistent:
        got, want = per_conversation(got), per_conversation(evening_clean)
    else:
        want = evening_clean
    assert got == want


def test_a_message_the_database_refuses_for_good_is_reported_and_a_replay_skips_it(pg_url):
    """Not transient, and not even recordable (the database refuses the row itself): feed says
    so (`MessageNotRecorded`, not retryable — an HTTP gateway answers 4xx), a replay reports the
    line and goes on. (PostgreSQL: SQLite stores an over-long id; the edge bounds them.)"""
    import json

    from bot.transports.replay import ReplayResult, replay_lines

    _sessions, app = fresh(pg_url)
    r1, r2, r3 = review_messages()
    bad = replace(r2, message_id="x" * 300)  # over the column's 200: PostgreSQL refuses the row
    with pytest.raises(MessageNotRecorded) as caught:
        feed(app, bad)
    assert caught.value.retryable is False
    lines = [json.dumps({"id": m.message_id, "time": m.sent_at.isoformat(), "chat": m.chat, "from": m.sender,
                         "name": m.sender_name, "text": m.text}, ensure_ascii=False) for m in (r1, bad, r3)]
    errors: list[tuple[int, str]] = []
    result = ReplayResult()
    list(replay_lines(app, app.ctx.clock, lines, result, on_error=lambda n, p: errors.append((n, p))))
    assert (result.fed, result.skipped) == (2, 1) and errors[0][0] == 2
    assert "longer than 200" in errors[0][1]  # the replay reader refuses it first (bot.transports.edge)
