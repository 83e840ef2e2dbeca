"""Two real bot processes with the same set-up on one PostgreSQL: each scheduled time, every
group gets its post once — taken by one process or the other, never both, never neither — and
a process killed in the middle of a post leaves it to the other (failover)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import scheduler
from bot.broadcasts import PostOutcome
from bot.context import AppContext, SettableClock, Settings
from bot.outbox import Outbox
from storage.db import open_db
from storage.lookup import group_for_chat
from storage.models import Outbox as OutboxRow
from storage.schedule import scheduled_posts
from storage.setup import apply_setup, load_setup_text
from tests.conftest import GROUP, at, demo_setup_text

ROOT = Path(__file__).resolve().parents[2]
OTHER = "翠苑二区邻里群"
TIMES = [at(25, 8), at(25, 9), at(25, 9, 0, 10), at(25, 21), at(25, 21, 30), at(25, 22), at(26, 16), at(26, 16, 1)]


@pytest.fixture
def db(pg_url):
    sessions = open_db(pg_url)
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text()))
    yield sessions
    sessions.kw["bind"].dispose()


def _start(url: str, *flags: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "tests.bot.scheduler_process", url, *flags], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert json.loads(process.stdout.readline()) == {"ready": True}
    return process


def _tick_both(processes, when) -> list[list[tuple[str, str]]]:
    for process in processes:  # both at the same moment: they contend for the same rows
        process.stdin.write(when.isoformat() + "\n")
        process.stdin.flush()
    return [json.loads(process.stdout.readline())["done"] for process in processes]


def test_two_processes_post_once_per_group_and_scheduled_time(db, pg_url) -> None:
    processes = [_start(pg_url), _start(pg_url)]
    try:
        taken: list[tuple[str, str]] = []
        for when in TIMES:
            both = _tick_both(processes, when)
            keys = [key for done in both for key, _ in done]
            assert len(keys) == len(set(keys)), f"a post taken twice at {when}"
            taken += [tuple(item) for done in both for item in done]
    finally:
        for process in processes:
            process.stdin.close()
            process.wait(30)
    with db() as session:
        mine, other = group_for_chat(session, GROUP).id, group_for_chat(session, OTHER).id
        undone = {p.key for p in scheduled_posts(session, undone_only=True)}
        posts = Counter(session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.dedupe_key.like("post:%"))))
    expected = {f"post:fruit-1125:{g}:{k}" for g in (mine, other) for k in ("open", "reminder", "close", "pickup")}
    assert {key for key, _ in taken} == expected | {"summary:2026-11-25"}
    assert undone == {"summary:2026-11-26"}  # nothing due was missed (that one is due tonight)
    assert set(posts.values()) == {1} and set(posts) == expected - {f"post:fruit-1125:{g}:pickup" for g in (mine, other)}
    assert {outcome for _key, outcome in taken} <= {PostOutcome.QUEUED, PostOutcome.SKIPPED}


def test_a_process_killed_mid_post_leaves_it_to_the_other(db, pg_url) -> None:
    stuck = _start(pg_url, "--hang")
    stuck.stdin.write(at(25, 9).isoformat() + "\n")
    stuck.stdin.flush()
    assert json.loads(stuck.stdout.readline()) == {"posting": True}  # holding the due rows
    ctx = AppContext(db, SettableClock(at(25, 9, 0, 5)), Settings())
    started = time.monotonic()
    assert scheduler.tick(ctx, Outbox(ctx)).done == []  # it does not wait for them, nor take them
    assert time.monotonic() - started < 5
    os.kill(stuck.pid, signal.SIGKILL)  # the process dies mid-post
    stuck.wait(10)
    done = []
    deadline = time.monotonic() + 30
    while not done and time.monotonic() < deadline:  # until the server has noticed the dead connection
        done = scheduler.tick(ctx, Outbox(ctx)).done
        time.sleep(0.1)
    assert sorted(outcome for _key, outcome in done) == [PostOutcome.QUEUED, PostOutcome.QUEUED]
    with db() as session:
        opens = session.scalar(select(func.count()).select_from(OutboxRow)
                               .where(OutboxRow.dedupe_key.like("post:fruit-1125:%:open")))
    assert opens == 2
