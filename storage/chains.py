"""Chains: merging each copy of a 接龙 into its stored entries (parsers.merge decides, this
applies), and the free-text orders a group writes beside its chains.

A message's cost is proportional to what is new in it: the lines a chain already holds are
kept in memory per chain (checked against `chains.version`), so a repost of a 1000-line
chain costs a hash per line and a handful of queries.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, delete, event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from parsers.merge import KnownIndex, KnownLine, diff_copy
from parsers.model import Entry, Item, ParsedMessage, Unmatched
from storage.db import insert_unless_present
from storage.fast import FastStatement
from storage.models import (
    ACTIVE_ENTRY,
    Adjustment,
    Campaign,
    Chain,
    ChainKind,
    EntryEvent,
    EntryRow,
    EntryStatus,
    EventKind,
    Group,
    HeldMessage,
    MessageLog,
    OrderCounter,
    OrderItem,
)
from storage.orders import (
    ChainOutcome,
    OrderScope,
    Problem,
    ProblemKind,
    ScopeData,
    WrittenEntry,
    cancel_entry,
    identity_of_row,
    new_entry,
    update_entry,
)
from storage.revision import setup_revision

FREE_CHAIN = "__free__"  # key of the pseudo-chain holding free-text orders of a campaign in a group
FREE_CHAIN_TITLE = "群聊里的零散下单"


@dataclass
class _ChainState:
    """What merging a copy into one chain needs, kept between messages: its known lines and
    the keys in use, valid while `chains.version` equals `version` (every change to the
    chain's entries bumps it), and its order scope (products, prices, 截单), valid while the
    set-up revision equals `revision`."""

    chain_id: int
    version: int
    index: KnownIndex
    # entry keys in use (without their "-n" suffix): a new line whose key is not among them
    # needs no query to stay unique
    keys: set[str]
    scope: ScopeData
    revision: int


class _ChainCache:
    """Per-chain state by (database, group, chain key), checked against the chain's version.

    Taking a chain bumps its version in one conditional UPDATE: if the row still has the
    version held here, the state is current and the chain is locked for this transaction;
    if not (another process wrote, a set-up was loaded, a rebuild ran), it is read again.
    A transaction that rolls back may have cached lines it never committed: the chains it
    touched are forgotten then, so the next message reads them from the database again.
    """

    def __init__(self, size: int = 512):
        self._data: OrderedDict[tuple[str, int, str], _ChainState] = OrderedDict()
        self._size = size

    def take(self, session: Session, group: Group, campaign: Campaign | None, key: str, title: str | None,
             message: MessageLog) -> _ChainState:
        full_key = chain_key_of(campaign, key)
        cache_key = (str(session.get_bind().url), group.id, full_key)
        session.info.setdefault(_TOUCHED, set()).add(cache_key)
        state = self._data.get(cache_key)
        if state is not None and _BUMP_IF_CURRENT.execute(session, dict(
                chain=state.chain_id, seen=state.version, message=message.id)) == 1:
            state.version += 1
        else:
            state = _load_state(session, group, campaign, full_key, title, message)
            self._data[cache_key] = state
            if len(self._data) > self._size:
                self._data.popitem(last=False)
        self._data.move_to_end(cache_key)
        revision = setup_revision(session)
        if state.revision != revision:
            state.scope = ScopeData.load(session, campaign.id if campaign else None, group)
            state.revision = revision
        stale = session.identity_map.get(identity_key(Chain, state.chain_id))
        if stale is not None:
            session.expire(stale)  # its version moved under the ORM
        return state

    def forget(self, keys) -> None:
        for key in keys:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


_chains = _ChainCache()
_TOUCHED = "jielong.known_chains"
_CHAINS = Chain.__table__
_BUMP_IF_CURRENT = FastStatement(
    update(_CHAINS)
    .where(_CHAINS.c.id == bindparam("chain"), _CHAINS.c.version == bindparam("seen"))
    .values(version=_CHAINS.c.version + 1, last_message_id=bindparam("message"))
)
_BUMP = FastStatement(
    update(_CHAINS).where(_CHAINS.c.id == bindparam("chain"))
    .values(version=_CHAINS.c.version + 1, last_message_id=bindparam("message"))
    .returning(_CHAINS.c.version)
)


def _load_state(session: Session, group: Group, campaign: Campaign | None, full_key: str, title: str | None,
                message: MessageLog) -> _ChainState:
    chain = chain_for(session, group, campaign, full_key, title, message)
    # Bump (and so lock, on PostgreSQL) before reading the entries: no writer slips between.
    version = _BUMP.fetch_one(session, dict(chain=chain.id, message=message.id))[0]
    rows = session.scalars(select(EntryRow).where(EntryRow.chain_id == chain.id).order_by(EntryRow.id)).all()
    return _ChainState(chain.id, version, KnownIndex(_known_line(row) for row in rows),
                       {row.entry_key.split("-", 1)[0] for row in rows},
                       ScopeData.load(session, campaign.id if campaign else None, group),
                       setup_revision(session))


def forget_all() -> None:
    """Drop every chain held in memory (a rebuild replaced the projection)."""
    _chains.clear()


@event.listens_for(Session, "after_soft_rollback")
def _forget_uncommitted(session: Session, _previous) -> None:
    _chains.forget(session.info.pop(_TOUCHED, ()))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _known_line(row: EntryRow | WrittenEntry) -> KnownLine:
    return KnownLine(entry_id=row.id, line_hash=row.line_hash, author=row.author_id, seq=row.seq,
                     identity=identity_of_row(row), active=row.status in ACTIVE_ENTRY, missing=row.missing)


def chain_key_of(campaign: Campaign | None, key: str) -> str:
    """A chain's stored key: its campaign and its normalised title."""
    return chain_key_of_id(campaign.id if campaign else None, key)


def chain_for(session: Session, group: Group, campaign: Campaign | None, full_key: str, title: str | None,
              message: MessageLog, kind: ChainKind = ChainKind.CHAIN) -> Chain:
    """The chain row for a key (campaign id prefixed), created when first seen."""
    query = select(Chain).where(Chain.group_id == group.id, Chain.chain_key == full_key)
    chain = session.scalar(query)
    if chain is None:
        # Another process may be creating this chain at this very moment (a new chain's first
        # copies, posted within a second): then its row is the chain, and this message is
        # applied to it rather than failing on the unique key.
        session.execute(insert_unless_present(session.get_bind().dialect.name, Chain.__table__,
                                              ["group_id", "chain_key"]).values(
            group_id=group.id, campaign_id=campaign.id if campaign else None, chain_key=full_key, kind=kind,
            title=(title or "")[:500], first_message_id=message.id, created_at=message.sent_at, version=0))
        chain = session.scalar(query)
    return chain


def apply_chain(
    session: Session, *, group: Group, campaign: Campaign | None, message: MessageLog,
    parsed: ParsedMessage, leader_ids: set[str], at: datetime,
) -> ChainOutcome:
    """Merge one chain copy into the stored entries."""
    state = _chains.take(session, group, campaign, parsed.chain_key or "", parsed.title, message)
    plan = diff_copy(state.index, parsed.entries, message.sender_id, leader_ids)
    outcome = ChainOutcome()
    _renumber(session, state, plan)
    if not plan.changed:
        return outcome
    scope = OrderScope(campaign, group, state.scope)
    written: list[WrittenEntry] = []
    touched: set[int] = set()  # existing entries changed through the ORM

    def add(entry: Entry, author_id: str, author_name: str, status: EntryStatus) -> WrittenEntry:
        row = new_entry(session, state.chain_id, scope, entry, known_keys=state.keys, author_id=author_id,
                        author_name=author_name, message_id=message.id, at=at, status=status, outcome=outcome)
        written.append(row)
        return row

    for new in plan.added:
        name = new.entry.member or (message.sender_name if new.author == message.sender_id else "")
        row = add(new.entry, new.author, name, EntryStatus.LATE if scope.is_late(at) else EntryStatus.OK)
        if row.status == EntryStatus.LATE:
            outcome.problems.append(Problem(row.author_id, name or row.author_id, ProblemKind.LATE, new.entry.raw))
        outcome.added += 1
    for known_line, new in plan.edits:
        row = session.get(EntryRow, known_line.entry_id)
        if scope.is_late(at) and message.sender_id not in leader_ids:
            # After the deadline the counted order stays as it was; the new text is kept as
            # a late line for the leader to decide on.
            add(new.entry, row.author_id, row.author_name, EntryStatus.LATE)
            session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind=EventKind.LATE_EDIT,
                                   actor_id=message.sender_id, before=row.raw, after=new.entry.raw, at=at))
            outcome.problems.append(Problem(row.author_id, row.member or row.author_name, ProblemKind.LATE, new.entry.raw))
            continue
        update_entry(session, row, new.entry, actor_id=message.sender_id, message_id=message.id, at=at,
                     scope=scope, outcome=outcome)
        touched.add(row.id)
    for known_line, new in plan.cancels:
        row = session.get(EntryRow, known_line.entry_id)
        outcome.problems += cancel_entry(session, row, actor_id=message.sender_id, message_id=message.id, at=at,
                                         cancel_line=new.entry.raw, scope=scope)
        touched.add(row.id)
        outcome.cancelled += 1
    for targets, new in plan.cancel_lines:
        for known_line in targets:
            row = session.get(EntryRow, known_line.entry_id)
            outcome.problems += cancel_entry(session, row, actor_id=message.sender_id, message_id=message.id,
                                             at=at, scope=scope)
            touched.add(row.id)
            outcome.cancelled += 1
        # The cancellation line itself is kept (inactive) so later copies know it.
        add(new.entry, new.author, new.entry.member or message.sender_name, EntryStatus.CANCELLED)
    for known_line, new in plan.reviews:
        add(new.entry, message.sender_id, message.sender_name, EntryStatus.REVIEW)
        if known_line is not None:
            session.add(EntryEvent(entry_id=known_line.entry_id, message_id=message.id, kind=EventKind.REVIEW,
                                   actor_id=message.sender_id, after=new.entry.raw, at=at))
        outcome.problems.append(Problem(message.sender_id, message.sender_name, ProblemKind.REVIEW, new.entry.raw))
    _mark_presence(session, plan, message, at)
    outcome.missing = len(plan.missing)
    touched |= {line.entry_id for line in (*plan.missing, *plan.reappeared)}
    if touched:
        session.flush()
        # update_entry and cancel_entry bump the version through the ORM as well
        state.version = session.scalar(select(Chain.version).where(Chain.id == state.chain_id))
        for entry_id in touched:
            state.index.put(_known_line(session.get(EntryRow, entry_id)))  # from the identity map
    for row in written:
        state.index.put(_known_line(row))
    return outcome


