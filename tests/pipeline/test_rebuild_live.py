"""D3: `jielong rebuild` while the bot is live. Messages that arrive during a rebuild are
recorded and applied by the rebuild in order; the result equals a sequential run."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import bot.app as app_module
from bot.app import App, rebuild
from bot.cli import main
from bot.context import AppContext, SettableClock, Settings
from bot.events import IncomingMessage
from storage import chains, inbox
from storage.db import open_db
from storage.log import record_message
from storage.models import EntryRow, MessageLog, MessageState, PipelineState
from storage.models import Outbox as OutboxRow
from storage.setup import apply_setup, load_setup_text
from tests.pipeline.conversation import TZ, generate, per_conversation, setup_text, snapshot

G, H = "阳光小区3期团购群", "#接龙\n周三水果团\n\n"
T0 = datetime(2026, 11, 25, 10, tzinfo=TZ)
LINES = ["3栋502 王姐 西瓜1个", "5栋1201 张叔 鸡蛋1盒", "6栋302 刘姐 大米1袋"]
WHO = [("wxid_wang", "王姐"), ("wxid_zhang", "张叔"), ("wxid_liu", "刘姐")]
QUICK = Settings(retry_delays=(0.0, 0.05, 0.2))


def loaded(url: str, stock: int | None = None) -> None:
    sessions = open_db(url)
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup_text(stock)))
    sessions.kw["bind"].dispose()


def copy(k: int) -> IncomingMessage:
    """Member k's copy of the review's three-line chain (line k is theirs)."""
    text = H + "\n".join(f"{i}. {line}" for i, line in enumerate(LINES[:k + 1], 1))
    return IncomingMessage("wechaty", f"m{k}", G, *WHO[k], text, T0 + timedelta(minutes=k), G)


def authors(url: str) -> list[tuple[str, str]]:
    sessions = open_db(url)
    with sessions() as session:
        rows = session.execute(select(EntryRow.author_id, EntryRow.raw).order_by(EntryRow.id)).all()
    sessions.kw["bind"].dispose()
    return [tuple(r) for r in rows]


def live_app(url: str) -> App:
    return App(AppContext(open_db(url), SettableClock(T0), QUICK))


def feed(app: App, msg: IncomingMessage) -> None:
    app.ctx.clock.set(msg.sent_at)
    app.feed(msg)


def test_the_reviews_reproduction_a_live_message_during_rebuild(db_url, monkeypatch):
    """D3: the rebuild is about to re-apply m1 when the live bot (its own engine) handles m2.
    Before: 张叔's line belonged to 刘姐. Now m2 is recorded and the rebuild applies it after
    m1: the same as rebuilding first and then handling m2."""
    loaded(db_url)
    live = live_app(db_url)
    feed(live, copy(0))
    feed(live, copy(1))
    fired = []

    class HookedClock(SettableClock):
        def set(self, now):
            super().set(now)
            if now == T0 + timedelta(minutes=1) and not fired:
                fired.append(now)
                t = threading.Thread(target=feed, args=(live, copy(2)))
                t.start()
                t.join(30)
                assert not t.is_alive()

    monkeypatch.setattr(app_module, "SettableClock", HookedClock)
    admin = open_db(db_url)
    applied = rebuild(AppContext(admin, SettableClock(T0 + timedelta(minutes=5)), QUICK))
    assert fired and applied == 3
    assert authors(db_url) == [("wxid_wang", "3栋502 王姐 西瓜1个"), ("wxid_zhang", "5栋1201 张叔 鸡蛋1盒"),
                               ("wxid_liu", "6栋302 刘姐 大米1袋")]
    with admin() as session:
        assert inbox.rebuilding(session) is None
        assert {s for (s,) in session.execute(select(MessageLog.state))} == {MessageState.APPLIED}
    admin.kw["bind"].dispose()


@pytest.fixture(scope="module")
def evening():
    return generate(steps=110, seed=5)


@pytest.fixture(scope="module")
def evening_in_order(evening, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    loaded(url)
    app = live_app(url)
    for msg in evening:
        feed(app, msg)
    return per_conversation(snapshot(app.ctx.sessions))


def test_rebuild_while_messages_keep_arriving_equals_a_sequential_run(db_url, evening, evening_in_order,
                                                                     monkeypatch):
    """D3, wider: two thirds of an evening handled, then `rebuild` (its own engine, a thread,
    slowed to 5 ms a message so it surely overlaps) while the live bot handles the last third
    as fast as it comes. Messages that arrived during the rebuild are answered too (their
    replies queued once)."""
    loaded(db_url)
    live = live_app(db_url)
    cut = 2 * len(evening) // 3
    for msg in evening[:cut]:
        feed(live, msg)
    admin = open_db(db_url)
    errors: list[BaseException] = []
    real = app_module._Rebuilders._reapply_one

    def slowly(self, session, log_id, clock):
        threading.Event().wait(0.005)
        real(self, session, log_id, clock)

    monkeypatch.setattr(app_module._Rebuilders, "_reapply_one", slowly)

    def run_rebuild() -> None:
        try:
            rebuild(AppContext(admin, SettableClock(evening[-1].sent_at), QUICK))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=run_rebuild)
    worker.start()
    while worker.is_alive() and not _rebuilding(admin):
        threading.Event().wait(0.005)
    recorded_during = 0
    for msg in evening[cut:]:
        feed(live, msg)
        recorded_during += _state(admin, msg.message_id) == MessageState.PENDING
    worker.join(300)
    assert errors == []
    assert recorded_during > 0
    live.drain()
    assert per_conversation(snapshot(live.ctx.sessions)) == evening_in_order
    admin.kw["bind"].dispose()


def _rebuilding(sessions) -> bool:
    with sessions() as session:
        return inbox.rebuilding(session) is not None


def _state(sessions, message_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(MessageLog.state).where(MessageLog.message_id == message_id))


def test_a_second_rebuild_is_refused_while_one_runs(db_url, tmp_path):
    loaded(db_url)
    sessions = open_db(db_url)
    engine = sessions.kw["bind"]
    with engine.connect() as claim:
        from sqlalchemy.orm import Session

        claim.detach()  # as `rebuild` does: its lock ends with the connection
        if db_url.startswith("postgresql"):
            inbox.claim_rebuild(Session(bind=claim))  # a rebuild in another process holds it
        else:
            sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            with sessions.begin() as session:
                inbox.begin_rebuild(session, T0)
                session.execute(PipelineState.__table__.update().values(
                    rebuild_by=f"{inbox._me().rpartition(':')[0]}:{sleeper.pid}"))
        result = CliRunner().invoke(main, ["rebuild", "--db", db_url])
        if not db_url.startswith("postgresql"):
            sleeper.kill()
            sleeper.wait()
    assert result.exit_code == 1
    assert "another rebuild is running" in result.output
    # The one that "ran" is gone now: a rebuild takes over.
    result = CliRunner().invoke(main, ["rebuild", "--db", db_url])
    assert result.exit_code == 0, result.output
    engine.dispose()


def test_a_rebuild_that_died_half_way_is_run_again_and_nothing_is_lost(db_url, monkeypatch):
    """The rebuild dies after its first message: the projection is half rebuilt and marked so.
    Live messages are recorded, not applied onto it (and `jielong retry` says why); the next
    rebuild applies everything."""
    loaded(db_url)
    live = live_app(db_url)
    feed(live, copy(0))
    feed(live, copy(1))
    calls = {"n": 0}
    real = app_module._Rebuilders._reapply_one

    def dies(self, session, log_id, clock):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the operator's ^C, or a kill
        real(self, session, log_id, clock)

    monkeypatch.setattr(app_module._Rebuilders, "_reapply_one", dies)
    admin = open_db(db_url)
    with pytest.raises(KeyboardInterrupt):
        rebuild(AppContext(admin, SettableClock(T0 + timedelta(minutes=5)), QUICK))
    monkeypatch.setattr(app_module._Rebuilders, "_reapply_one", real)
    feed(live, copy(2))
    with admin() as session:
        assert inbox.rebuilding(session) is not None
        states = dict(session.execute(select(MessageLog.message_id, MessageLog.state)).all())
    assert states["m2"] == MessageState.PENDING
    result = CliRunner().invoke(main, ["retry", "--db", db_url])
    assert "a rebuild is running" in result.output
    assert rebuild(AppContext(admin, SettableClock(T0 + timedelta(minutes=6)), QUICK)) == 3
    assert authors(db_url) == [("wxid_wang", "3栋502 王姐 西瓜1个"), ("wxid_zhang", "5栋1201 张叔 鸡蛋1盒"),
                               ("wxid_liu", "6栋302 刘姐 大米1袋")]
    admin.kw["bind"].dispose()


def test_after_a_rebuild_elsewhere_every_process_drops_the_chains_it_holds(db_url):
    """The projection's epoch: a rebuild in another process replaced the chains (SQLite even
    reuses their ids); what this process held of them is dropped at its next message."""
    loaded(db_url)
    live = live_app(db_url)
    feed(live, copy(0))
    assert chains._chains._data  # this process holds the chain
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_rebuild_in_a_process, args=(db_url,))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    stale = dict(chains._chains._data)
    sessions = open_db(db_url)
    with sessions.begin() as session:  # any message logged by this process reads the new epoch
        record_message(session, platform="t", message_id="x", chat_id=None, chat_name=None, sender_id="u",
                       sender_name="", text="汇总", sent_at=T0, received_at=T0)
    feed(live, copy(1))
    assert all(state is not chains._chains._data.get(key) for key, state in stale.items())
    assert authors(db_url) == [("wxid_wang", "3栋502 王姐 西瓜1个"), ("wxid_zhang", "5栋1201 张叔 鸡蛋1盒")]
    sessions.kw["bind"].dispose()


def _rebuild_in_a_process(url: str) -> None:
    sessions = open_db(url)
    rebuild(AppContext(sessions, SettableClock(T0 + timedelta(minutes=5)), Settings()))
    sessions.kw["bind"].dispose()


def test_messages_never_applied_are_answered_by_the_rebuild_others_are_not(db_url):
    """A rebuild replays history silently, but a message that was never applied (set aside,
    recorded by a process that died) has never been answered: the rebuild answers it."""
    loaded(db_url)
    live = live_app(db_url)
    feed(live, IncomingMessage("wechaty", "q1", G, "wxid_wang", "王姐", "我的订单", T0, G))
    live.accept(IncomingMessage("wechaty", "q2", G, "wxid_zhang", "张叔", "我的订单", T0 + timedelta(minutes=1), G))
    admin = open_db(db_url)
    rebuild(AppContext(admin, SettableClock(T0 + timedelta(minutes=5)), QUICK))
    with admin() as session:
        said = session.execute(select(OutboxRow.to, OutboxRow.text).order_by(OutboxRow.id)).all()
    assert [to for to, _text in said] == [G, G]  # one answer each: 王姐's earlier, 张叔's now
    assert said[1][1].startswith("@张叔")
    admin.kw["bind"].dispose()
