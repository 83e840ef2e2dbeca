"""Scheduled posts as rows on SQLite and PostgreSQL: the plan is upserted (new rows added,
undone ones re-timed, dropped ones removed, done ones kept), due rows are taken oldest first
and skipped while another transaction holds them, one planner at a time."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from storage import schedule
from storage.db import open_db
from storage.setup import apply_setup, load_setup_text
from tests.storage.helpers import SETUP, TZ

T0 = datetime(2026, 11, 25, 9, tzinfo=TZ)
CAMPAIGN = "fruit-1124"  # of SETUP


def post(key: str, due: datetime, campaign: str | None = CAMPAIGN, kind: str = "open") -> schedule.PlannedPost:
    return schedule.PlannedPost(key, kind, campaign, None, due)


@pytest.fixture
def db(sessions):
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    return sessions


def plan(db, posts, campaigns=(CAMPAIGN,), revision: int = 1, day: str = "2026-11-25") -> None:
    with db.begin() as session:
        schedule.save_plan(session, posts, list(campaigns), revision, day)


def view(db) -> dict[str, tuple[datetime, str | None]]:
    with db() as session:
        return {p.key: (p.due_at, p.outcome) for p in schedule.scheduled_posts(session)}


def test_a_plan_is_upserted_and_stamped(db) -> None:
    plan(db, [post("a", T0), post("b", T0 + timedelta(hours=1)), post("summary", T0, None, "summary")])
    with db() as session:
        assert schedule.plan_stamp(session) == (1, "2026-11-25")
    with db.begin() as session:
        [taken] = schedule.take_due_posts(session, T0, limit=1)
        schedule.finish(session, taken.id, T0, "queued")
    # The next plan: "a" (done) moved — history stays; "b" re-timed; "c" new; "x" of another
    # campaign untouched; a post the plan no longer has is removed.
    plan(db, [post("a", T0 + timedelta(minutes=5)), post("b", T0 + timedelta(hours=2)), post("c", T0)],
         revision=2, day="2026-11-26")
    assert view(db) == {"a": (T0, "queued"), "summary": (T0, None), "c": (T0, None),
                        "b": (T0 + timedelta(hours=2), None)}
    with db() as session:
        assert schedule.plan_stamp(session) == (2, "2026-11-26")


def test_due_rows_come_oldest_first_and_a_failed_try_stays_due(db) -> None:
    plan(db, [post("late", T0 + timedelta(minutes=1)), post("early", T0), post("future", T0 + timedelta(days=1))])
    with db.begin() as session:
        due = schedule.take_due_posts(session, T0 + timedelta(minutes=1))
        assert [p.key for p in due] == ["early", "late"]
        schedule.failed_try(session, due[0].id, "RuntimeError: broken")
    with db() as session:
        [again, _late] = schedule.take_due_posts(session, T0 + timedelta(minutes=1))
        assert (again.key, again.attempts) == ("early", 1)
        assert schedule.scheduled_posts(session, undone_only=True)[0].key == "early"


def test_a_row_being_posted_is_skipped_not_waited_for(pg_url) -> None:
    first, second = open_db(pg_url), open_db(pg_url)
    with first.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
        schedule.save_plan(session, [post("a", T0), post("b", T0)], [CAMPAIGN], 1, "2026-11-25")
    seen: list[list[str]] = []
    with first.begin() as holder:
        assert [p.key for p in schedule.take_due_posts(holder, T0, limit=1)] == ["a"]
        assert schedule.try_planning_lock(holder)

        def other() -> None:
            with second.begin() as session:
                seen.append([p.key for p in schedule.take_due_posts(session, T0)])
                seen.append([str(schedule.try_planning_lock(session))])

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert seen == [["b"], ["False"]]  # "a" is held; so is the planning lock
    for maker in (first, second):
        maker.kw["bind"].dispose()

