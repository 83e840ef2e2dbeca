"""The application: one entry point, `App.feed`, for every transport.

feed: drop the bot's own messages → log the raw message (a redelivery stops here) → per-chat
lock → route (group chain │ group free text │ member query │ private command) → queue replies
in the outbox → return what may be sent now.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from bot import commands, texts
from bot.campaigns import choose_campaign, free_order_campaign
from bot.context import AppContext, SettableClock
from bot.events import IncomingMessage, OutgoingText, SendResult
from bot.handlers.chain import handle_chain
from bot.handlers.common import Turn, chain_text, message_of
from bot.handlers.free_text import handle_free_order
from bot.handlers.held import hold_chain, release_chain
from bot.handlers.member_query import handle_member_query, is_member_query
from bot.outbox import Outbox
from bot.rooms import group_of_room
from parsers import ChainParser, ParsedMessage
from storage import chains, lookup
from storage.log import log_ids_in_order, record_message
from storage.models import Campaign, Group, MessageLog
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
        # group id → (valid from, valid until, campaigns)
        self._campaigns: dict[int, tuple[datetime, datetime, list[Campaign]]] = {}
        # (group id, chain key) → the campaign its chain was put in (where several run at once;
        # once put, a chain stays), and (group id, chain head) → the campaign to read it with first
        self._chain_campaigns: OrderedDict[tuple[int, str], str] = OrderedDict()
        self._read_with: OrderedDict[tuple[int, str], str] = OrderedDict()
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
            group = group_of_room(session, self.outbox, chat, chat_name)
            if group is not None and group.leader_id is not None:
                self.outbox.enqueue(session, OutgoingText(chat, texts.GREETING), kind="greeting",
                                    dedupe_key=f"greet:{group.id}")
            return self.outbox.take_due(session, self.ctx.now())

    def flush(self) -> list[OutgoingText]:
        """What the outbox may send now (for transports that poll between messages). Always
        looks in the database: another process (a CLI, a scheduler job) may have queued."""
        with self.ctx.sessions.begin() as session:
            return self.outbox.take_due(session, self.ctx.now(), force=True)

    def report(self, out: OutgoingText, result: SendResult) -> None:
        """A transport tells how a send went: the outbox keeps what was not delivered."""
        if result.ok or not out.outbox_ids:
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
        pool = self.campaigns_for(turn.session, group, turn.at)
        if is_member_query(turn.msg.text):
            handle_member_query(turn, group, pool)
            return
        text, native = chain_text(turn.msg)
        if len(pool) > 1:
            self._route_among(turn, group, pool, text, native)
            return
        campaign = pool[0] if pool else None
        parsed = self.parser_for(turn.session, campaign).parse(text, native=native)
        if parsed.is_chain and parsed.entries:
            handle_chain(turn, group, campaign, parsed)
        elif not parsed.is_chain:
            handle_free_order(turn, group, campaign, parsed)

    def _route_among(self, turn: Turn, group: Group, pool: list[Campaign], text: str, native: bool) -> None:
        """Several campaigns run in this group: a chain goes to the campaign it was put in
        before, else to the one its title names or its lines order from (bot.campaigns); one
        that fits two equally waits for the leader (bot.handlers.held). The chain's head
        remembers which catalog to read it with, so a copy is read once."""
        by_id = {c.id: c for c in pool}
        head = (group.id, _chain_head(text))
        first = by_id.get(self._read_with.get(head, ""), pool[0])
        parsed = self.parser_for(turn.session, first).parse(text, native=native)

        def parse_with(campaign: Campaign) -> ParsedMessage:
            return parsed if campaign is first else self.parser_for(turn.session, campaign).parse(text, native=native)

        if not parsed.is_chain:
            campaign = free_order_campaign(pool, parse_with)
            handle_free_order(turn, group, campaign, parse_with(campaign))
            return
        if not parsed.entries:
            return
        key = (group.id, parsed.chain_key or "")
        campaign = by_id.get(self._chain_campaigns.get(key) or chains.chain_campaign(
            turn.session, group.id, key[1], list(by_id)) or "")
        if campaign is None:
            choice = choose_campaign(pool, parsed.title, parse_with, lambda c: c.opens <= turn.at <= c.deadline)
            if choice.campaign is None:
                hold_chain(turn, group, parsed, choice.tied)
                return
            campaign = choice.campaign
            release_chain(turn.ctx, turn.session, turn.outbox, group, campaign, key[1],
                          lambda row: self._parse(turn.session, campaign, message_of(row)))
        _remember(self._chain_campaigns, key, campaign.id)
        _remember(self._read_with, head, campaign.id)
        handle_chain(turn, group, campaign, parse_with(campaign))

    def _parse(self, session: Session, campaign: Campaign | None, msg: IncomingMessage) -> ParsedMessage:
        text, native = chain_text(msg)
        return self.parser_for(session, campaign).parse(text, native=native)

    def _private(self, turn: Turn) -> None:
        self.forget_cached()  # commands may bind groups, close campaigns, change leaders
        for reply in commands.dispatch(turn.ctx, turn.msg, turn.session, self.outbox):
            self.outbox.enqueue(turn.session, reply, kind="command")

    def campaigns_for(self, session: Session, group: Group, at: datetime) -> list[Campaign]:
        """The group's campaigns at this time (lookup.campaigns_for_group), reused until the
        next opening of any campaign (a set-up change forgets them: see `_check_setup`)."""
        cached = self._campaigns.get(group.id)
        if cached is not None and cached[0] <= at < cached[1]:
            return cached[2]
        campaigns = [_detached(c) for c in lookup.campaigns_for_group(session, group.id, at)]
        self._campaigns[group.id] = (at, lookup.next_campaign_opening(session, at) or _NEVER, campaigns)
        return campaigns

    def group_for(self, session: Session, chat: str, chat_name: str | None) -> Group | None:
        """The bound group of a chat, reused until the set-up changes."""
        cached = self._groups.get(chat)
        if cached is not None and chat_name in (None, cached.name):
            return cached
        group = group_of_room(session, self.outbox, chat, chat_name)  # by room id; a new topic: renamed
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
        self._chain_campaigns.clear()
        self._read_with.clear()

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


_NEVER = datetime.max.replace(tzinfo=UTC)
_REMEMBERED = 4096  # chains and chain heads remembered per process


def _remember(memo: OrderedDict, key, value) -> None:
    memo[key] = value
    memo.move_to_end(key)
    if len(memo) > _REMEMBERED:
        memo.popitem(last=False)


_INDEXED_LINE = re.compile(r"\n\s{0,8}[(（]?\d{1,4}(?:[.、)）]|\s)")


def _chain_head(text: str) -> str:
    """A chain's text up to its first numbered line: the same for every copy of a chain, so it
    says which catalog read the last copy (only a hint: the chain key decides)."""
    found = _INDEXED_LINE.search(text, 0, 2000)
    return text[:found.start()] if found else text[:200]


def _settle_memory() -> None:
    """Called once a new parser has read its first message. The tables parsing loads (jieba's
    words, pinyin readings: about a million objects) live as long as the process; freezing
    them keeps the collector's full passes, which otherwise stall a message for ~100 ms on
    this machine class, to what was made since."""
    gc.collect()
    gc.freeze()


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
