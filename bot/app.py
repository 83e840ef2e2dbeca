"""The application: one entry point, `App.feed`, for every transport.

feed: drop the bot's own messages → log the raw message (a redelivery stops here) → per-chat
lock → route (group chain │ group free text │ member query │ private command) → queue replies
in the outbox → return what may be sent now.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from bot import commands, texts
from bot.context import AppContext, SettableClock
from bot.events import IncomingMessage, OutgoingText
from bot.handlers.chain import handle_chain
from bot.handlers.common import Turn
from bot.handlers.free_text import handle_free_order
from bot.handlers.member_query import handle_member_query, is_member_query
from bot.outbox import Outbox
from parsers import ChainParser
from storage import ingest
from storage.models import Campaign, Group, MessageLog, ProductRow

log = logging.getLogger(__name__)
T = TypeVar("T")
CATALOG_CHECK = timedelta(seconds=60)  # a reloaded set-up takes effect within a minute


class App:
    def __init__(self, ctx: AppContext, outbox: Outbox | None = None):
        self.ctx = ctx
        self.outbox = outbox or Outbox(ctx)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._parsers: OrderedDict[tuple, ChainParser] = OrderedDict()
        self._catalog_checked: dict[str, tuple[datetime, tuple]] = {}
        self._campaigns: dict[int, tuple[datetime, Campaign]] = {}
        self._groups: dict[str, tuple[datetime, Group]] = {}
        self.send_replies = True  # False while rebuilding: history is replayed silently

    # --- entry point -----------------------------------------------------------------------

    def feed(self, msg: IncomingMessage) -> list[OutgoingText]:
        if msg.sender == self.ctx.settings.bot_id:
            return []
        with self._lock(msg.chat or f"private:{msg.sender}"):
            self._handle(msg)
            if not self.send_replies or not self.outbox.may_have_due():
                return []
            with self.ctx.sessions.begin() as session:
                return self.outbox.take_due(session, self.ctx.now())

    def joined(self, chat: str, chat_name: str | None) -> list[OutgoingText]:
        """The bot was invited into a group: greet once if a leader runs it (set-up or 绑定)."""
        with self.ctx.sessions.begin() as session:
            group = ingest.group_for_chat(session, chat, chat_name)
            if group is not None and group.leader_id is not None:
                self.outbox.enqueue(session, OutgoingText(chat, texts.GREETING), kind="greeting",
                                    dedupe_key=f"greet:{group.id}")
            return self.outbox.take_due(session, self.ctx.now())

    def flush(self) -> list[OutgoingText]:
        """What the outbox may send now (for transports that poll between messages). Always
        looks in the database: another process (a CLI, a scheduler job) may have queued."""
        with self.ctx.sessions.begin() as session:
            return self.outbox.take_due(session, self.ctx.now(), force=True)

    def _handle(self, msg: IncomingMessage) -> None:
        try:
            with self.ctx.sessions.begin() as session:
                row = self._record(session, msg)
                if row is None:
                    return  # seen before: a redelivery changes nothing
                self._route(Turn(self.ctx, session, self.outbox, msg, row))
        except Exception:
            # The orders of this message are not applied, but the message itself is kept so
            # `jielong rebuild` can apply it once the bug is fixed.
            log.exception("message %s/%s failed; kept in the log", msg.platform, msg.message_id)
            with self.ctx.sessions.begin() as session:
                self._record(session, msg)

    def _record(self, session: Session, msg: IncomingMessage):
        return ingest.record_message(
            session, platform=msg.platform, message_id=msg.message_id, chat_id=msg.chat,
            chat_name=msg.chat_name, sender_id=msg.sender, sender_name=msg.sender_name, text=msg.text,
            sent_at=msg.sent_at, received_at=self.ctx.now(),
        )

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    # --- routing ---------------------------------------------------------------------------

    def _route(self, turn: Turn) -> None:
        if turn.msg.chat is None:
            self._private(turn)
            return
        group = self.group_for(turn.session, turn.msg.chat, turn.msg.chat_name, turn.at)
        if group is None or group.leader_id is None:
            return  # nobody bound this group: stay silent
        campaign = self.campaign_for(turn.session, group, turn.at)
        if is_member_query(turn.msg.text):
            handle_member_query(turn, group, campaign)
            return
        parsed = self.parser_for(turn.session, campaign).parse(turn.msg.text)
        if parsed.is_chain and parsed.entries:
            handle_chain(turn, group, campaign, parsed)
        elif not parsed.is_chain:
            handle_free_order(turn, group, campaign, parsed)

    def _private(self, turn: Turn) -> None:
        self.forget_cached()  # commands may bind groups, close campaigns, change leaders
        for reply in commands.dispatch(turn.ctx, turn.msg, turn.session, self.outbox):
            self.outbox.enqueue(turn.session, reply, kind="command")

    def campaign_for(self, session: Session, group, at: datetime) -> Campaign | None:
        """The group's campaign at this time. A running campaign found is reused for
        CATALOG_CHECK while the time stays between its opening and its deadline."""
        cached = self._campaigns.get(group.id)
        if cached is not None:
            checked_at, campaign = cached
            if abs(at - checked_at) < CATALOG_CHECK and campaign.opens <= at <= campaign.deadline:
                return campaign
        campaign = ingest.campaign_for_group(session, group, at)
        if campaign is not None and campaign.opens <= at <= campaign.deadline:
            self._campaigns[group.id] = (at, _detached(campaign))
        else:
            self._campaigns.pop(group.id, None)
        return campaign

    def group_for(self, session: Session, chat: str, chat_name: str | None, at: datetime) -> Group | None:
        """The bound group of a chat, reused for CATALOG_CHECK (a private command, such as
        绑定, forgets what is held)."""
        cached = self._groups.get(chat)
        if cached is not None and abs(at - cached[0]) < CATALOG_CHECK and cached[1].leader_id is not None:
            return cached[1]
        group = ingest.group_for_chat(session, chat, chat_name)
        if group is not None:
            self._groups[chat] = (at, _detached(group))
        return group

    def forget_cached(self) -> None:
        self._groups.clear()
        self._campaigns.clear()
        self._catalog_checked.clear()

    def parser_for(self, session: Session, campaign: Campaign | None) -> ChainParser:
        """One parser per campaign catalog, so each chain line is read once. The catalog is
        re-checked at most every CATALOG_CHECK (a reloaded set-up may change products)."""
        now = self.ctx.now()
        cached = self._catalog_checked.get(campaign.id if campaign else "-")
        if cached is not None and abs(now - cached[0]) < CATALOG_CHECK and cached[1] in self._parsers:
            return self._parsers[cached[1]]
        if campaign is None:
            key: tuple = ("-",)
        else:
            key = (campaign.id, tuple(session.execute(_CATALOG_STAMP, {"campaign": campaign.id}).all()))
        parser = self._parsers.get(key)
        if parser is None:
            catalog = ingest.catalog_of(session, campaign) if campaign is not None else None
            parser = ChainParser(catalog)
            self._parsers[key] = parser
            if len(self._parsers) > 64:
                self._parsers.popitem(last=False)
        self._parsers.move_to_end(key)
        self._catalog_checked[campaign.id if campaign else "-"] = (now, key)
        return parser


_CATALOG_STAMP = (select(ProductRow.sku, ProductRow.name, ProductRow.price, ProductRow.unit)
                  .where(ProductRow.campaign_id == bindparam("campaign")).order_by(ProductRow.id))


def _detached(obj: T) -> T:
    """A copy of a row's columns to keep between sessions, read-only: the row itself stays in
    its session and would be expired (unreadable) if that session rolled back."""
    return type(obj)(**{attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs})


class SilentOutbox(Outbox):
    """Drops everything: history being re-applied must not speak again."""

    def enqueue(self, session, msg, *, kind="reply", dedupe_key=None) -> bool:
        return False


def rebuild(ctx: AppContext, on_progress: Callable[[int], None] | None = None) -> int:
    """Re-derive every order from the message log through the live pipeline, silently.

    The log itself is never touched; a rebuild that dies half-way is simply run again.
    """
    clock = SettableClock(ctx.now())
    quiet = App(AppContext(ctx.sessions, clock, ctx.settings), SilentOutbox(ctx))
    with ctx.sessions.begin() as session:
        ingest.reset_projection(session)
        ids = list(session.scalars(select(MessageLog.id).order_by(MessageLog.sent_at, MessageLog.id)))
    for n, log_id in enumerate(ids, start=1):
        with ctx.sessions.begin() as session:
            row = session.get(MessageLog, log_id)
            msg = IncomingMessage(row.platform, row.message_id, row.chat_id, row.sender_id, row.sender_name,
                                  row.text, row.sent_at, row.chat_name)
            clock.set(row.sent_at)
            try:
                with session.begin_nested():
                    quiet._route(Turn(quiet.ctx, session, quiet.outbox, msg, row))
            except Exception:
                log.exception("rebuild: message %s/%s failed; skipped", row.platform, row.message_id)
        if on_progress and n % 1000 == 0:
            on_progress(n)
    return len(ids)
