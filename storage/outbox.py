"""The outbox table: queue, claim, mark sent, retry, fail — and the shared send budgets.

Every statement the sending side runs is here; the policy (what may go now, what merges,
backoff, alerts) is `bot/outbox.py`. A row is pending until a transport reported it:

    queued ──claim──▶ claimed ──SENT──▶ sent
                         │ RETRY / claim expired (the process died mid-send)
                         ▼
                      queued again (not before a backoff) ──after the limit──▶ failed

Claims are atomic across processes: the due rows are read FOR UPDATE SKIP LOCKED on
PostgreSQL (a second process skips what the first is deciding about) and claimed with a
conditional UPDATE (a row someone else claimed is not claimed again). SQLite has one writer at
a time: the caller takes its write lock first (`storage.db.lock_for_writing`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_present
from storage.models import Admin, Group, Leader, Member, MessageLog, SendPacing
from storage.models import Outbox as OutboxRow

# Statements are built once (the reply check runs after every message); their values are
# bound at execution. Updates run as Core statements: no ORM objects are involved.
_PENDING = and_(OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None))
_ROWS = OutboxRow.__table__
_IDS = bindparam("ids", expanding=True)
_NOW = bindparam("now", type_=OutboxRow.first_failed_at.type)  # stored in UTC on both databases
UNREPORTED = "no report from the process that sent it (stopped mid-send?)"


# --- queueing --------------------------------------------------------------------------------

def enqueue(session: Session, *, to: str, is_group: bool, text: str, mentions: Iterable[str], kind: str,
            created_at: datetime, dedupe_key: str | None = None, account: str | None = None,
            image: bytes | None = None) -> bool:
    """Queue one message. False (nothing queued) when `dedupe_key` was queued before.

    ON CONFLICT DO NOTHING: two writers (a second bot process, a retried job) may queue the
    same key at once; the second waits for the first and queues nothing, instead of failing
    its whole transaction (and with it the orders of the message being handled)."""
    row = session.execute(_insert(session.get_bind().dialect.name), dict(
        dedupe_key=dedupe_key, to=to, is_group=is_group, text=text, mentions=list(mentions), kind=kind,
        created_at=created_at, account=account, image=image)).first()
    return row is not None


@cache
def _insert(dialect: str):
    return insert_unless_present(dialect, _ROWS, ["dedupe_key"]).returning(OutboxRow.id)


def dedupe_key_used(session: Session, dedupe_key: str) -> bool:
    return session.scalar(_KEY_USED, {"key": dedupe_key}) is not None


_KEY_USED = select(OutboxRow.id).where(OutboxRow.dedupe_key == bindparam("key"))


def pending_count(session: Session) -> int:
    """Rows not sent yet and not given up (claimed ones included)."""
    return session.scalar(select(func.count(OutboxRow.id)).where(_PENDING)) or 0


# --- who sends ---------------------------------------------------------------------------------

def note_group_account(session: Session, group_id: int, account: str) -> None:
    """The bot account that sits in this group (it received the group's latest message).
    A Core statement: the account is not set-up, so this does not bump the set-up revision."""
    session.execute(update(Group.__table__)
                    .where(Group.id == group_id, or_(Group.account.is_(None), Group.account != account))
                    .values(account=account))


def private_account(session: Session, user_id: str) -> str | None:
    """The bot account this person last wrote to in private: it can write back."""
    return session.scalar(_PRIVATE_ACCOUNT, {"user": user_id})


_PRIVATE_ACCOUNT = (select(MessageLog.account)
                    .where(MessageLog.chat_id.is_(None), MessageLog.sender_id == bindparam("user"),
                           MessageLog.account.is_not(None))
                    .order_by(MessageLog.id.desc()).limit(1))


# --- claiming ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DueRow:
    """A pending row that may be sent now, as the sending policy needs it (no image bytes)."""

    id: int
    to: str
    is_group: bool
    text: str
    mentions: tuple[str, ...]
    kind: str
    created_at: datetime
    account: str | None  # the row's own, else the group's (learned from its messages)
    has_image: bool
    attempts: int
    first_failed_at: datetime | None
    claimed_until: datetime | None  # set: a claim that expired without a report


def due_rows(session: Session, now: datetime, *, accounts: Collection[str] | None = None,
             groups: bool = True, private: bool = True, limit: int = 1000) -> list[DueRow]:
    """Pending rows that may go now, oldest first: not claimed (or their claim expired), past
    their backoff, for one of `accounts` (None: any) or for no particular account.
    Locked until the transaction ends; rows another process is deciding about are skipped."""
    query = _due_query(accounts is not None, groups, private)
    params = {"now": now, "limit": limit}
    if accounts is not None:
        params["accounts"] = list(accounts)
    return [DueRow(r[0], r[1], r[2], r[3], tuple(r[4] or ()), r[5], r[6], r[7], bool(r[8]), r[9], r[10], r[11])
            for r in session.execute(query, params)]


@cache
def _due_query(by_account: bool, groups: bool, private: bool):
    account = func.coalesce(OutboxRow.account, Group.account)
    now = bindparam("now", type_=OutboxRow.claimed_until.type)
    query = (
        select(OutboxRow.id, OutboxRow.to, OutboxRow.is_group, OutboxRow.text, OutboxRow.mentions,
               OutboxRow.kind, OutboxRow.created_at, account, OutboxRow.image.is_not(None),
               OutboxRow.attempts, OutboxRow.first_failed_at, OutboxRow.claimed_until)
        .outerjoin(Group, and_(OutboxRow.is_group, Group.chat_id == OutboxRow.to))
        .where(_PENDING,
               or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
               or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now))
        .order_by(OutboxRow.created_at, OutboxRow.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=OutboxRow)
    )
    if by_account:
        query = query.where(or_(account.in_(bindparam("accounts", expanding=True)), account.is_(None)))
    if not groups:
        query = query.where(OutboxRow.is_group.is_(False))
    if not private:
        query = query.where(OutboxRow.is_group.is_(True))
    return query


def claim(session: Session, ids: Collection[int], owner: str, now: datetime, until: datetime) -> dict[int, bytes | None]:
    """Claim these rows for `owner` until `until`: the ids claimed, with their images. A row
    sent, given up or claimed by someone else in the meantime is left out. An expired claim
    taken over counts as a failed try, failing from now on if it had not failed before (the
    time nobody was there to notice is not held against it)."""
    if not ids:
        return {}
    rows = session.execute(_CLAIM, {"ids": list(ids), "owner": owner, "now": now, "until": until})
    return {row[0]: row[1] for row in rows}


_EXPIRED = OutboxRow.claimed_until.is_not(None)
_CLAIM = (
    update(_ROWS)
    .where(OutboxRow.id.in_(_IDS), _PENDING, or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < _NOW))
    .values(claimed_by=bindparam("owner"), claimed_until=bindparam("until"),
            attempts=OutboxRow.attempts + case((_EXPIRED, 1), else_=0),
            first_failed_at=case((_EXPIRED, func.coalesce(OutboxRow.first_failed_at, _NOW)),
                                 else_=OutboxRow.first_failed_at),
            last_error=case((_EXPIRED, literal(UNREPORTED)), else_=OutboxRow.last_error))
    .returning(OutboxRow.id, OutboxRow.image)
)


# --- reports ---------------------------------------------------------------------------------------

def mark_sent(session: Session, ids: Collection[int], now: datetime) -> int:
    """Delivered. Whoever claims it now, and even if it had been given up: it went out."""
    return session.execute(_MARK_SENT, {"ids": list(ids), "now": now}).rowcount


_MARK_SENT = (update(_ROWS).where(OutboxRow.id.in_(_IDS), OutboxRow.sent_at.is_(None))
              .values(sent_at=_NOW, claimed_by=None, claimed_until=None, failed_at=None))


@dataclass(frozen=True)
class Failure:
    id: int
    attempts: int
    failing_since: datetime


def record_failure(session: Session, ids: Collection[int], owner: str, now: datetime, detail: str) -> list[Failure]:
    """A try that did not deliver: the rows `owner` still holds are released (`defer` says
    until when) with one more failed try counted."""
    rows = session.execute(_RECORD_FAILURE, {"ids": list(ids), "owner": owner, "now": now, "detail": detail[:1000]})
    return [Failure(*row) for row in rows]


_RECORD_FAILURE = (
    update(_ROWS)
    .where(OutboxRow.id.in_(_IDS), _PENDING, OutboxRow.claimed_by == bindparam("owner"))
    .values(claimed_by=None, claimed_until=None, attempts=OutboxRow.attempts + 1,
            first_failed_at=func.coalesce(OutboxRow.first_failed_at, _NOW), last_error=bindparam("detail"))
    .returning(OutboxRow.id, OutboxRow.attempts, OutboxRow.first_failed_at)
)


def defer(session: Session, when: dict[int, datetime]) -> None:
    """Each row is not looked at again before its time (a backoff, or its pace's next slot)."""
    if when:
        session.execute(_DEFER, [{"row_id": row_id, "at": at} for row_id, at in when.items()])


_DEFER = update(_ROWS).where(OutboxRow.id == bindparam("row_id")).values(not_before=bindparam("at"))


@dataclass(frozen=True)
class FailedSend:
    id: int
    to: str
    is_group: bool
    kind: str
    text: str
    attempts: int
    failed_at: datetime
    last_error: str | None
    account: str | None  # the row's own, else its group's


def mark_failed(session: Session, ids: Collection[int], now: datetime, detail: str | None = None) -> list[FailedSend]:
    """Given up: never tried again. The rows that were still pending."""
    values = dict(failed_at=now, claimed_by=None, claimed_until=None)
    if detail is not None:
        values["last_error"] = detail[:1000]
    failed = session.scalars(update(_ROWS).where(OutboxRow.id.in_(list(ids)), _PENDING).values(**values)
                             .returning(OutboxRow.id)).all()
    return _failed(session, OutboxRow.id.in_(failed)) if failed else []


def failed_sends(session: Session, start: datetime, end: datetime) -> list[FailedSend]:
    """What was given up between these times, oldest first (summaries, the dashboard)."""
    return _failed(session, and_(OutboxRow.failed_at >= start, OutboxRow.failed_at < end, OutboxRow.sent_at.is_(None)))


def _failed(session: Session, where) -> list[FailedSend]:
    rows = session.execute(
        select(OutboxRow.id, OutboxRow.to, OutboxRow.is_group, OutboxRow.kind, OutboxRow.text, OutboxRow.attempts,
               OutboxRow.failed_at, OutboxRow.last_error, func.coalesce(OutboxRow.account, Group.account))
        .outerjoin(Group, and_(OutboxRow.is_group, Group.chat_id == OutboxRow.to))
        .where(where).order_by(OutboxRow.failed_at, OutboxRow.id))
    return [FailedSend(*row) for row in rows]


def recipient_name(session: Session, to: str, is_group: bool) -> str:
    """What people call a recipient: a group's name, a person's name, else the id."""
    if is_group:
        name = session.scalar(select(Group.name).where(Group.chat_id == to))
    else:
        name = (session.scalar(select(Leader.name).where(Leader.id == to))
                or session.scalar(select(Admin.name).where(Admin.user_id == to))
                or session.scalar(select(Member.name).where(Member.user_id == to)))
    return name or to


# --- pacing budgets ----------------------------------------------------------------------------------

@dataclass
class Budget:
    scope: str
    tat: datetime | None = None
    recent: list[float] = field(default_factory=list)  # epoch seconds of recent sends


def budgets(session: Session, scopes: Collection[str]) -> dict[str, Budget]:
    """The budgets of these scopes, locked for this transaction. A scope another process is
    spending from right now is left out (PostgreSQL: SKIP LOCKED): it is busy this round."""
    if not scopes:
        return {}
    found = {row.scope: Budget(row.scope, row.tat, list(row.recent or ()))
             for row in session.execute(_BUDGETS, {"scopes": list(scopes)})}
    missing = [scope for scope in scopes if scope not in found]
    if missing:  # a scope's first message (or one being created by another process right now)
        insert = insert_unless_present(session.get_bind().dialect.name, _PACING, ["scope"])
        for row in session.execute(insert.values([{"scope": s, "recent": []} for s in missing])
                                   .returning(_PACING.c.scope)):
            found[row[0]] = Budget(row[0])
    return found


_PACING = SendPacing.__table__
_BUDGETS = (select(SendPacing.scope, SendPacing.tat, SendPacing.recent)
            .where(SendPacing.scope.in_(bindparam("scopes", expanding=True))).with_for_update(skip_locked=True))


def save_budgets(session: Session, changed: Iterable[Budget]) -> None:
    rows = [{"key": b.scope, "tat": b.tat, "recent": b.recent} for b in changed]
    if rows:
        session.execute(_SAVE_BUDGET, rows)


_SAVE_BUDGET = (update(_PACING).where(_PACING.c.scope == bindparam("key"))
                .values(tat=bindparam("tat"), recent=bindparam("recent")))
