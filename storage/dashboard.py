"""The dashboard's read side: figures and work queues for the platform, as SQL aggregates.

Every long list is cut in the database (`limit`/`offset`) with a count beside it, so a
platform with 10,000 groups gets a page of them, not all. Figures count what the ledger
counts (order items with status ok), the same as `storage.reports` and the exports; a
“单” is one entry (one member's line) with counted items, as in the statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Campaign,
    Chain,
    EntryEvent,
    EntryRow,
    EntryStatus,
    EventKind,
    Group,
    ItemStatus,
    Leader,
    MessageLog,
    OrderItem,
    ProductRow,
)
from storage.models import Outbox as OutboxRow

ZERO = Decimal("0")
HOUR = timedelta(hours=1)
MAX_HOURS = 24 * 31  # an orders-per-hour chart longer than a month says nothing more


@dataclass(frozen=True)
class Scope:
    """Which counted items a figure covers: one campaign, items first seen in [start, end), or both."""

    campaign_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def conditions(self) -> list:
        conditions = [OrderItem.status == ItemStatus.OK]
        if self.campaign_id is not None:
            conditions.append(OrderItem.campaign_id == self.campaign_id)
        if self.start is not None:
            conditions.append(OrderItem.first_seen >= self.start)
        if self.end is not None:
            conditions.append(OrderItem.first_seen < self.end)
        return conditions


@dataclass
class Totals:
    orders: int  # entries with counted items
    gmv: Decimal
    groups: int  # groups with counted items
    members: int  # members with counted items


@dataclass
class GroupSales:
    group_id: int
    group: str
    leader: str
    orders: int
    gmv: Decimal


@dataclass
class ProductSales:
    campaign_id: str
    campaign: str
    sku: str
    name: str
    unit: str
    qty: Decimal
    gmv: Decimal
    orders: int
    groups: int


@dataclass
class CampaignSummary:
    id: str
    title: str
    opens: datetime
    deadline: datetime
    pickup: datetime | None
    closed_at: datetime | None
    orders: int
    gmv: Decimal
    groups: int


@dataclass
class ItemLine:
    """One order item that waits for someone (review, late, waitlist), with where it came from."""

    item_id: int
    campaign_id: str | None
    group: str
    member_id: str
    member: str
    seq: int
    text: str
    status: str  # ItemStatus
    reason: str
    amount: Decimal
    first_seen: datetime


@dataclass
class EditLine:
    """Someone changed another member's line: kept, not applied, for the leader to decide."""

    entry_id: int
    group: str
    member: str
    actor_id: str
    actor: str  # the name the actor wrote under
    before: str
    after: str
    at: datetime


@dataclass
class MissingLine:
    """A counted line that a later copy of its chain lost (someone copied an older version)."""

    entry_id: int
    campaign_id: str | None
    group: str
    member: str
    seq: int
    raw: str
    last_changed: datetime


@dataclass
class UnpaidOrder:
    entry_id: int
    campaign_id: str | None
    group: str
    member_id: str
    member: str
    address: str
    seq: int
    amount: Decimal
    first_seen: datetime


