"""The message log as the inbox: each message is recorded first, then applied in its
conversation's order — by whichever process holds the conversation, across processes.

A conversation is a group (its chat id) or one person's private chat with the bot
(`private:<sender>`, as `IncomingMessage.session_key`). A transaction that applies messages
first *holds* the conversation: on PostgreSQL a transaction-scoped advisory lock on the
conversation (and a shared one on the projection, which a rebuild takes exclusively at its
start and end); on SQLite the database's single write lock, taken by the first statement. So
the pending messages it reads are all there are, and no other process applies them meanwhile.

States (`MessageState`): APPLIED; PENDING (recorded by an accepting process, set aside by a
transient database error, or recorded during a rebuild); FAILED (the apply raised something
that would raise again: skipped until `jielong retry`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, func, literal, select, text, update
from sqlalchemy.orm import Session

from storage import chains
from storage.fast import FastStatement
from storage.models import MessageLog, MessageState, PipelineState

PRIVATE = "private:"  # a conversation key for a private chat: PRIVATE + the sender's id
# PostgreSQL advisory lock key spaces (two-int form; `storage.db.upgrade` uses a one-bigint key).
_CONVERSATION_LOCKS = 0x6A6C  # "jl": one lock per conversation, hashed
_PROJECTION_LOCKS = 0x6A6D  # the projection as a whole (0: live ⇄ rebuild), and "a rebuild runs" (1)
_PENDING = MessageState.PENDING.value
_STATE = PipelineState.__table__
_MESSAGES = MessageLog.__table__


# --- holding a conversation ------------------------------------------------------------------


def hold_conversation(session: Session, key: str, *, then_writes: bool = False) -> None:
    """Make this transaction the only one applying the conversation's messages, until it ends
    (another process's transaction waits here). Call it first in the transaction.

    `then_writes`: the caller's next statement writes (it logs the message) and reads nothing
    before: on SQLite that write takes the database's lock itself, so nothing is run here."""
    if then_writes and session.get_bind().dialect.name == "sqlite":
        return
    _hold(session, key, wait=True)


def try_hold_conversation(session: Session, key: str) -> bool:
    """`hold_conversation` without waiting: False when another transaction holds it (it will
    apply what is pending there; a sweep moves on)."""
    return _hold(session, key, wait=False)


def _hold(session: Session, key: str, *, wait: bool) -> bool:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if wait:  # goes out with the statement after it (logging the message): one round trip
            _pg_hold(wait).send(session, {"key": key})
            return True
        return bool(_pg_hold(wait).fetch_one(session, {"key": key})[1])
    # SQLite has one writer at a time: a write (that changes nothing) takes the lock, and every
    # read after it sees all that was committed before.
    _SQLITE_WRITE_LOCK.execute(session, {})
    return True


def commit_lazily(session: Session) -> None:
    """This transaction only applies messages already recorded: its COMMIT need not wait for
    the disk (PostgreSQL `synchronous_commit = off`, for this transaction only). A server crash
    can lose it, and then its messages are simply pending again — applied by the next pass.
    (Never for a transaction that records a message: that one is what a transport acknowledges.)"""
    if session.get_bind().dialect.name == "postgresql":
        _LAZY_COMMIT.send(session, {})


_LAZY_COMMIT = FastStatement(text("SET LOCAL synchronous_commit TO off"))


@cache
def _pg_hold(wait: bool) -> FastStatement:
    # Left to right: the projection (shared: live transactions never wait for each other there;
    # a rebuild takes it exclusively at its start and end), then the conversation.
    conversation = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    return FastStatement(text(f"SELECT pg_advisory_xact_lock_shared({_PROJECTION_LOCKS}, 0), "
                              f"{conversation}({_CONVERSATION_LOCKS}, hashtext(:key))"))


_SQLITE_WRITE_LOCK = FastStatement(update(_STATE).where(_STATE.c.id == 0).values(epoch=_STATE.c.epoch))


# --- what is pending ---------------------------------------------------------------------------


def conversation_of(row: MessageLog) -> str:
    """The conversation key of a logged message (as `IncomingMessage.session_key`)."""
    return row.chat_id if row.chat_id is not None else PRIVATE + row.sender_id


def _in_conversation(key: str):
    if key.startswith(PRIVATE):
        return and_(MessageLog.chat_id.is_(None), MessageLog.sender_id == key[len(PRIVATE):])
    return MessageLog.chat_id == key


def pending_messages(session: Session, key: str, limit: int = 100, *,
                     unless_rebuilding: bool = False) -> list[MessageLog]:
    """The conversation's messages waiting to be applied, in the order they were sent (ties:
    the order they were logged). `unless_rebuilding`: none while a rebuild runs (it applies
    them), checked in the same query."""
    query = (select(MessageLog).where(_in_conversation(key), MessageLog.state == _PENDING)
             .order_by(MessageLog.sent_at, MessageLog.id).limit(limit))
    if unless_rebuilding:
        query = query.where(~select(PipelineState.id).where(
            PipelineState.id == 1, PipelineState.rebuild_started_at.is_not(None)).exists())
    return list(session.scalars(query))


def pending_conversations(session: Session, limit: int = 1000) -> list[str]:
    """Conversations with messages waiting, the longest-waiting first."""
    key = func.coalesce(MessageLog.chat_id, literal(PRIVATE).concat(MessageLog.sender_id))
    return list(session.scalars(
        select(key).where(MessageLog.state == _PENDING).group_by(key)
        .order_by(func.min(MessageLog.sent_at)).limit(limit)))


def pending_ids(session: Session, limit: int = 500) -> list[int]:
    """Pending messages of every conversation, in the order they were sent (a rebuild's tail)."""
    return list(session.scalars(select(MessageLog.id).where(MessageLog.state == _PENDING)
                                .order_by(MessageLog.sent_at, MessageLog.id).limit(limit)))


def pending_rows(session: Session, limit: int = 10_000) -> list[MessageLog]:
    return list(session.scalars(select(MessageLog).where(MessageLog.state == _PENDING)
                                .order_by(MessageLog.sent_at, MessageLog.id).limit(limit)))


def log_id_of(session: Session, platform: str, message_id: str) -> int | None:
    return session.scalar(select(MessageLog.id).where(MessageLog.platform == platform,
                                                      MessageLog.message_id == message_id))


# --- marking -----------------------------------------------------------------------------------

_MARK_APPLIED = FastStatement(update(_MESSAGES).where(_MESSAGES.c.id == bindparam("log_id"))
                              .values(state=MessageState.APPLIED.value, applied_at=bindparam("at")))


def mark_applied(session: Session, log_id: int, at: datetime) -> None:
    _MARK_APPLIED.send(session, {"log_id": log_id, "at": at})


def set_pending(session: Session, log_id: int) -> None:
    """A message just logged as applied goes to the queue instead (others wait before it)."""
    session.execute(update(MessageLog).where(MessageLog.id == log_id).values(state=_PENDING, applied_at=None))


def mark_failure(session: Session, log_id: int, reason: str, *, give_up: bool, max_attempts: int) -> MessageState:
    """One more failed attempt: the message stays PENDING (a transient error: tried again by the
    next pass) until `max_attempts`, or becomes FAILED at once (`give_up`: it would fail the
    same way again). Returns the state it is left in."""
    attempts = session.scalar(select(MessageLog.attempts).where(MessageLog.id == log_id)) or 0
    state = MessageState.FAILED if give_up or attempts + 1 >= max_attempts else MessageState.PENDING
    session.execute(update(MessageLog).where(MessageLog.id == log_id).values(
        state=state.value, attempts=attempts + 1, failed_reason=reason[:2000]))
    return state


def requeue_failed(session: Session) -> int:
    """Every FAILED message back to PENDING, attempts from zero (`jielong retry`, after a fix)."""
    return session.execute(update(MessageLog).where(MessageLog.state == MessageState.FAILED.value)
                           .values(state=_PENDING, attempts=0)).rowcount


@dataclass(frozen=True)
class Unapplied:
    log_id: int
    platform: str
    message_id: str
    conversation: str
    chat_name: str | None
    sender_name: str
    sent_at: datetime
    state: MessageState
    attempts: int
    reason: str | None


def unapplied(session: Session, limit: int = 1000) -> list[Unapplied]:
    """Messages not applied (pending or failed), oldest first: for the operator."""
    rows = session.scalars(select(MessageLog).where(MessageLog.state != MessageState.APPLIED.value)
                           .order_by(MessageLog.sent_at, MessageLog.id).limit(limit))
    return [Unapplied(r.id, r.platform, r.message_id, conversation_of(r), r.chat_name, r.sender_name, r.sent_at,
                      MessageState(r.state), r.attempts, r.failed_reason) for r in rows]


def unapplied_counts(session: Session) -> dict[MessageState, int]:
    rows = session.execute(select(MessageLog.state, func.count()).where(MessageLog.state != MessageState.APPLIED.value)
                           .group_by(MessageLog.state)).all()
    return {MessageState(state): count for state, count in rows}


# --- a rebuild among live processes --------------------------------------------------------------


@dataclass(frozen=True)
class RebuildMark:
    started_at: datetime
    by: str


class RebuildRunning(RuntimeError):
    """Another `jielong rebuild` is running on this database."""


def rebuilding(session: Session) -> RebuildMark | None:
    """The rebuild in progress (or one that died half-way: run it again), if any. Read after
    holding a conversation, so it is current."""
    row = session.execute(select(PipelineState.rebuild_started_at, PipelineState.rebuild_by)
                          .where(PipelineState.id == 1)).first()
    if row is None or row[0] is None:
        return None
    return RebuildMark(row[0], row[1] or "")


def claim_rebuild(connection_session: Session) -> None:
    """Make sure no other rebuild runs (PostgreSQL: a lock held by this session's connection
    until it closes; SQLite: the mark's process must be gone). Raises RebuildRunning."""
    if connection_session.get_bind().dialect.name == "postgresql":
        got = connection_session.execute(text(f"SELECT pg_try_advisory_lock({_PROJECTION_LOCKS}, 1)")).scalar()
        if not got:
            mark = rebuilding(connection_session)
            raise RebuildRunning(_running_text(mark))
        return
    mark = rebuilding(connection_session)
    if mark is not None and _alive(mark.by):
        raise RebuildRunning(_running_text(mark))


def release_rebuild(connection_session: Session) -> None:
    """The end of `claim_rebuild` (its connection closing does the same)."""
    if connection_session.get_bind().dialect.name == "postgresql":
        connection_session.execute(text(f"SELECT pg_advisory_unlock({_PROJECTION_LOCKS}, 1)"))


def _running_text(mark: RebuildMark | None) -> str:
    if mark is None:
        return "another rebuild is running on this database"
    return f"another rebuild is running on this database (since {mark.started_at:%Y-%m-%d %H:%M:%S} UTC, {mark.by})"


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(by: str) -> bool:
    """Is the process that left this mark still running (same host only; another host's
    process is taken as alive)?"""
    host, _, pid = by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return bool(by)
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exclude_live(session: Session) -> None:
    """Wait until no live transaction is applying anything, and keep them out until this
    transaction ends (PostgreSQL; on SQLite the write lock does it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_PROJECTION_LOCKS}, 0)"))
    else:
        _SQLITE_WRITE_LOCK.execute(session, {})


def begin_rebuild(session: Session, at: datetime) -> None:
    """Mark a rebuild in progress. From the commit on, live processes record messages and
    leave them pending (the rebuild applies them). Call after `exclude_live`, in the
    transaction that resets the projection."""
    _ensure_state_row(session)
    mark = rebuilding(session)
    if mark is not None and mark.by != _me() and _alive(mark.by) and session.get_bind().dialect.name != "postgresql":
        raise RebuildRunning(_running_text(mark))  # SQLite: two rebuilds that started at once
    session.execute(update(PipelineState).where(PipelineState.id == 1)
                    .values(rebuild_started_at=at, rebuild_by=_me()))


def finish_rebuild(session: Session) -> None:
    """Clear the mark and start a new epoch: every process drops the chains it holds in memory
    (storage.chains), which describe the projection before the rebuild."""
    _ensure_state_row(session)
    session.execute(update(PipelineState).where(PipelineState.id == 1)
                    .values(rebuild_started_at=None, rebuild_by=None, epoch=PipelineState.epoch + 1))
    chains.forget_all()


def _ensure_state_row(session: Session) -> None:
    if session.scalar(select(PipelineState.id).where(PipelineState.id == 1)) is None:
        session.add(PipelineState(id=1, epoch=0))
        session.flush()


# --- the projection's epoch -----------------------------------------------------------------------

_epochs: dict[str, int] = {}  # database → the epoch this process last saw


def note_epoch(session: Session, epoch: int) -> None:
    """A rebuild (in any process) moved the epoch: what this process holds of chains is stale."""
    database = str(session.get_bind().url)
    seen = _epochs.get(database)
    if seen != epoch:
        if seen is not None:
            chains.forget_all()
        _epochs[database] = epoch