def _renumber(session: Session, state: _ChainState, plan) -> None:
    """Keep each entry's number as the latest copy shows it (what the leader reads)."""
    for line, seq in plan.renumbered:
        session.execute(update(EntryRow).where(EntryRow.id == line.entry_id).values(seq=seq))
        state.index.put(replace(line, seq=seq))


def _mark_presence(session: Session, plan, message: MessageLog, at: datetime) -> None:
    for line in plan.missing:
        row = session.get(EntryRow, line.entry_id)
        row.missing = True
        session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind=EventKind.MISSING,
                               actor_id=message.sender_id, at=at))
    for line in plan.reappeared:
        row = session.get(EntryRow, line.entry_id)
        row.missing = False
        session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind=EventKind.REAPPEARED,
                               actor_id=message.sender_id, at=at))


def apply_free_order(
    session: Session, *, group: Group, campaign: Campaign | None, message: MessageLog,
    items: list[Item], unmatched: list[Unmatched], at: datetime,
) -> ChainOutcome:
    """A free-text order ("+1 西瓜", "我的西瓜改成3个"): kept for the leader to confirm,
    not counted, because the same order is usually also written into the chain."""
    chain = chain_for(session, group, campaign, chain_key_of(campaign, FREE_CHAIN), FREE_CHAIN_TITLE, message,
                      kind=ChainKind.FREE)
    scope = OrderScope.of(session, chain, group)
    entry = Entry(seq=0, raw=message.text.strip()[:500], member=message.sender_name, items=items,
                  unmatched=unmatched)
    outcome = ChainOutcome()
    new_entry(session, chain.id, scope, entry, author_id=message.sender_id, author_name=message.sender_name,
              message_id=message.id, at=at, status=EntryStatus.REVIEW, outcome=outcome)
    chain.version += 1
    outcome.added = 1
    return outcome


