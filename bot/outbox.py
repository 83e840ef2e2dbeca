"""Everything the bot says goes through the outbox: persisted, deduplicated, rate limited.

Per group at most one message per `group_min_interval` and `group_max_per_hour` an hour,
broadcasts included. What cannot go out yet is merged into the next message, never dropped.
A `dedupe_key` makes a broadcast or a reminder exactly-once across restarts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.events import OutgoingText, SendResult, SendStatus
from storage.db import insert_unless_present
from storage.models import Outbox as OutboxRow

log = logging.getLogger(__name__)
MAX_MERGED_CHARS = 3000  # WeChat cuts longer messages; the rest waits for the next slot


class Outbox:
    # Whether this process may have something queued. Lets the hot path (a reply check after
    # every message) skip a query; the transport's periodic flush always looks.
    _maybe_pending = True
    _known_used: set[tuple[str, str]] = set()  # (database, key) pairs known to be used

    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def enqueue(self, session: Session, msg: OutgoingText, *, kind: str = "reply",
                dedupe_key: str | None = None) -> bool:
        """Queue a message. False (and nothing queued) if `dedupe_key` was used before."""
        if dedupe_key is not None and self.used(session, dedupe_key):
            return False
        # ON CONFLICT DO NOTHING: two writers (a second bot process, a retried job) may queue
        # the same key at once; the second waits for the first and queues nothing, instead of
        # failing its whole transaction (and with it the orders of the message being handled).
        insert = insert_unless_present(session.get_bind().dialect.name, OutboxRow.__table__, ["dedupe_key"])
        queued = session.execute(insert.values(
            dedupe_key=dedupe_key, to=msg.to, is_group=msg.is_group, text=msg.text, mentions=list(msg.mentions),
            kind=kind, created_at=self.ctx.now()).returning(OutboxRow.id)).first() is not None
        if not queued:
            Outbox._known_used.add((str(session.get_bind().url), dedupe_key))
            return False
        Outbox._maybe_pending = True
        return True

    def used(self, session: Session, dedupe_key: str) -> bool:
        """Was this dedupe key queued before? (Cheap check before building a costly text.)
        A key once used stays used, so positive answers are remembered in the process."""
        memo = (str(session.get_bind().url), dedupe_key)
        if memo in Outbox._known_used:
            return True
        used = session.scalar(select(OutboxRow.id).where(OutboxRow.dedupe_key == dedupe_key)) is not None
        if used:
            if len(Outbox._known_used) > 50_000:
                Outbox._known_used.clear()
            Outbox._known_used.add(memo)
        return used

    def may_have_due(self) -> bool:
        """False when this process has certainly nothing queued (no need to look)."""
        return Outbox._maybe_pending

    def take_due(self, session: Session, now: datetime | None = None, *, force: bool = False) -> list[OutgoingText]:
        """What may be sent now, marked as sent. Group messages waiting together are merged."""
        if not (force or self.may_have_due()):
            return []
        now = now or self.ctx.now()
        pending = session.scalars(
            select(OutboxRow).where(OutboxRow.sent_at.is_(None)).order_by(OutboxRow.created_at, OutboxRow.id)
        ).all()
        out: list[OutgoingText] = []
        by_group: dict[str, list[OutboxRow]] = {}
        for row in pending:
            if row.is_group:
                by_group.setdefault(row.to, []).append(row)
            else:
                row.sent_at = now
                out.append(OutgoingText(row.to, row.text, tuple(row.mentions or ()), is_group=False,
                                        outbox_ids=(row.id,)))
        held = False
        for to, rows in by_group.items():
            if self.group_may_send(session, to, now):
                out.append(self._merge(rows, now))
            held = held or any(row.sent_at is None for row in rows)
        Outbox._maybe_pending = held
        return out

    def group_may_send(self, session: Session, to: str, now: datetime) -> bool:
        settings = self.ctx.settings
        last = session.scalar(select(func.max(OutboxRow.sent_at)).where(OutboxRow.to == to, OutboxRow.is_group))
        if last is not None and now - last < settings.group_min_interval:
            return False
        sent_last_hour = session.scalar(
            select(func.count(func.distinct(OutboxRow.sent_at))).where(
                OutboxRow.to == to, OutboxRow.is_group, OutboxRow.sent_at > now - timedelta(hours=1)
            )
        )
        return sent_last_hour < settings.group_max_per_hour

    @staticmethod
    def _merge(rows: list[OutboxRow], now: datetime) -> OutgoingText:
        texts: list[str] = []
        mentions: list[str] = []
        ids: list[int] = []
        size = 0
        for row in rows:
            if texts and size + len(row.text) > MAX_MERGED_CHARS:
                break
            texts.append(row.text)
            size += len(row.text) + 2
            mentions.extend(m for m in row.mentions or () if m not in mentions)
            ids.append(row.id)
            row.sent_at = now
        return OutgoingText(rows[0].to, "\n\n".join(texts), tuple(mentions), is_group=True, outbox_ids=tuple(ids))

    def report(self, session: Session, out: OutgoingText, result: SendResult, now: datetime) -> None:
        """A send that did not go through: a retryable failure goes back in the queue (the
        next flush tries again); a permanent one is logged for the operator."""
        if result.status is SendStatus.RETRY:
            session.execute(update(OutboxRow).where(OutboxRow.id.in_(out.outbox_ids)).values(sent_at=None))
            Outbox._maybe_pending = True
            log.warning("send to %s failed, will retry: %s", out.to, result.detail)
        elif result.status is SendStatus.FAILED:
            log.error("send to %s failed for good: %s", out.to, result.detail)

    def pending_count(self, session: Session) -> int:
        return session.scalar(select(func.count(OutboxRow.id)).where(OutboxRow.sent_at.is_(None))) or 0