@dataclass
class UnsentMessage:
    id: int
    to: str
    is_group: bool
    kind: str
    text: str
    created_at: datetime


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a long list, and how long the whole list is."""

    rows: list[T]
    total: int


def _group_label():
    return func.coalesce(func.nullif(Group.name, ""), Group.chat_id)


def _member_label():
    return func.coalesce(EntryRow.member, func.nullif(EntryRow.author_name, ""), EntryRow.author_id)


# --- sales ------------------------------------------------------------------------------------

def totals(session: Session, scope: Scope, *, members: bool = True) -> Totals:
    """Orders, GMV and groups; and members, unless `members` is False (a second pass: 0 then)."""
    orders, gmv, groups = session.execute(
        select(func.count(func.distinct(OrderItem.entry_id)), func.coalesce(func.sum(OrderItem.amount), 0),
               func.count(func.distinct(OrderItem.group_id)))
        .where(*scope.conditions())
    ).one()
    if not members or not orders:
        return Totals(orders, Decimal(gmv), groups, 0)
    pairs = select(OrderItem.group_id, OrderItem.member_id).where(*scope.conditions()).distinct().subquery()
    return Totals(orders, Decimal(gmv), groups, session.scalar(select(func.count()).select_from(pairs)) or 0)


def sales_by_group(session: Session, scope: Scope, limit: int | None = None, offset: int = 0) -> Page[GroupSales]:
    """Groups by GMV, highest first (ties by group id)."""
    gmv = func.sum(OrderItem.amount)
    query = (
        select(Group.id, _group_label(), func.coalesce(Leader.name, ""), func.count(func.distinct(OrderItem.entry_id)),
               gmv)
        .join(Group, Group.id == OrderItem.group_id)
        .outerjoin(Leader, Leader.id == Group.leader_id)
        .where(*scope.conditions())
        .group_by(Group.id, Group.name, Group.chat_id, Leader.name)
        .order_by(gmv.desc(), Group.id)
        .offset(offset).limit(limit)
    )
    rows = [GroupSales(gid, name, leader, n, Decimal(amount)) for gid, name, leader, n, amount in session.execute(query)]
    total = session.scalar(select(func.count(func.distinct(OrderItem.group_id))).where(*scope.conditions())) or 0
    return Page(rows, total)


def sales_by_product(session: Session, scope: Scope, limit: int | None = None) -> Page[ProductSales]:
    """Products by GMV, highest first. Over a span of days the same product of two campaigns is two rows."""
    gmv = func.sum(OrderItem.amount)
    query = (
        select(ProductRow.campaign_id, Campaign.title, ProductRow.sku, ProductRow.name, ProductRow.unit,
               func.sum(OrderItem.qty), gmv, func.count(func.distinct(OrderItem.entry_id)),
               func.count(func.distinct(OrderItem.group_id)))
        .join(ProductRow, ProductRow.id == OrderItem.product_id)
        .join(Campaign, Campaign.id == ProductRow.campaign_id)
        .where(*scope.conditions())
        .group_by(ProductRow.id, ProductRow.campaign_id, Campaign.title, ProductRow.sku, ProductRow.name,
                  ProductRow.unit)
        .order_by(gmv.desc(), ProductRow.campaign_id, ProductRow.position, ProductRow.id)
        .limit(limit)
    )
    rows = [ProductSales(cid, title, sku, name, unit, Decimal(qty), Decimal(amount), n, groups)
            for cid, title, sku, name, unit, qty, amount, n, groups in session.execute(query)]
    total = session.scalar(select(func.count(func.distinct(OrderItem.product_id))).where(*scope.conditions())) or 0
    return Page(rows, total)


def procurement(session: Session, campaign_id: str) -> list[ProductSales]:
    """What to buy for a campaign: every product of its catalog in the post's order, with the
    counted quantity (zero included), as the procurement export counts it."""
    counted = {(row.campaign_id, row.sku): row for row in sales_by_product(session, Scope(campaign_id)).rows}
    products = session.execute(
        select(ProductRow.sku, ProductRow.name, ProductRow.unit, Campaign.title)
        .join(Campaign, Campaign.id == ProductRow.campaign_id)
        .where(ProductRow.campaign_id == campaign_id).order_by(ProductRow.position, ProductRow.id)
    )
    return [counted.get((campaign_id, sku)) or ProductSales(campaign_id, title, sku, name, unit, ZERO, ZERO, 0, 0)
            for sku, name, unit, title in products]


def campaign_summaries(session: Session, limit: int | None = None, offset: int = 0, *,
                       ids: list[str] | None = None, by_gmv: bool = False) -> Page[CampaignSummary]:
    """Campaigns (all, or these), each with its counted orders and GMV: the latest opened
    first, or the largest GMV first."""
    # Only the chosen campaigns' items are read (the campaign index); the listing of all
    # campaigns pages first and then sums just the page's campaigns.
    if ids is None:
        ids = list(session.scalars(select(Campaign.id).order_by(Campaign.opens.desc(), Campaign.id)
                                   .offset(offset).limit(limit)))
        total = session.scalar(select(func.count(Campaign.id))) or 0
        offset, limit = 0, None
    else:
        total = session.scalar(select(func.count(Campaign.id)).where(Campaign.id.in_(ids))) or 0
    sales = (
        select(OrderItem.campaign_id.label("campaign_id"),
               func.count(func.distinct(OrderItem.entry_id)).label("orders"),
               func.sum(OrderItem.amount).label("gmv"),
               func.count(func.distinct(OrderItem.group_id)).label("groups"))
        .where(OrderItem.campaign_id.in_(ids), OrderItem.status == ItemStatus.OK)
        .group_by(OrderItem.campaign_id).subquery()
    )
    chosen = Campaign.id.in_(ids)
    gmv = func.coalesce(sales.c.gmv, 0)
    order = (gmv.desc(), Campaign.opens.desc(), Campaign.id) if by_gmv else (Campaign.opens.desc(), Campaign.id)
    query = (
        select(Campaign, func.coalesce(sales.c.orders, 0), gmv, func.coalesce(sales.c.groups, 0))
        .outerjoin(sales, sales.c.campaign_id == Campaign.id)
        .where(chosen).order_by(*order).offset(offset).limit(limit)
    )
    rows = [CampaignSummary(c.id, c.title, c.opens, c.deadline, c.pickup, c.closed_at, n, Decimal(amount), groups)
            for c, n, amount, groups in session.execute(query)]
    return Page(rows, total)


def campaign_titles(session: Session) -> list[tuple[str, str]]:
    """(id, title) of every campaign, the latest opened first: for choosing one."""
    return [(cid, title) for cid, title in session.execute(
        select(Campaign.id, Campaign.title).order_by(Campaign.opens.desc(), Campaign.id))]


def orders_per_hour(session: Session, campaign: Campaign) -> list[tuple[datetime, int]]:
    """Counted orders by the hour they were first written, from the campaign's opening to its
    last order (or its deadline, whichever is later), empty hours included. An order written
    before the opening counts in the first hour."""
    opens = campaign.opens
    if session.get_bind().dialect.name == "postgresql":
        hour = func.floor((func.extract("epoch", EntryRow.first_seen) - opens.timestamp()) / 3600)
    else:  # seconds as integers: exact, and SQLite's integer division
        hour = (cast(func.strftime("%s", EntryRow.first_seen), Integer) - int(opens.timestamp())) / 3600
    counts: dict[int, int] = {}
    for index, n in session.execute(
        select(hour.label("hour"), func.count(func.distinct(EntryRow.id)))
        .join(OrderItem, OrderItem.entry_id == EntryRow.id)
        .where(OrderItem.campaign_id == campaign.id, OrderItem.status == ItemStatus.OK)
        .group_by("hour")
    ):
        slot = max(0, int(index))
        counts[slot] = counts.get(slot, 0) + n
    last = max(counts, default=-1)
    span = max(last + 1, -(-(campaign.deadline - opens) // HOUR))
    return [(opens + k * HOUR, counts.get(k, 0)) for k in range(min(span, MAX_HOURS))]


# --- work queues ----------------------------------------------------------------------------

def _item_lines(session: Session, statuses: tuple[ItemStatus, ...], campaign_id: str | None,
                limit: int | None, offset: int, entry_statuses: tuple[EntryStatus, ...] | None = None) -> Page[ItemLine]:
    conditions = [OrderItem.status.in_(statuses)]
    if campaign_id is not None:
        conditions.append(OrderItem.campaign_id == campaign_id)
    if entry_statuses is not None:
        conditions.append(EntryRow.status.in_(entry_statuses))
    query = (
        select(OrderItem.id, OrderItem.campaign_id, _group_label(), OrderItem.member_id, _member_label(), EntryRow.seq,
               OrderItem.text, OrderItem.status, func.coalesce(OrderItem.reason, ""), OrderItem.amount,
               OrderItem.first_seen)
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .join(Group, Group.id == OrderItem.group_id)
        .where(*conditions)
        .order_by(OrderItem.first_seen.desc(), OrderItem.id.desc())
        .offset(offset).limit(limit)
    )
    rows = [ItemLine(*row[:9], Decimal(row[9]), row[10]) for row in session.execute(query)]
    count = select(func.count(OrderItem.id)).join(EntryRow, EntryRow.id == OrderItem.entry_id).where(*conditions)
    return Page(rows, session.scalar(count) or 0)


def review_items(session: Session, campaign_id: str | None = None, limit: int | None = None,
                 offset: int = 0) -> Page[ItemLine]:
    """Items nobody could read (unmatched) or that another member's change produced (review),
    newest first: the lines `storage.reports.entries_needing_review` gives a leader."""
    return _item_lines(session, (ItemStatus.UNMATCHED, ItemStatus.REVIEW), campaign_id, limit, offset,
                       (EntryStatus.OK, EntryStatus.REVIEW))


def late_and_waitlisted(session: Session, campaign_id: str | None = None, limit: int | None = None,
                        offset: int = 0) -> Page[ItemLine]:
    """Items written after the deadline or over a product's stock, newest first."""
    return _item_lines(session, (ItemStatus.LATE, ItemStatus.WAITLIST), campaign_id, limit, offset)


