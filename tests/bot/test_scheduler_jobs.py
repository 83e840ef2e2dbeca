"""Scheduler wiring, read back through get_jobs(): one job per campaign, group and post,
the evening summary, stable ids, times in Asia/Shanghai, jobs persisted in the database."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot import scheduler
from bot.context import Settings
from storage.setup import apply_setup, load_setup_text
from tests.conftest import TZ, at, demo_setup_text


@pytest.fixture
def future(sessions):
    """The demo campaign moved to 2099, so a started scheduler finds nothing due on the wall
    clock and runs no job while the test looks at its job store."""
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text().replace("2026-11-2", "2099-11-2")))
    return sessions


def test_jobs_for_every_post_and_the_summary(loaded, db_url) -> None:
    sched = scheduler.build_scheduler(db_url, Settings())
    with loaded() as session:
        count = scheduler.sync_jobs(sched, session, Settings(), db_url, at(25, 8))
    jobs = {job.id: job for job in sched.get_jobs()}
    assert count == 8  # 4 posts × 2 bound groups
    assert {j for j in jobs if j.startswith("post:fruit-1125:1:")} == {
        f"post:fruit-1125:1:{kind}" for kind in ("open", "reminder", "close", "pickup")}
    assert jobs["post:fruit-1125:1:reminder"].trigger.run_date.astimezone(TZ) == at(25, 21)
    assert jobs["post:fruit-1125:1:close"].args[3] == "close"
    summary = jobs["evening-summary"].trigger
    assert str(summary.timezone) == "Asia/Shanghai" and "hour='21'" in str(summary) and "minute='30'" in str(summary)
    assert "sync" in jobs


def test_syncing_again_replaces_instead_of_duplicating(future, db_url) -> None:
    sched = scheduler.build_scheduler(db_url, Settings())
    sched.start(paused=True)  # as `jielong run` does: jobs go to the database job store
    try:
        for _ in range(2):
            with future() as session:
                scheduler.sync_jobs(sched, session, Settings(), db_url, datetime(2099, 11, 25, 8, tzinfo=TZ))
        ids = [job.id for job in sched.get_jobs()]
    finally:
        sched.shutdown(wait=False)
    assert len(ids) == len(set(ids)) == 10


def test_past_posts_are_not_scheduled(loaded, db_url) -> None:
    sched = scheduler.build_scheduler(db_url, Settings())
    with loaded() as session:
        scheduler.sync_jobs(sched, session, Settings(), db_url, at(25, 21, 30))
    kinds = {job.id.rsplit(":", 1)[1] for job in sched.get_jobs() if job.id.startswith("post:")}
    assert kinds == {"close", "pickup"}


def test_jobs_survive_a_restart(future, db_url) -> None:
    first = scheduler.build_scheduler(db_url, Settings())
    first.start(paused=True)
    with future() as session:
        scheduler.sync_jobs(first, session, Settings(), db_url, datetime(2099, 11, 25, 8, tzinfo=TZ))
    first.shutdown(wait=False)
    second = scheduler.build_scheduler(db_url, Settings())
    second.start(paused=True)
    try:
        assert "post:fruit-1125:1:pickup" in {job.id for job in second.get_jobs()}
    finally:
        second.shutdown(wait=False)
