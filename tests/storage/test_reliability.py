"""Nothing doubled, nothing lost: a crash in the middle of a replay, and two processes writing
different groups into one PostgreSQL database at once."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from storage.db import open_db
from storage.models import MessageLog
from tests.storage.helpers import GROUP, GROUP2, load, projection
from tests.storage.scenario import apply_all, apply_copy, busy_chain

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