def others_edits(session: Session, campaign_id: str | None = None, limit: int | None = None,
                 offset: int = 0) -> Page[EditLine]:
    """Changes someone made to another member's line (not applied), newest first. (A review
    event whose actor is the line's author is a line that waits for the leader itself: a
    free-text order; those are review items.)"""
    conditions = [EntryEvent.kind == EventKind.REVIEW, EntryEvent.actor_id != EntryRow.author_id]
    if campaign_id is not None:
        conditions.append(Chain.campaign_id == campaign_id)
    base = (select(EntryEvent.id).join(EntryRow, EntryRow.id == EntryEvent.entry_id)
            .join(Chain, Chain.id == EntryRow.chain_id).where(*conditions))
    query = (
        select(EntryRow.id, _group_label(), _member_label(), EntryEvent.actor_id,
               func.coalesce(func.nullif(MessageLog.sender_name, ""), EntryEvent.actor_id),
               func.coalesce(EntryEvent.before, EntryRow.raw), func.coalesce(EntryEvent.after, ""), EntryEvent.at)
        .select_from(EntryEvent)
        .outerjoin(MessageLog, MessageLog.id == EntryEvent.message_id)
        .join(EntryRow, EntryRow.id == EntryEvent.entry_id)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .join(Group, Group.id == Chain.group_id)
        .where(*conditions)
        .order_by(EntryEvent.at.desc(), EntryEvent.id.desc())
        .offset(offset).limit(limit)
    )
    rows = [EditLine(*row) for row in session.execute(query)]
    return Page(rows, session.scalar(select(func.count()).select_from(base.subquery())) or 0)


