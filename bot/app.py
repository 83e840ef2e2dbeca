"""The application: one entry point, `App.feed`, for every transport.

feed: drop the bot's own messages → log the raw message (a redelivery stops here) → per-chat
lock → route (group chain │ group free text │ member query │ private command) → queue replies
in the outbox → return what may be sent now.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from bot import commands, texts
from bot.campaigns import choose_campaign, free_order_campaign
from bot.context import AppContext, SettableClock
from bot.events import Capabilities, IncomingMessage, MessageNotRecorded, OutgoingText, SendResult
from bot.handlers.chain import handle_chain
from bot.handlers.common import Turn, chain_text, message_of
from bot.handlers.free_text import handle_free_order
from bot.handlers.held import hold_chain, release_chain
from bot.handlers.member_query import handle_member_query, is_member_query
from bot.locks import KeyedLocks
from bot.outbox import SERVED, Outbox, Served
from bot.rooms import group_of_room
from parsers import ChainParser, ParsedMessage
from storage import chains, inbox, lookup
from storage import outbox as outbox_store
from storage.db import is_transient
from storage.log import log_ids_in_order
from storage.log import record as record_log
from storage.models import Campaign, Group, MessageLog, MessageState, OutboxKind
from storage.revision import setup_revision

log = logging.getLogger(__name__)
T = TypeVar("T")


class App:
    def __init__(self, ctx: AppContext, outbox: Outbox | None = None):
        self.ctx = ctx
        self.outbox = outbox or Outbox(ctx)
        self._locks = KeyedLocks()  # one conversation at a time in this process (X6: bounded)
        self._warned_rebuild = float("-inf")
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
        """Record the message and apply it, in its conversation's order, in one transaction;
        then what may be sent now. When it returns, the message is durably recorded (applied,
        or kept for a later pass after an error); `MessageNotRecorded` when not even that was
        possible (the transport must not acknowledge it: `retryable` — the database is down,
        have it sent again; else the database refuses it for good — log and skip it)."""
        if msg.sender == self.ctx.settings.bot_id:
            return []
        with self._locks.hold(msg.session_key):
            self._handle(msg)
            return self._settled_replies()

    def accept(self, msg: IncomingMessage) -> bool:
        """Record the message durably without applying it: the point after which a transport
        may acknowledge it (an HTTP gateway answers 2xx). True when new, False for a redelivery.
        Apply it with `drain(msg.session_key)` (any process may: the next pass over the
        conversation applies it in order). Raises `MessageNotRecorded` when it could not be
        stored (`retryable`: try again later — answer 5xx; else never — answer 4xx)."""
        if msg.sender == self.ctx.settings.bot_id:
            return False
        try:
            return self._with_retries(lambda session: self._record(session, msg, MessageState.PENDING)) is not None
        except Exception as exc:
            raise MessageNotRecorded(msg, _one_line(exc), retryable=_transient(exc)) from exc

    def drain(self, key: str | None = None) -> list[OutgoingText]:
        """Apply what is recorded and not applied yet: of one conversation (`session_key`,
        waiting for another process that holds it), or of every conversation (None: a sweep
        that skips conversations another process is working on). Transports call it after
        `accept`, every few seconds, and at start (a process killed after accepting leaves
        messages pending). Returns what may be sent now."""
        keys = [key] if key is not None else self._with_retries(inbox.pending_conversations)
        for conversation in keys:
            self._drain_conversation(conversation, wait=key is not None)
        return self._settled_replies()

    def retry(self) -> RetryResult:
        """`jielong retry`: every failed message back in the queue, then apply everything
        pending, waiting for conversations other processes hold."""
        before = sum(self._with_retries(inbox.unapplied_counts).values())
        self._with_retries(inbox.requeue_failed)
        for conversation in self._with_retries(inbox.pending_conversations):
            self._drain_conversation(conversation, wait=True)
        left = self._with_retries(inbox.unapplied)
        rebuilding = self._with_retries(inbox.rebuilding) is not None
        return RetryResult(max(before - len(left), 0), left, rebuilding)

    def _settled_replies(self) -> list[OutgoingText]:
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

    # --- the pipeline: record, hold the conversation, apply in order ---------------------------

    def _handle(self, msg: IncomingMessage) -> None:
        try:
            self._with_retries(lambda session: self._take(session, msg))
        except Exception as exc:  # noqa: BLE001 - whatever it was, the message is kept and said
            self._set_aside(msg, exc)

    def _take(self, session: Session, msg: IncomingMessage) -> None:
        """The message's transaction: hold its conversation, log it, apply it — after the
        conversation's earlier messages still pending, when there are any."""
        key = msg.session_key
        inbox.hold_conversation(session, key, then_writes=True)
        recorded = self._record(session, msg, MessageState.APPLIED)
        if recorded is None:  # seen before: a redelivery applies only what is still pending
            self._apply_pending(session, key)
            return
        inbox.note_epoch(session, recorded.epoch)
        if recorded.rebuilding:
            inbox.set_pending(session, recorded.row.id)
            self._warn_rebuilding(session)
        elif recorded.others_pending:
            inbox.set_pending(session, recorded.row.id)
            self._apply_pending(session, key)
        else:
            self._route(Turn(self.ctx, session, self.outbox, msg, recorded.row))

    def _record(self, session: Session, msg: IncomingMessage, state: MessageState):
        now = self.ctx.now()
        return record_log(
            session, platform=msg.platform, message_id=msg.message_id, chat_id=msg.chat,
            chat_name=msg.chat_name, sender_id=msg.sender, sender_name=msg.sender_name, text=msg.text,
            sent_at=msg.sent_at, received_at=now, account=msg.account, raw=msg.raw,
            native_chain=msg.native_chain, state=state,
            applied_at=now if state is MessageState.APPLIED else None,
        )

    def _drain_conversation(self, key: str, *, wait: bool) -> None:
        def work(session: Session) -> None:
            if wait:
                inbox.hold_conversation(session, key)
            elif not inbox.try_hold_conversation(session, key):
                return  # another process is applying it right now
            inbox.commit_lazily(session)  # what it applies is recorded already: a lost commit loses nothing
            self._apply_pending(session, key)

        with self._locks.hold(key) if wait else self._locks.try_hold(key) as held:
            if held is False:
                return
            try:
                self._with_retries(work)
            except Exception as exc:  # noqa: BLE001 - the messages stay pending for the next pass
                self._note_failed_pass(exc)

    def _apply_pending(self, session: Session, key: str, batch: int = 100) -> None:
        """Apply the conversation's pending messages, oldest first (none while a rebuild runs:
        it applies them). Each in a savepoint: one that fails for good is marked failed and the
        others go on; a transient error ends the whole transaction (it is tried again). One
        recorded meanwhile is applied by the pass its recorder makes next."""
        while True:
            rows = inbox.pending_messages(session, key, batch, unless_rebuilding=True)
            for row in rows:
                self._apply_logged(session, row)
            if len(rows) < batch:
                return

    def _apply_logged(self, session: Session, row: MessageLog) -> None:
        try:
            with session.begin_nested():
                self._route(Turn(self.ctx, session, self.outbox, message_of(row), row))
        except Exception as exc:
            if _transient(exc):
                raise _TransientAt(row.id, exc) from exc
            log.exception("message %s/%s could not be applied; marked failed", row.platform, row.message_id)
            inbox.mark_failure(session, row.id, _one_line(exc), give_up=True,
                               max_attempts=self.ctx.settings.max_attempts)
            self._alert(session, MessageState.FAILED, message_of(row), reason=_one_line(exc))
        else:
            inbox.mark_applied(session, row.id, self.ctx.now())

    def _with_retries(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction; on a transient database error, roll back and run it
        again after each of `Settings.retry_delays`. Other errors, and the last one, raise."""
        delays = self.ctx.settings.retry_delays
        for attempt in range(len(delays) + 1):
            try:
                with self.ctx.sessions.begin() as session:
                    return work(session)
            except Exception as exc:
                if attempt == len(delays) or not _transient(exc):
                    raise
                log.warning("database error, trying again in %.2f s: %s", delays[attempt], _one_line(exc))
                time.sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _set_aside(self, msg: IncomingMessage, exc: Exception) -> None:
        """The message's transaction failed for good (or kept failing): keep the message, say
        why, tell the admins. Transient: PENDING, applied by a later pass, a redelivery or
        `jielong retry`. Otherwise: FAILED, skipped until `jielong retry`."""
        transient = _transient(exc)
        failed_id = exc.log_id if isinstance(exc, _TransientAt) else None
        reason = _one_line(exc)
        if transient:
            log.error("message %s/%s not applied (database error; kept, will be applied later): %s",
                      msg.platform, msg.message_id, reason)
        else:
            log.error("message %s/%s could not be applied; kept as failed", msg.platform, msg.message_id,
                      exc_info=exc)

        def keep(session: Session) -> None:
            recorded = self._record(session, msg, MessageState.PENDING)
            log_id = failed_id or (recorded.row.id if recorded else None)
            if log_id is None:  # recorded before: its failure is noted on that row
                log_id = inbox.log_id_of(session, msg.platform, msg.message_id)
            state = inbox.mark_failure(session, log_id, reason, give_up=not transient,
                                       max_attempts=self.ctx.settings.max_attempts)
            self._alert(session, state, msg, reason=reason)

        try:
            self._with_retries(keep)
        except Exception as second:
            retryable = _transient(second)
            log.error("message %s/%s could not even be recorded (%s): %s", msg.platform, msg.message_id,
                      "database unavailable" if retryable else "refused", _one_line(second))
            raise MessageNotRecorded(msg, _one_line(second), retryable=retryable) from second

    def _note_failed_pass(self, exc: Exception) -> None:
        """A pass over a conversation kept failing: count it against the message it stopped at."""
        log.error("applying pending messages failed; they stay pending: %s", _one_line(exc))
        if not isinstance(exc, _TransientAt):
            return

        def note(session: Session) -> None:
            state = inbox.mark_failure(session, exc.log_id, _one_line(exc), give_up=False,
                                       max_attempts=self.ctx.settings.max_attempts)
            if state is MessageState.FAILED:
                row = session.get(MessageLog, exc.log_id)
                self._alert(session, MessageState.FAILED, message_of(row), reason=_one_line(exc))

        try:
            self._with_retries(note)
        except Exception:  # noqa: BLE001 - the database is still down: the next pass tries again
            log.warning("could not note the failure; the next pass tries again")

    def _alert(self, session: Session, state: MessageState, msg: IncomingMessage, *, reason: str = "") -> None:
        """One short private message to each platform admin about a message left PENDING (set
        aside) or FAILED; at most one of each an hour."""
        template = texts.ALERT_FAILED if state is MessageState.FAILED else texts.ALERT_SET_ASIDE
        where = texts.ALERT_IN_GROUP.format(group=msg.chat_name or msg.chat) if msg.chat else texts.ALERT_IN_PRIVATE
        text = template.format(where=where, who=msg.sender_name or msg.sender, reason=reason[:80])
        hour = self.ctx.now().strftime("%Y%m%d%H")
        for admin in lookup.admins(session):
            self.outbox.enqueue(session, OutgoingText(admin.user_id, text, is_group=False), kind="alert",
                                dedupe_key=f"alert:{state}:{hour}:{admin.user_id}")

    def _warn_rebuilding(self, session: Session) -> None:
        now = time.monotonic()
        if now - self._warned_rebuild > 60:
            self._warned_rebuild = now
            mark = inbox.rebuilding(session)
            log.warning("a rebuild is running (%s): messages are recorded and the rebuild applies them; "
                        "if it died, run `jielong rebuild` again", mark.by if mark else "?")

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


@dataclass(frozen=True)
class RetryResult:
    applied: int
    left: list[inbox.Unapplied]  # still not applied, oldest first
    rebuilding: bool  # a rebuild holds them (it applies them itself)


class _TransientAt(Exception):
    """A transient database error while applying one logged message (which one is remembered,
    to count the failure against it)."""

    def __init__(self, log_id: int, error: Exception):
        super().__init__(_one_line(error))
        self.log_id = log_id


def _transient(error: BaseException) -> bool:
    return isinstance(error, _TransientAt) or is_transient(error)


def _one_line(error: BaseException) -> str:
    """An error as one line for the log row and the operator: its class and first line (for a
    database error, the driver's)."""
    if isinstance(error, _TransientAt):
        return str(error)
    inner = getattr(error, "orig", None) or error
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:500]


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
    """Re-derive every order from the message log through the live pipeline.

    Safe while the bot runs (D3): the first transaction waits for live transactions applying
    messages, marks the rebuild and empties the projection; from then on live processes only
    record what arrives (pending), and the rebuild applies it after the log it started from,
    in order, before handing the pipeline back in a last transaction. Messages applied before
    are replayed silently; those never applied (set aside, failed, or recorded meanwhile) are
    answered as the live bot would have. Raises `inbox.RebuildRunning` when another rebuild
    runs. The log itself is never changed (but its states); a rebuild that dies half-way is
    simply run again (live processes keep recording). Returns the number of messages applied.
    """
    clock = SettableClock(ctx.now())
    rebuilt = AppContext(ctx.sessions, clock, ctx.settings)
    apps = _Rebuilders(quiet=App(rebuilt, SilentOutbox(ctx)), loud=App(rebuilt))
    engine = ctx.sessions.kw["bind"]
    with engine.connect() as claim:  # held to the end: on PostgreSQL it holds "a rebuild runs"
        claim.detach()  # closed, not pooled, at the end: nothing it holds outlives the rebuild
        inbox.claim_rebuild(Session(bind=claim))
        try:
            with ctx.sessions.begin() as session:
                inbox.exclude_live(session)
                inbox.begin_rebuild(session, ctx.now())
                chains.reset_projection(session)
                ids = log_ids_in_order(session)
            done = apps.reapply(ids, clock, on_progress, 0)
            while tail := apps.loud._with_retries(inbox.pending_ids):  # recorded by live processes meanwhile
                done = apps.reapply(tail, clock, on_progress, done)

            def hand_back(session: Session) -> None:
                inbox.exclude_live(session)  # the last live transactions that saw the mark end first
                for row in inbox.pending_rows(session):
                    clock.set(row.sent_at)
                    apps.loud._apply_logged(session, row)
                inbox.finish_rebuild(session)

            apps.loud._with_retries(hand_back)
        finally:
            inbox.release_rebuild(Session(bind=claim))
    return done


@dataclass
class _Rebuilders:
    quiet: App  # for messages applied before: their replies were given then
    loud: App  # for messages never applied: answered now (queued for the live bot to send)

    def reapply(self, ids: list[int], clock: SettableClock, on_progress: Callable[[int], None] | None,
                done: int) -> int:
        """A rebuild's pass: each message in its own transaction, in the order given."""
        for log_id in ids:
            self.loud._with_retries(lambda session, log_id=log_id: self._reapply_one(session, log_id, clock))
            done += 1
            if on_progress and done % 1000 == 0:
                on_progress(done)
        return done

    def _reapply_one(self, session: Session, log_id: int, clock: SettableClock) -> None:
        row = session.get(MessageLog, log_id)
        clock.set(row.sent_at)
        app = self.quiet if row.state == MessageState.APPLIED else self.loud
        app._apply_logged(session, row)
