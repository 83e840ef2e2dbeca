"""The message log: every inbound message, exactly as received — the source of truth.

Orders are its projection (storage.chains applies chain copies; `jielong rebuild` reads the
log back in order and applies it again).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_present
from storage.fast import FastStatement
from storage.models import MessageLog


def record_message(
    session: Session, *, platform: str, message_id: str, chat_id: str | None, chat_name: str | None,
    sender_id: str, sender_name: str, text: str, sent_at: datetime, received_at: datetime,
    account: str | None = None, raw: str | None = None, native_chain: bool = False,
) -> MessageLog | None:
    """Log an inbound message; None when this (platform, message_id) was logged before.

    One INSERT … ON CONFLICT DO NOTHING: a redelivery, or another process logging the same
    message at the same moment, inserts nothing and is told so. The row returned is not
    attached to the session (nothing reads it back).
    """
    values = dict(platform=platform, message_id=message_id, chat_id=chat_id, chat_name=chat_name,
                  sender_id=sender_id, sender_name=sender_name, text=text, sent_at=sent_at,
                  received_at=received_at, account=account, raw=raw, native_chain=native_chain)
    inserted = _log_insert(session.get_bind().dialect.name).fetch_one(session, values)
    if inserted is None:
        return None
    return MessageLog(id=inserted[0], **values)


@cache
def _log_insert(dialect: str) -> FastStatement:
    table = MessageLog.__table__
    return FastStatement(insert_unless_present(dialect, table, ["platform", "message_id"]).returning(table.c.id))


def log_ids_in_order(session: Session) -> list[int]:
    """Every logged message, in the order it was sent (ties: the order it was logged)."""
    return list(session.scalars(select(MessageLog.id).order_by(MessageLog.sent_at, MessageLog.id)))


def message_count(session: Session) -> int:
    """How many messages the log holds (what a rebuild will read)."""
    return session.scalar(select(func.count(MessageLog.id))) or 0