def missing_lines(session: Session, campaign_id: str | None = None, limit: int | None = None,
                  offset: int = 0) -> Page[MissingLine]:
    """Counted lines absent from the latest copy of their chain, newest change first."""
    conditions = [EntryRow.missing.is_(True), EntryRow.status == EntryStatus.OK]
    if campaign_id is not None:
        conditions.append(Chain.campaign_id == campaign_id)
    query = (
        select(EntryRow.id, Chain.campaign_id, _group_label(), _member_label(), EntryRow.seq, EntryRow.raw,
               EntryRow.last_changed)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .join(Group, Group.id == Chain.group_id)
        .where(*conditions)
        .order_by(EntryRow.last_changed.desc(), EntryRow.id.desc())
        .offset(offset).limit(limit)
    )
    rows = [MissingLine(*row) for row in session.execute(query)]
    count = select(func.count(EntryRow.id)).join(Chain, Chain.id == EntryRow.chain_id).where(*conditions)
    return Page(rows, session.scalar(count) or 0)


def unpaid_orders(session: Session, campaign_id: str | None = None, limit: int | None = None,
                  offset: int = 0) -> Page[UnpaidOrder]:
    """Counted orders not marked paid, largest amount first."""
    conditions = [OrderItem.status == ItemStatus.OK, EntryRow.status == EntryStatus.OK, EntryRow.paid.is_(False)]
    if campaign_id is not None:
        conditions.append(OrderItem.campaign_id == campaign_id)
    amount = func.sum(OrderItem.amount)
    query = (
        select(EntryRow.id, OrderItem.campaign_id, _group_label(), EntryRow.author_id, _member_label(),
               func.coalesce(EntryRow.address, ""), EntryRow.seq, amount, EntryRow.first_seen)
        .join(OrderItem, OrderItem.entry_id == EntryRow.id)
        .join(Group, Group.id == OrderItem.group_id)
        .where(*conditions)
        .group_by(EntryRow.id, OrderItem.campaign_id, Group.name, Group.chat_id, EntryRow.author_id, EntryRow.member,
                  EntryRow.author_name, EntryRow.address, EntryRow.seq, EntryRow.first_seen)
        .order_by(amount.desc(), EntryRow.id)
        .offset(offset).limit(limit)
    )
    rows = [UnpaidOrder(*row[:7], Decimal(row[7]), row[8]) for row in session.execute(query)]
    count = (select(func.count(func.distinct(EntryRow.id))).join(OrderItem, OrderItem.entry_id == EntryRow.id)
             .where(*conditions))
    return Page(rows, session.scalar(count) or 0)