# --- chains no campaign could be chosen for ------------------------------------------------


def chain_campaign(session: Session, group_id: int, key: str, campaign_ids: list[str]) -> str | None:
    """The campaign (among these) that a chain of this group with this key was put in, if any."""
    full_keys = {chain_key_of_id(campaign_id, key): campaign_id for campaign_id in campaign_ids}
    found = set(session.scalars(select(Chain.chain_key).where(
        Chain.group_id == group_id, Chain.chain_key.in_(full_keys), Chain.kind == ChainKind.CHAIN)))
    return next((campaign_id for full, campaign_id in full_keys.items() if full in found), None)


def chain_key_of_id(campaign_id: str | None, key: str) -> str:
    return f"{campaign_id or '-'}:{key}"[:200]


def _held_key(key: str) -> str:
    return f"?:{key}"[:200]


def hold_copy(session: Session, group: Group, key: str, title: str | None, message: MessageLog) -> bool:
    """Keep a copy of a chain that fits two campaigns equally until its campaign is known (the
    leader says, or a later copy makes it clear). True for the chain's first held copy."""
    chain = chain_for(session, group, None, _held_key(key), title, message, kind=ChainKind.HELD)
    session.execute(insert_unless_present(session.get_bind().dialect.name, HeldMessage.__table__,
                                          ["chain_id", "message_id"]).values(chain_id=chain.id, message_id=message.id))
    return chain.first_message_id == message.id


