"""Many processes on one PostgreSQL: a message is sent once however many processes flush
(the review's M1, reproduced deterministically and under load), only by a process serving its
account, and one account's pacing budget is shared by every process that serves it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.app import App
from bot.context import AppContext, SettableClock, Settings
from bot.events import OutgoingText, SendResult
from storage.db import open_db
from storage.models import Outbox as OutboxRow
from tests.conftest import at

ROOT = Path(__file__).resolve().parents[2]
OPEN = Settings(group_min_interval=timedelta(0), account_min_interval=timedelta(0), group_max_per_hour=10**6)


@pytest.fixture
def engines(pg_url):
    made = []

    def app(clock: SettableClock, settings: Settings = OPEN) -> App:
        sessions = open_db(pg_url)
        made.append(sessions)
        return App(AppContext(sessions, clock, settings))

    yield app
    for sessions in made:
        sessions.kw["bind"].dispose()


def queue(app: App, messages: list[OutgoingText], key: str | None = None) -> None:
    with app.ctx.sessions.begin() as session:
        for message in messages:
            app.outbox.enqueue(session, message, dedupe_key=key)


def test_two_processes_flushing_at_the_same_moment_send_a_message_once(engines) -> None:
    """M1, the review's reproduction: two engines, and a barrier holding both processes after
    they read the due rows and before either claims. The second finds the row locked and
    skips it; before, both read it and both sent it."""
    clock = SettableClock(at(25, 10))
    apps = [engines(clock), engines(clock)]
    queue(apps[0], [OutgoingText("wxid_lijie", "截单了！最终名单……", is_group=False)], key="post:fruit-1125:1:close")
    both_read = threading.Barrier(2)
    passed = []
    for app in apps:
        @event.listens_for(app.ctx.sessions.kw["bind"], "after_cursor_execute")
        def wait_after_read(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT OUTBOX.ID"):
                both_read.wait(timeout=10)
                passed.append(True)

    sent: list[OutgoingText] = []
    threads = [threading.Thread(target=lambda a=a: sent.extend(a.flush())) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert passed == [True, True]  # both had read before either claimed
    assert [m.text for m in sent] == ["截单了！最终名单……"]


def test_many_flushes_at_once_deliver_every_message_exactly_once(engines) -> None:
    clock = SettableClock(at(25, 10))
    apps = [engines(clock) for _ in range(3)]
    queue(apps[0], [OutgoingText(f"wxid_{n}", f"回复{n}", is_group=False) for n in range(300)]
          + [OutgoingText(f"room{n}@chatroom", f"群消息{n}") for n in range(60)])
    delivered: list[list[int]] = [[] for _ in apps]

    def run(n: int) -> None:
        for _ in range(200):
            out = apps[n].flush()
            for message in out:
                delivered[n].extend(message.outbox_ids)
                apps[n].report(message, SendResult.sent())
            if not out and not apps[n].flush():
                return

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    counts = Counter(row_id for ids in delivered for row_id in ids)
    assert len(counts) == 360 and set(counts.values()) == {1}
    with apps[0].ctx.sessions() as session:
        assert session.scalar(select(OutboxRow.id).where(OutboxRow.sent_at.is_(None)).limit(1)) is None


def test_processes_serving_one_account_share_its_budget(engines) -> None:
    clock = SettableClock(at(25, 10))
    settings = Settings()  # 3 at once, then one per 3 s or so, per account
    apps = [engines(clock, settings) for _ in range(2)]
    queue(apps[0], [OutgoingText(f"wxid_{n}", "好的", is_group=False, account="bot-a") for n in range(10)])
    first = apps[0].flush() + apps[1].flush()
    assert len(first) == settings.account_burst  # not twice the burst
    clock.advance(settings.account_min_interval * (1 + settings.send_jitter))
    assert len(apps[1].flush() + apps[0].flush()) == 1


def _start(url: str, accounts: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "tests.bot.sender_process", url, accounts, "30"], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert json.loads(process.stdout.readline()) == {"ready": True}
    return process


def test_each_process_sends_only_for_its_accounts(pg_url, engines) -> None:
    """Two real processes, one per bot account, on one database: every message goes out once,
    through the process that serves its account; messages for no account go through either."""
    processes = {"bot-a": _start(pg_url, "bot-a"), "bot-b": _start(pg_url, "bot-b")}
    app = engines(SettableClock(at(25, 10)))
    queue(app, [OutgoingText(f"wxid_{account}_{n}", "好的", is_group=False, account=account)
                for n in range(40) for account in ("bot-a", "bot-b")]
          + [OutgoingText(f"room_{account}_{n}@chatroom", "群消息", account=account)
             for n in range(20) for account in ("bot-a", "bot-b")]
          + [OutgoingText(f"wxid_anyone_{n}", "好的", is_group=False) for n in range(20)])
    deliveries = {}
    for process in processes.values():
        process.stdin.write("go\n")
        process.stdin.flush()
    for account, process in processes.items():
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        deliveries[account] = [json.loads(line) for line in out.splitlines()]
    for account, sent in deliveries.items():
        assert {d["account"] for d in sent} <= {account, None}
        assert all(account in d["to"] or "anyone" in d["to"] for d in sent)
    ids = Counter(i for sent in deliveries.values() for d in sent for i in d["ids"])
    assert len(ids) == 140 and set(ids.values()) == {1}
    assert all(len([d for d in sent if d["account"] == account]) == 60 for account, sent in deliveries.items())
