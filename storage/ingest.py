"""The write side the live bot uses for every message: log it, find its group and
campaign, and merge chain copies into entries (parsers.merge decides, this applies).

A message's cost is proportional to what is new in it: the lines a chain already holds are
kept in memory per chain (checked against `chains.version`), so a repost of a 1000-line
chain costs a hash per line and a handful of queries.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from parsers.merge import KnownIndex, KnownLine, diff_copy
from parsers.model import Entry, Item, ParsedMessage, Product, Unmatched
from storage.models import (
    Adjustment,
    Campaign,
    CampaignGroup,
    Chain,
    EntryEvent,
    EntryRow,
    Group,
    MessageLog,
    OrderItem,
    ProductRow,
)
from storage.orders import (
    ChainOutcome,
    OrderScope,
    Problem,
    cancel_entry,
    identity_of_row,
    new_entry,
    update_entry,
)

FREE_CHAIN = "__free__"  # pseudo-chain holding free-text orders of a campaign in a group


def record_message(
    session: Session, *, platform: str, message_id: str, chat_id: str | None, chat_name: str | None,
    sender_id: str, sender_name: str, text: str, sent_at: datetime, received_at: datetime,
) -> MessageLog | None:
    """Log an inbound message; None when this (platform, message_id) was logged before.

    One INSERT … ON CONFLICT DO NOTHING: a redelivery, or another process logging the same
    message at the same moment, inserts nothing and is told so.
    """
    values = dict(platform=platform, message_id=message_id, chat_id=chat_id, chat_name=chat_name,
                  sender_id=sender_id, sender_name=sender_name, text=text, sent_at=sent_at,
                  received_at=received_at)
    insert = _insert_for(session)
    new_id = session.scalar(
        insert(MessageLog).values(**values)
        .on_conflict_do_nothing(index_elements=["platform", "message_id"])
        .returning(MessageLog.id)
    )
    if new_id is None:
        return None
    # The row we just wrote, attached without reading it back.
    row = MessageLog(id=new_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _insert_for(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def group_for_chat(session: Session, chat_id: str, chat_name: str | None = None) -> Group | None:
    keys = [chat_id] + ([chat_name] if chat_name else [])
    group = session.scalar(select(Group).where(Group.chat_id.in_(keys)).limit(1))
    if group is None and chat_name:
        group = session.scalar(select(Group).where(Group.name == chat_name).limit(1))
    return group


def bind_group(session: Session, chat_id: str, chat_name: str | None, leader_id: str, at: datetime) -> Group:
    group = group_for_chat(session, chat_id, chat_name)
    if group is None:
        group = Group(chat_id=chat_id, name=chat_name or chat_id)
        session.add(group)
    group.leader_id, group.bound_at = leader_id, at
    session.flush()
    return group


def leader_ids(session: Session, group: Group) -> set[str]:
    """Who may change anyone's line in this group: its leader."""
    return {group.leader_id} if group.leader_id else set()


def campaign_for_group(session: Session, group: Group, at: datetime) -> Campaign | None:
    """The campaign a chain in this group belongs to at this time.

    Among the campaigns for this group that have opened, the one still taking orders with
    the nearest deadline; if none is, the one whose deadline passed most recently (so a
    line written after the deadline is kept as late rather than lost).
    """
    in_group = or_(
        Campaign.all_groups.is_(True),
        Campaign.id.in_(select(CampaignGroup.campaign_id).where(CampaignGroup.group_id == group.id)),
    )
    base = select(Campaign).where(in_group, Campaign.opens <= at)
    running = session.scalars(
        base.where(Campaign.deadline >= at, Campaign.closed_at.is_(None)).order_by(Campaign.deadline).limit(1)
    ).first()
    if running is not None:
        return running
    return session.scalars(base.order_by(Campaign.deadline.desc()).limit(1)).first()


def catalog_of(session: Session, campaign: Campaign) -> list[Product]:
    rows = session.scalars(
        select(ProductRow).where(ProductRow.campaign_id == campaign.id).order_by(ProductRow.position, ProductRow.id)
    )
    return [Product(sku=r.sku, name=r.name, price=r.price, unit=r.unit, aliases=tuple(r.aliases or ()),
                    stock=r.stock) for r in rows]


# --- chains --------------------------------------------------------------------------------


