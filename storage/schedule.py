"""Scheduled posts as rows: planned ahead from the campaigns, taken when due by any process.

A due row is read FOR UPDATE SKIP LOCKED (PostgreSQL): the process posting it holds it, the
others pass it by. It is marked done in the transaction that queues its post, so a post is
queued once whichever process takes it, and a process that dies mid-post (its transaction
rolled back by the server) leaves the row to the next. On SQLite one writer at a time does
the same (`storage.db.lock_for_writing`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_present, upsert_insert
from storage.models import ScheduledPost, SchedulePlan

_PLANNING_LOCK = 7310515  # pg advisory lock key: one planner at a time (storage.db uses 7310514)
_CHUNK = 500  # rows per INSERT (SQLite caps the number of values in one statement)


@dataclass(frozen=True)
class PlannedPost:
    key: str  # the outbox dedupe key of what it queues
    kind: str
    campaign_id: str | None
    group_id: int | None
    due_at: datetime


def plan_stamp(session: Session) -> tuple[int, str] | None:
    """(set-up revision, day) the posts were last planned for."""
    row = session.get(SchedulePlan, 1)
    return (row.revision, row.day) if row is not None else None


def try_planning_lock(session: Session) -> bool:
    """Whether this transaction may plan: False while another process is planning."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PLANNING_LOCK}))


def save_plan(session: Session, posts: Sequence[PlannedPost], campaign_ids: Collection[str], revision: int,
              day: str) -> None:
    """Make the rows match the plan: new posts added, moved ones re-timed (until done), the
    undone posts of these campaigns that the plan no longer has (a group taken out) removed.
    Done rows are history and stay as they are."""
    table = ScheduledPost.__table__
    dialect = session.get_bind().dialect.name
    for start in range(0, len(posts), _CHUNK):
        chunk = posts[start:start + _CHUNK]
        insert = upsert_insert(dialect, table).values([
            dict(key=p.key, kind=p.kind, campaign_id=p.campaign_id, group_id=p.group_id, due_at=p.due_at,
                 planned_at_revision=revision, attempts=0) for p in chunk])
        session.execute(insert.on_conflict_do_update(
            index_elements=["key"],
            set_=dict(due_at=insert.excluded.due_at, planned_at_revision=insert.excluded.planned_at_revision),
            where=table.c.done_at.is_(None)))
    if campaign_ids:
        session.execute(delete(table).where(table.c.campaign_id.in_(list(campaign_ids)), table.c.done_at.is_(None),
                                            table.c.planned_at_revision != revision))
    stamp = insert_unless_present(dialect, SchedulePlan.__table__, ["id"])
    session.execute(stamp.values(id=1, revision=revision, day=day))
    session.execute(update(SchedulePlan.__table__).where(SchedulePlan.id == 1).values(revision=revision, day=day))


@dataclass(frozen=True)
class DuePost:
    id: int
    key: str
    kind: str
    campaign_id: str | None
    group_id: int | None
    due_at: datetime
    attempts: int


def take_due_posts(session: Session, now: datetime, limit: int | None = None) -> list[DuePost]:
    """Undone posts due by `now`, oldest first, held by this transaction until it ends."""
    query = (select(ScheduledPost.id, ScheduledPost.key, ScheduledPost.kind, ScheduledPost.campaign_id,
                    ScheduledPost.group_id, ScheduledPost.due_at, ScheduledPost.attempts)
             .where(ScheduledPost.done_at.is_(None), ScheduledPost.due_at <= now)
             .order_by(ScheduledPost.due_at, ScheduledPost.id)
             .with_for_update(skip_locked=True))
    if limit is not None:
        query = query.limit(limit)
    return [DuePost(*row) for row in session.execute(query)]


def finish(session: Session, post_id: int, now: datetime, outcome: str, error: str | None = None) -> None:
    session.execute(update(ScheduledPost.__table__).where(ScheduledPost.id == post_id)
                    .values(done_at=now, outcome=outcome, last_error=error))


def failed_try(session: Session, post_id: int, error: str) -> None:
    """A try that raised: counted, the row stays due."""
    session.execute(update(ScheduledPost.__table__).where(ScheduledPost.id == post_id)
                    .values(attempts=ScheduledPost.attempts + 1, last_error=error[:1000]))


@dataclass(frozen=True)
class ScheduledView:
    key: str
    kind: str
    due_at: datetime
    done_at: datetime | None
    outcome: str | None


def scheduled_posts(session: Session, *, undone_only: bool = False) -> list[ScheduledView]:
    """Every planned post by due time (the operator's and the tests' view)."""
    query = select(ScheduledPost.key, ScheduledPost.kind, ScheduledPost.due_at, ScheduledPost.done_at,
                   ScheduledPost.outcome).order_by(ScheduledPost.due_at, ScheduledPost.id)
    if undone_only:
        query = query.where(ScheduledPost.done_at.is_(None))
    return [ScheduledView(*row) for row in session.execute(query)]
