"""The application: one entry point, `App.feed`, for every transport.

feed: drop the bot's own messages → log the raw message (a redelivery stops here) → per-chat
lock → route (group chain │ group free text │ member query │ private command) → queue replies
in the outbox → return what may be sent now.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from bot import commands, texts
from bot.context import AppContext, SettableClock
from bot.events import Capabilities, IncomingMessage, OutgoingText, SendResult
from bot.handlers.chain import handle_chain
from bot.handlers.common import Turn
from bot.handlers.free_text import handle_free_order
from bot.handlers.member_query import handle_member_query, is_member_query
from bot.outbox import SERVED, Outbox, Served
from parsers import ChainParser
from storage import chains, lookup
from storage import outbox as outbox_store
from storage.log import log_ids_in_order, record_message
from storage.models import Campaign, Group, MessageLog, OutboxKind
from storage.revision import setup_revision

log = logging.getLogger(__name__)
T = TypeVar("T")


class App:
    def __init__(self, ctx: AppContext, outbox: Outbox | None = None):
        self.ctx = ctx
        self.outbox = outbox or Outbox(ctx)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._parsers: OrderedDict[tuple, ChainParser] = OrderedDict()
        self._catalog_keys: dict[str, tuple] = {}  # campaign id → catalog stamp (parser key)
        self._campaigns: dict[int, tuple[datetime, Campaign]] = {}  # group id → (valid until, campaign)
        self._groups: dict[str, Group] = {}  # chat → bound group
        self._setup_revision: int | None = None
        self.send_replies = True  # False while rebuilding: history is replayed silently
        self._parser_built = False

    # --- entry point -----------------------------------------------------------------------

    def feed(self, msg: IncomingMessage) -> list[OutgoingText]:
        if msg.sender == self.ctx.settings.bot_id:
            return []
        with self._lock(msg.session_key):
            self._handle(msg)
            if self._parser_built:
                self._parser_built = False
                _settle_memory()
            if not self.send_replies or not self.outbox.may_have_due():
                return []
            with self.ctx.sessions.begin() as session:
                return self.outbox.take_due(session, self.ctx.now())

    def joined(self, chat: str, chat_name: str | None) -> list[OutgoingText]:
        """The bot was invited into a group: greet once if a leader runs it (set-up or 绑定)."""
        with self.ctx.sessions.begin() as session:
            group = lookup.group_for_chat(session, chat, chat_name)
            if group is not None and group.leader_id is not None:
                self.outbox.enqueue(session, OutgoingText(chat, texts.GREETING), kind="greeting",
                                    dedupe_key=f"greet:{group.id}")
            return self.outbox.take_due(session, self.ctx.now())

    def serve(self, *, accounts: Collection[str] | None = None, capabilities: Capabilities | None = None) -> None:
        """The transport in front says which bot accounts it sends for (None: all of them — a
        single-account set-up) and what it can deliver; `feed` and `flush` hand it only that."""
        self.outbox.accounts = frozenset(accounts) if accounts is not None else None
        if capabilities is not None:
            self.outbox.capabilities = capabilities

    def flush(self, accounts: Collection[str] | None | Served = SERVED) -> list[OutgoingText]:
        """What the outbox may send now (for transports that poll between messages), claimed:
        report each with `report`. Always looks in the database: another process (a CLI, a
        scheduler job) may have queued. `accounts`: whose messages (default: as `serve` said;
        None: every account's)."""
        with self.ctx.sessions.begin() as session:
            return self.outbox.take_due(session, self.ctx.now(), force=True, accounts=accounts)

    def report(self, out: OutgoingText, result: SendResult) -> None:
        """A transport tells how a send went: only then is it counted as sent (see bot.outbox)."""
        if not out.outbox_ids:
            return
        with self.ctx.sessions.begin() as session:
            self.outbox.report(session, out, result, self.ctx.now())

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
        return record_message(
            session, platform=msg.platform, message_id=msg.message_id, chat_id=msg.chat,
            chat_name=msg.chat_name, sender_id=msg.sender, sender_name=msg.sender_name, text=msg.text,
            sent_at=msg.sent_at, received_at=self.ctx.now(), account=msg.account, raw=msg.raw,
            native_chain=msg.native_chain,
        )

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    # --- routing ---------------------------------------------------------------------------

    def _route(self, turn: Turn) -> None:
        if turn.msg.chat is None:
            self._private(turn)
            return
        self._check_setup(turn.session)
        group = self.group_for(turn.session, turn.msg.chat, turn.msg.chat_name)
        if group is None or group.leader_id is None:
            return  # nobody bound this group: stay silent
        self._learn_account(turn.session, turn.msg.chat, group, turn.msg.account)
        campaign = self.campaign_for(turn.session, group, turn.at)
        if is_member_query(turn.msg.text):
            handle_member_query(turn, group, campaign)
            return
        text, native = _chain_text(turn.msg)
        parsed = self.parser_for(turn.session, campaign).parse(text, native=native)
        if parsed.is_chain and parsed.entries:
            handle_chain(turn, group, campaign, parsed)
        elif not parsed.is_chain:
            handle_free_order(turn, group, campaign, parsed)

    def _private(self, turn: Turn) -> None:
        self.forget_cached()  # commands may bind groups, close campaigns, change leaders
        for reply in commands.dispatch(turn.ctx, turn.msg, turn.session, self.outbox):
            if not reply.is_group and reply.account is None:
                reply = replace(reply, account=turn.msg.account)  # answered by the account asked
            self.outbox.enqueue(turn.session, reply, kind=OutboxKind.COMMAND)

    def _learn_account(self, session: Session, chat: str, group: Group, account: str | None) -> None:
        """The group's posts go from the bot account that receives its messages."""
        if account is None or group.account == account:
            return
        outbox_store.note_group_account(session, group.id, account)
        cached = self._groups.get(chat)
        if cached is not None:
            cached.account = account

    def campaign_for(self, session: Session, group, at: datetime) -> Campaign | None:
        """The group's campaign at this time. A running campaign found is reused until its
        deadline or the next opening of any campaign, whichever comes first (a set-up change
        forgets it: see `_check_setup`)."""
        cached = self._campaigns.get(group.id)
        if cached is not None and cached[1].opens <= at < cached[0]:
            return cached[1]
        campaign = lookup.campaign_for_group(session, group, at)
        if campaign is not None and campaign.opens <= at <= campaign.deadline:
            next_opening = lookup.next_campaign_opening(session, at)
            until = min(campaign.deadline, next_opening) if next_opening else campaign.deadline
            self._campaigns[group.id] = (until, _detached(campaign))
        else:
            self._campaigns.pop(group.id, None)
        return campaign

    def group_for(self, session: Session, chat: str, chat_name: str | None) -> Group | None:
        """The bound group of a chat, reused until the set-up changes."""
        cached = self._groups.get(chat)
        if cached is not None:
            return cached
        group = lookup.group_for_chat(session, chat, chat_name)
        if group is not None and group.leader_id is not None:
            self._groups[chat] = _detached(group)
        return group

    def _check_setup(self, session: Session) -> None:
        """Forget what is held of the set-up when it changed (in any process)."""
        revision = setup_revision(session)
        if revision != self._setup_revision:
            self.forget_cached()
            self._setup_revision = revision

    def forget_cached(self) -> None:
        self._groups.clear()
        self._campaigns.clear()
        self._catalog_keys.clear()

    def parser_for(self, session: Session, campaign: Campaign | None) -> ChainParser:
        """One parser per campaign catalog, so each chain line is read once. The catalog is
        looked at again after a set-up change; an unchanged one keeps its parser."""
        campaign_id = campaign.id if campaign else "-"
        key = self._catalog_keys.get(campaign_id)
        if key is None or key not in self._parsers:
            if campaign is None:
                key = ("-",)
            else:
                key = (campaign.id, lookup.catalog_stamp(session, campaign.id))
            self._catalog_keys[campaign_id] = key
        parser = self._parsers.get(key)
        if parser is None:
            catalog = lookup.catalog_of(session, campaign) if campaign is not None else None
            parser = ChainParser(catalog)
            self._parsers[key] = parser
            self._parser_built = True
            if len(self._parsers) > 64:
                self._parsers.popitem(last=False)
        self._parsers.move_to_end(key)
        return parser


def _settle_memory() -> None:
    """Called once a new parser has read its first message. The tables parsing loads (jieba's
    words, pinyin readings: about a million objects) live as long as the process; freezing
    them keeps the collector's full passes, which otherwise stall a message for ~100 ms on
    this machine class, to what was made since."""
    gc.collect()
    gc.freeze()


def _chain_text(msg: IncomingMessage) -> tuple[str, bool]:
    """What to parse, and whether its native 接龙 authors are to be trusted: the raw XML only
    when the transport vouched for it (P3: XML a member types is plain text)."""
    if msg.native_chain and msg.raw:
        return msg.raw, True
    return msg.text, False


def _detached(obj: T) -> T:
    """A copy of a row's columns to keep between sessions, read-only: the row itself stays in
    its session and would be expired (unreadable) if that session rolled back."""
    return type(obj)(**{attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs})


def message_of(row: MessageLog) -> IncomingMessage:
    """A logged message as the transport handed it over."""
    return IncomingMessage(row.platform, row.message_id, row.chat_id, row.sender_id, row.sender_name, row.text,
                           row.sent_at, row.chat_name, account=row.account, raw=row.raw,
                           native_chain=bool(row.native_chain))


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
        chains.reset_projection(session)
        ids = log_ids_in_order(session)
    for n, log_id in enumerate(ids, start=1):
        with ctx.sessions.begin() as session:
            row = session.get(MessageLog, log_id)
            msg = message_of(row)
            clock.set(row.sent_at)
            try:
                with session.begin_nested():
                    quiet._route(Turn(quiet.ctx, session, quiet.outbox, msg, row))
            except Exception:
                log.exception("rebuild: message %s/%s failed; skipped", row.platform, row.message_id)
        if on_progress and n % 1000 == 0:
            on_progress(n)
    return len(ids)