@dataclass
class _Known:
    version: int
    index: KnownIndex
    # entry keys in use (without their "-n" suffix): a new line whose key is not among them
    # needs no query to stay unique
    keys: set[str] = field(default_factory=set)


class _KnownCache:
    """Per-chain known lines, reused while the chain's version says nothing changed.

    A transaction that rolls back (a crash, a failed message, a savepoint in rebuild) may
    have cached lines it never committed: the chains it touched are forgotten then, so
    the next message reads them from the database again.
    """

    def __init__(self, size: int = 512):
        self._data: OrderedDict[tuple[str, int], _Known] = OrderedDict()
        self._size = size

    def get(self, session: Session, chain: Chain) -> _Known:
        key = (str(session.get_bind().url), chain.id)
        session.info.setdefault(_TOUCHED, set()).add(key)
        known = self._data.get(key)
        if known is None or known.version != chain.version:
            rows = session.scalars(select(EntryRow).where(EntryRow.chain_id == chain.id).order_by(EntryRow.id)).all()
            known = _Known(chain.version, KnownIndex(_known_line(row) for row in rows),
                           {row.entry_key.split("-", 1)[0] for row in rows})
            self._data[key] = known
            if len(self._data) > self._size:
                self._data.popitem(last=False)
        self._data.move_to_end(key)
        return known

    def forget(self, keys) -> None:
        for key in keys:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


_known_cache = _KnownCache()
_TOUCHED = "jielong.known_chains"


@event.listens_for(Session, "after_soft_rollback")
def _forget_uncommitted(session: Session, _previous) -> None:
    _known_cache.forget(session.info.pop(_TOUCHED, ()))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _known_line(row: EntryRow) -> KnownLine:
    return KnownLine(entry_id=row.id, line_hash=row.line_hash, author=row.author_id, seq=row.seq,
                     identity=identity_of_row(row), active=row.status in ("ok", "late"), missing=row.missing)


def chain_for(session: Session, group: Group, campaign: Campaign | None, key: str, title: str | None,
              message: MessageLog) -> Chain:
    full_key = f"{campaign.id if campaign else '-'}:{key}"[:200]
    chain = session.scalar(select(Chain).where(Chain.group_id == group.id, Chain.chain_key == full_key))
    if chain is None:
        chain = Chain(group_id=group.id, campaign_id=campaign.id if campaign else None, chain_key=full_key,
                      title=(title or "")[:500], first_message_id=message.id, created_at=message.sent_at,
                      version=0)
        session.add(chain)
        session.flush()
    return chain


