"""Nothing doubled, nothing lost: a crash in the middle of a replay, two processes writing
different groups into one PostgreSQL database at once, two writers starting the same chain."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import func, select

from storage.db import open_db
from storage.models import Chain, EntryRow, MessageLog
from tests.conftest import wait_for_a_lock_wait
from tests.storage.helpers import GROUP, GROUP2, at, line, load, projection
from tests.storage.scenario import Copy, apply_all, apply_copy, busy_chain

COPIES = busy_chain(GROUP, "a")


def _result(url: str) -> tuple[list[tuple], int]:
    sessions = open_db(url)
    with sessions() as session:
        result = projection(session), session.scalar(select(func.count()).select_from(MessageLog))
    sessions.kw["bind"].dispose()
    return result


@pytest.fixture
def reference(tmp_path):
    """The scenario applied once, start to end, without trouble (SQLite)."""
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    load(open_db(url))
    apply_all(url, COPIES)
    return _result(url)


def test_the_scenario_exercises_every_rule(reference):
    rows, logged = reference
    statuses = {r[3] for r in rows} | {r[9] for r in rows}
    assert logged == len(COPIES)
    assert {"ok", "cancelled", "late", "waitlist"} <= statuses
    assert any(r[4] == "True" for r in rows), "some line should be missing from a concurrent copy"


def test_a_rolled_back_transaction_then_everything_again_gives_the_same_orders(db_url, reference):
    sessions = open_db(db_url)
    load(sessions)
    half = len(COPIES) // 2
    for copy in COPIES[:half]:
        with sessions.begin() as session:
            apply_copy(session, copy)
    # Three copies applied in a transaction that never commits (the process "dies").
    session = sessions()
    session.begin()
    for copy in COPIES[half:half + 3]:
        apply_copy(session, copy)
    session.flush()
    session.close()
    # The transport delivers everything again from the start.
    for copy in COPIES:
        with sessions.begin() as session:
            apply_copy(session, copy)
    assert _result(db_url) == reference


def test_a_killed_process_then_a_full_replay_gives_the_same_orders(db_url, reference):
    load(open_db(db_url))
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=apply_all, args=(db_url, COPIES), kwargs={"crash_in": len(COPIES) // 2})
    child.start()
    child.join(120)
    assert child.exitcode == 3  # died mid-transaction
    partial = _result(db_url)[1]
    assert 0 < partial < len(COPIES)
    apply_all(db_url, COPIES)
    assert _result(db_url) == reference


@pytest.mark.postgres
def test_two_processes_writing_different_groups_at_once_equal_one_after_the_other(pg_url, tmp_path):
    # The second group orders nothing with limited stock, so the order between groups
    # cannot change who gets what.
    other = busy_chain(GROUP2, "b", seed=11, skus=("XG01", "JZ01"))
    sequential = f"sqlite:///{tmp_path / 'sequential.db'}"
    load(open_db(sequential))
    apply_all(sequential, COPIES)
    apply_all(sequential, other)

    load(open_db(pg_url))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    children = [ctx.Process(target=apply_all, args=(pg_url, copies), kwargs={"barrier": barrier})
                for copies in (COPIES, other)]
    for child in children:
        child.start()
    for child in children:
        child.join(180)
    assert [c.exitcode for c in children] == [0, 0]
    assert _result(pg_url) == _result(sequential)


def test_two_writers_starting_the_same_chain_at_once_both_land_in_it(pg_url):
    """Two copies of a brand-new chain, each in its own transaction at the same moment (two
    processes, or two bots in one group): the second waits for the first's chain and joins it."""
    sessions = open_db(pg_url)
    load(sessions)
    first = Copy("new-1", GROUP, "wxid_wang", at(10), [line(1, "王姐", ("XG01", 2))])
    second = Copy("new-2", GROUP, "wxid_si", at(10), [line(1, "李四", ("PT01", 1))])
    failures: list[BaseException] = []

    def apply_second() -> None:
        try:
            with sessions.begin() as session:
                apply_copy(session, second)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            failures.append(exc)

    with sessions.begin() as session:
        apply_copy(session, first)  # the chain row exists, uncommitted
        writer = threading.Thread(target=apply_second)
        writer.start()
        wait_for_a_lock_wait(sessions)
    writer.join(30)
    assert failures == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Chain)) == 1
        assert sorted(session.scalars(select(EntryRow.author_id))) == ["wxid_si", "wxid_wang"]
    sessions.kw["bind"].dispose()