def held_chains(session: Session, group_ids: list[int]) -> list[Chain]:
    """The chains of these groups waiting for their campaign, oldest first."""
    return list(session.scalars(select(Chain).where(Chain.group_id.in_(group_ids), Chain.kind == ChainKind.HELD)
                                .order_by(Chain.id)))


def release_held(session: Session, group_id: int, key: str) -> list[MessageLog]:
    """A held chain's copies in the order they were sent, to be applied to its campaign now;
    the chain is held no more."""
    chain = session.scalar(select(Chain).where(Chain.group_id == group_id, Chain.chain_key == _held_key(key),
                                               Chain.kind == ChainKind.HELD))
    if chain is None:
        return []
    messages = list(session.scalars(
        select(MessageLog).join(HeldMessage, HeldMessage.message_id == MessageLog.id)
        .where(HeldMessage.chain_id == chain.id).order_by(MessageLog.sent_at, MessageLog.id)))
    session.execute(delete(HeldMessage).where(HeldMessage.chain_id == chain.id))
    session.delete(chain)
    session.flush()
    return messages


def reset_projection(session: Session) -> None:
    """Delete everything derived from the message log (for `jielong rebuild`). The log, the
    set-up and group bindings stay."""
    session.execute(delete(Adjustment))
    session.execute(delete(EntryEvent))
    session.execute(delete(OrderItem))
    session.execute(delete(EntryRow))
    session.execute(delete(HeldMessage))
    session.execute(delete(Chain))
    session.execute(delete(OrderCounter))
    session.flush()
    _chains.clear()
