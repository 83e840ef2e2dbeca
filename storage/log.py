"""The message log: every inbound message, exactly as received — the source of truth.

Orders are its projection (storage.chains applies chain copies; `jielong rebuild` reads the
log back in order and applies it again). The log is also the inbox: each row's state says
whether its effect is applied (see storage.inbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_present
from storage.fast import FastStatement
from storage.models import MessageLog, MessageState, PipelineState, SetupRevision
from storage.revision import remember_setup_revision


@dataclass(frozen=True)
class Recorded:
    """A message just logged, and what its pipeline needs to know at that moment (read by the
    statement that logged it: no round trip of its own)."""

    row: MessageLog
    others_pending: bool  # other messages of its conversation wait to be applied
    rebuilding: bool  # a rebuild is running: it applies what is recorded meanwhile
    epoch: int  # the projection's epoch (storage.inbox.note_epoch)


def record_message(
    session: Session, *, platform: str, message_id: str, chat_id: str | None, chat_name: str | None,
    sender_id: str, sender_name: str, text: str, sent_at: datetime, received_at: datetime,
    account: str | None = None, raw: str | None = None, native_chain: bool = False,
    state: MessageState = MessageState.APPLIED, applied_at: datetime | None = None,
) -> MessageLog | None:
    """Log an inbound message; None when this (platform, message_id) was logged before.

    State APPLIED (the default) is for a writer that applies the message in this transaction;
    PENDING records it to be applied later, in its conversation's order.
    """
    recorded = record(session, platform=platform, message_id=message_id, chat_id=chat_id, chat_name=chat_name,
                      sender_id=sender_id, sender_name=sender_name, text=text, sent_at=sent_at,
                      received_at=received_at, account=account, raw=raw, native_chain=native_chain, state=state,
                      applied_at=applied_at)
    return recorded.row if recorded is not None else None


def record(session: Session, *, state: MessageState, **values) -> Recorded | None:
    """`record_message` with what the pipeline reads at the same moment (see `Recorded`).

    One INSERT … ON CONFLICT DO NOTHING … RETURNING: a redelivery, or another process logging
    the same message at the same moment, inserts nothing and is told so. The row returned is
    not attached to the session (nothing reads it back). The set-up revision read with it is
    remembered for the transaction (storage.revision).
    """
    values = {**values, "state": state.value}
    private = values["chat_id"] is None
    conversation = values["sender_id"] if private else values["chat_id"]
    inserted = _log_insert(session.get_bind().dialect.name, private).fetch_one(
        session, {**values, "conversation": conversation})
    if inserted is None:
        return None
    log_id, revision, others_pending, rebuilding, epoch = inserted
    remember_setup_revision(session, revision or 0)
    row = MessageLog(id=log_id, **values)
    return Recorded(row, bool(others_pending), bool(rebuilding), epoch or 0)


@cache
def _log_insert(dialect: str, private: bool) -> FastStatement:
    table = MessageLog.__table__
    waiting = table.alias("waiting")
    if private:
        same_conversation = and_(waiting.c.chat_id.is_(None), waiting.c.sender_id == bindparam("conversation"))
    else:
        same_conversation = waiting.c.chat_id == bindparam("conversation")
    revision = select(SetupRevision.value).where(SetupRevision.id == 1).scalar_subquery()
    state = PipelineState.__table__
    rebuilding = select(state.c.rebuild_started_at.is_not(None)).where(state.c.id == 1).scalar_subquery()
    epoch = select(state.c.epoch).where(state.c.id == 1).scalar_subquery()
    # (the logged row itself is never pending here: the hot path logs it as applied)
    # The state as a literal: compared with a bound parameter, SQLite prepares the statement again
    # on every run (to check the partial index), a third of a millisecond each time.
    others_pending = exists().where(same_conversation, waiting.c.state == literal_column("'pending'"))
    return FastStatement(insert_unless_present(dialect, table, ["platform", "message_id"])
                         .returning(table.c.id, revision, others_pending, rebuilding, epoch))


def log_ids_in_order(session: Session) -> list[int]:
    """Every logged message, in the order it was sent (ties: the order it was logged)."""
    return list(session.scalars(select(MessageLog.id).order_by(MessageLog.sent_at, MessageLog.id)))


def logged_text(session: Session, platform: str, message_id: str) -> str | None:
    """The text logged under this message id, None when it was never logged."""
    return session.scalar(_LOGGED_TEXT, dict(platform=platform, message_id=message_id))


_LOGGED_TEXT = select(MessageLog.text).where(MessageLog.platform == bindparam("platform"),
                                             MessageLog.message_id == bindparam("message_id"))


def message_count(session: Session) -> int:
    """How many messages the log holds (what a rebuild will read)."""
    return session.scalar(select(func.count(MessageLog.id))) or 0