def apply_chain(
    session: Session, *, group: Group, campaign: Campaign | None, message: MessageLog,
    parsed: ParsedMessage, leader_ids: set[str], at: datetime,
) -> ChainOutcome:
    """Merge one chain copy into the stored entries."""
    chain = chain_for(session, group, campaign, parsed.chain_key or "", parsed.title, message)
    known = _known_cache.get(session, chain)
    plan = diff_copy(known.index, parsed.entries, message.sender_id, leader_ids)
    outcome = ChainOutcome()
    _renumber(session, known, plan)
    if not plan.changed:
        return outcome
    scope = OrderScope.of(session, chain, group)
    touched: set[int] = set()
    for new in plan.added:
        name = new.entry.member or (message.sender_name if new.author == message.sender_id else "")
        row = new_entry(session, chain, scope, new.entry, known_keys=known.keys, author_id=new.author, author_name=name,
                        message_id=message.id, at=at, status="late" if scope.is_late(at) else "ok",
                        outcome=outcome)
        if row.status == "late":
            outcome.problems.append(Problem(row.author_id, name or row.author_id, "late", new.entry.raw))
        touched.add(row.id)
        outcome.added += 1
    for known_line, new in plan.edits:
        row = session.get(EntryRow, known_line.entry_id)
        if scope.is_late(at) and message.sender_id not in leader_ids:
            # After the deadline the counted order stays as it was; the new text is kept as
            # a late line for the leader to decide on.
            late = new_entry(session, chain, scope, new.entry, known_keys=known.keys, author_id=row.author_id,
                             author_name=row.author_name, message_id=message.id, at=at, status="late",
                             outcome=outcome)
            session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind="late_edit",
                                   actor_id=message.sender_id, before=row.raw, after=new.entry.raw, at=at))
            outcome.problems.append(Problem(row.author_id, row.member or row.author_name, "late", new.entry.raw))
            touched.add(late.id)
            continue
        update_entry(session, row, new.entry, actor_id=message.sender_id, message_id=message.id, at=at,
                     scope=scope, outcome=outcome)
        touched.add(row.id)
    for known_line, new in plan.cancels:
        row = session.get(EntryRow, known_line.entry_id)
        cancel_entry(session, row, actor_id=message.sender_id, message_id=message.id, at=at,
                     cancel_line=new.entry.raw, scope=scope)
        touched.add(row.id)
        outcome.cancelled += 1
    for targets, new in plan.cancel_lines:
        for known_line in targets:
            row = session.get(EntryRow, known_line.entry_id)
            cancel_entry(session, row, actor_id=message.sender_id, message_id=message.id, at=at, scope=scope)
            touched.add(row.id)
            outcome.cancelled += 1
        # The cancellation line itself is kept (inactive) so later copies know it.
        row = new_entry(session, chain, scope, new.entry, known_keys=known.keys, author_id=new.author,
                        author_name=new.entry.member or message.sender_name, message_id=message.id, at=at,
                        status="cancelled", outcome=outcome)
        touched.add(row.id)
    for known_line, new in plan.reviews:
        row = new_entry(session, chain, scope, new.entry, known_keys=known.keys, author_id=message.sender_id,
                        author_name=message.sender_name, message_id=message.id, at=at, status="review",
                        outcome=outcome)
        if known_line is not None:
            session.add(EntryEvent(entry_id=known_line.entry_id, message_id=message.id, kind="review",
                                   actor_id=message.sender_id, after=new.entry.raw, at=at))
        outcome.problems.append(Problem(message.sender_id, message.sender_name, "review", new.entry.raw))
        touched.add(row.id)
    _mark_presence(session, plan, message, at)
    outcome.missing = len(plan.missing)
    chain.version += 1
    chain.last_message_id = message.id
    session.flush()
    known.version = chain.version
    touched |= {line.entry_id for line in (*plan.missing, *plan.reappeared)}
    for entry_id in touched:
        known.index.put(_known_line(session.get(EntryRow, entry_id)))  # from the identity map
    return outcome


def _renumber(session: Session, known: _Known, plan) -> None:
    """Keep each entry's number as the latest copy shows it (what the leader reads)."""
    for line, seq in plan.renumbered:
        session.execute(update(EntryRow).where(EntryRow.id == line.entry_id).values(seq=seq))
        known.index.put(replace(line, seq=seq))


def _mark_presence(session: Session, plan, message: MessageLog, at: datetime) -> None:
    for line in plan.missing:
        row = session.get(EntryRow, line.entry_id)
        row.missing = True
        session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind="missing",
                               actor_id=message.sender_id, at=at))
    for line in plan.reappeared:
        row = session.get(EntryRow, line.entry_id)
        row.missing = False
        session.add(EntryEvent(entry_id=row.id, message_id=message.id, kind="reappeared",
                               actor_id=message.sender_id, at=at))


def apply_free_order(
    session: Session, *, group: Group, campaign: Campaign | None, message: MessageLog,
    items: list[Item], unmatched: list[Unmatched], at: datetime,
) -> ChainOutcome:
    """A free-text order ("+1 西瓜", "我的西瓜改成3个"): kept for the leader to confirm,
    not counted, because the same order is usually also written into the chain."""
    chain = chain_for(session, group, campaign, FREE_CHAIN, "群聊里的零散下单", message)
    scope = OrderScope.of(session, chain, group)
    entry = Entry(seq=0, raw=message.text.strip()[:500], member=message.sender_name, items=items,
                  unmatched=unmatched)
    outcome = ChainOutcome()
    new_entry(session, chain, scope, entry, author_id=message.sender_id, author_name=message.sender_name,
              message_id=message.id, at=at, status="review", outcome=outcome)
    chain.version += 1
    outcome.added = 1
    return outcome


def reset_projection(session: Session) -> None:
    """Delete everything derived from the message log (for `jielong rebuild`). The log, the
    set-up and group bindings stay."""
    session.execute(delete(Adjustment))
    session.execute(delete(EntryEvent))
    session.execute(delete(OrderItem))
    session.execute(delete(EntryRow))
    session.execute(delete(Chain))
    session.flush()
    _known_cache.clear()