def unsent_messages(session: Session, limit: int | None = None, offset: int = 0) -> Page[UnsentMessage]:
    """What the bot queued and has not delivered, oldest first (a message stuck here is a
    send that keeps failing, or a group the rate limit holds back)."""
    waiting = OutboxRow.sent_at.is_(None)
    query = (
        select(OutboxRow.id, OutboxRow.to, OutboxRow.is_group, OutboxRow.kind, OutboxRow.text, OutboxRow.created_at)
        .where(waiting).order_by(OutboxRow.created_at, OutboxRow.id).offset(offset).limit(limit)
    )
    rows = [UnsentMessage(*row) for row in session.execute(query)]
    return Page(rows, session.scalar(select(func.count(OutboxRow.id)).where(waiting)) or 0)


@dataclass
class QueueCounts:
    review: int  # unmatched or other people's changes
    missing: int
    late: int
    waitlist: int
    unpaid: int
    unsent: int


def queue_counts(session: Session, campaign_ids: list[str] | None = None,
                 unsent_before: datetime | None = None) -> QueueCounts:
    """How long each work queue is, over these campaigns or all; unsent messages queued before
    `unsent_before`, if given."""
    statuses = status_counts(session, campaign_ids)
    return QueueCounts(statuses[ItemStatus.UNMATCHED] + statuses[ItemStatus.REVIEW],
                       missing_count(session, campaign_ids), statuses[ItemStatus.LATE],
                       statuses[ItemStatus.WAITLIST], unpaid_count(session, campaign_ids),
                       unsent_count(session, unsent_before))


def _in(column, values: list[str] | None):
    return column.in_(values) if values is not None else True


def status_counts(session: Session, campaign_ids: list[str] | None = None) -> dict[ItemStatus, int]:
    """Items waiting for someone, by status: unmatched and review (of lines still standing),
    late and waitlist. Each count reads the campaign-and-status index."""
    counts = dict.fromkeys((ItemStatus.UNMATCHED, ItemStatus.REVIEW, ItemStatus.LATE, ItemStatus.WAITLIST), 0)
    counts.update(session.execute(
        select(OrderItem.status, func.count(OrderItem.id))
        .where(_in(OrderItem.campaign_id, campaign_ids), OrderItem.status.in_((ItemStatus.LATE, ItemStatus.WAITLIST)))
        .group_by(OrderItem.status)
    ).all())
    counts.update(session.execute(
        select(OrderItem.status, func.count(OrderItem.id))
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .where(_in(OrderItem.campaign_id, campaign_ids),
               OrderItem.status.in_((ItemStatus.UNMATCHED, ItemStatus.REVIEW)),
               EntryRow.status.in_((EntryStatus.OK, EntryStatus.REVIEW)))
        .group_by(OrderItem.status)
    ).all())
    return counts


def missing_count(session: Session, campaign_ids: list[str] | None = None) -> int:
    return session.scalar(
        select(func.count(EntryRow.id)).join(Chain, Chain.id == EntryRow.chain_id)
        .where(_in(Chain.campaign_id, campaign_ids), EntryRow.missing.is_(True), EntryRow.status == EntryStatus.OK)
    ) or 0


def unpaid_count(session: Session, campaign_ids: list[str] | None = None) -> int:
    return session.scalar(
        select(func.count(func.distinct(EntryRow.id))).join(OrderItem, OrderItem.entry_id == EntryRow.id)
        .where(_in(OrderItem.campaign_id, campaign_ids), OrderItem.status == ItemStatus.OK,
               EntryRow.status == EntryStatus.OK, EntryRow.paid.is_(False))
    ) or 0


def unsent_count(session: Session, queued_before: datetime | None = None) -> int:
    before = OutboxRow.created_at < queued_before if queued_before is not None else True
    return session.scalar(select(func.count(OutboxRow.id)).where(OutboxRow.sent_at.is_(None), before)) or 0


def campaign_ids_between(session: Session, start: datetime, end: datetime) -> list[str]:
    """Campaigns that took orders some time in [start, end)."""
    return list(session.scalars(select(Campaign.id).where(Campaign.opens < end, Campaign.deadline >= start)
                                .order_by(Campaign.opens, Campaign.id)))
