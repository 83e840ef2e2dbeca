"""The read side: totals, per-member lists, pickup, statements — SQL aggregates, no row loops
over the whole table. Leaders' commands, summaries and exports all read through here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage.formatting import items_text
from storage.lookup import commission_rate
from storage.models import (
    ACTIVE_ENTRY,
    Adjustment,
    Campaign,
    Chain,
    ChainKind,
    EntryRow,
    EntryStatus,
    Group,
    ItemStatus,
    Leader,
    OrderItem,
    ProductRow,
)

ZERO = Decimal("0")


@dataclass
class ProductTotal:
    sku: str
    name: str
    unit: str
    qty: Decimal
    amount: Decimal
    orders: int


@dataclass
class MemberOrder:
    group_id: int
    member_id: str
    member: str
    address: str
    seqs: list[int] = field(default_factory=list)
    entry_ids: list[int] = field(default_factory=list)
    items: list[tuple[str, Decimal, str]] = field(default_factory=list)  # (name, qty, unit)
    amount: Decimal = ZERO
    picked_up: bool = False

    @property
    def items_text(self) -> str:
        return items_text(self.items)


@dataclass
class Statement:
    leader_id: str
    leader: str
    start: datetime
    end: datetime
    orders: int
    gmv: Decimal
    adjustments: Decimal
    commission_rate: Decimal
    commission: Decimal
    payable: Decimal


@dataclass
class ReviewLine:
    group_id: int
    member_id: str
    member: str
    text: str
    status: str
    reason: str



def _in_groups(group_ids: list[int] | None):
    return OrderItem.group_id.in_(group_ids) if group_ids is not None else True


def product_totals(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[ProductTotal]:
    rows = session.execute(
        select(OrderItem.sku, func.sum(OrderItem.qty), func.sum(OrderItem.amount),
               func.count(func.distinct(OrderItem.entry_id)))
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status == ItemStatus.OK, _in_groups(group_ids))
        .group_by(OrderItem.sku)
    ).all()
    by_sku = {sku: (qty, amount, n) for sku, qty, amount, n in rows}
    products = session.scalars(select(ProductRow).where(ProductRow.campaign_id == campaign_id).order_by(ProductRow.position))
    out = []
    for product in products:
        qty, amount, n = by_sku.get(product.sku, (ZERO, ZERO, 0))
        out.append(ProductTotal(product.sku, product.name, product.unit, Decimal(qty), Decimal(amount), n))
    return out


def member_orders(session: Session, campaign_id: str, group_ids: list[int] | None = None,
                  member_id: str | None = None) -> list[MemberOrder]:
    """One row per member and group with their counted items, in chain order."""
    query = (
        select(EntryRow.id, EntryRow.seq, EntryRow.author_id, EntryRow.member, EntryRow.author_name,
               EntryRow.address, EntryRow.picked_up_at, Chain.group_id, OrderItem.product_name,
               OrderItem.qty, OrderItem.unit, OrderItem.amount)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .join(OrderItem, and_(OrderItem.entry_id == EntryRow.id, OrderItem.status == ItemStatus.OK))
        .where(OrderItem.campaign_id == campaign_id, _in_groups(group_ids))
        .order_by(Chain.group_id, EntryRow.first_seen, EntryRow.id, OrderItem.id)
    )
    if member_id is not None:
        query = query.where(EntryRow.author_id == member_id)
    members: dict[tuple[int, str], MemberOrder] = {}
    totals: dict[tuple[int, str], dict[tuple[str, str], Decimal]] = defaultdict(dict)
    picked: dict[tuple[int, str], list[bool]] = defaultdict(list)
    for (entry_id, seq, author, member, author_name, address, picked_at, group_id, name, qty, unit,
         amount) in session.execute(query):
        key = (group_id, author)
        row = members.get(key)
        if row is None:
            row = members[key] = MemberOrder(group_id, author, member or author_name or author, address or "")
        if entry_id not in row.entry_ids:
            row.entry_ids.append(entry_id)
            row.seqs.append(seq)
            picked[key].append(picked_at is not None)
        totals[key][(name, unit)] = totals[key].get((name, unit), ZERO) + Decimal(qty)
        row.amount += Decimal(amount)
    for key, row in members.items():
        row.items = [(name, qty, unit) for (name, unit), qty in totals[key].items()]
        row.picked_up = all(picked[key])
    return list(members.values())


def leader_entries(session: Session, campaign_id: str, group_ids: list[int]) -> list[EntryRow]:
    """The lines of a campaign's chains in these groups a leader can still act on by number
    (核销, 改单, 删单), in the order they were first seen."""
    return list(session.scalars(
        select(EntryRow).join(Chain, Chain.id == EntryRow.chain_id)
        .where(Chain.campaign_id == campaign_id, Chain.group_id.in_(group_ids), Chain.kind == ChainKind.CHAIN,
               EntryRow.status.in_(ACTIVE_ENTRY))
        .order_by(EntryRow.first_seen, EntryRow.id)
    ))


def missing_entry_count(session: Session, campaign_id: str) -> int:
    """Counted lines that a later copy of their chain lost (someone copied an older version)."""
    return session.scalar(
        select(func.count(func.distinct(EntryRow.id))).join(OrderItem, OrderItem.entry_id == EntryRow.id)
        .where(OrderItem.campaign_id == campaign_id, EntryRow.missing.is_(True), EntryRow.status == EntryStatus.OK)
    ) or 0


def unpicked(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[MemberOrder]:
    return [m for m in member_orders(session, campaign_id, group_ids) if not m.picked_up]


def entries_needing_review(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[ReviewLine]:
    rows = session.execute(
        select(OrderItem.group_id, OrderItem.member_id, EntryRow.member, EntryRow.author_name, OrderItem.text,
               OrderItem.status, OrderItem.reason)
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status.in_((ItemStatus.UNMATCHED, ItemStatus.REVIEW)),
               _in_groups(group_ids), EntryRow.status.in_((EntryStatus.OK, EntryStatus.REVIEW)))
        .order_by(OrderItem.first_seen, OrderItem.id)
    )
    return [ReviewLine(g, m, member or name or m, text, status, reason or "") for g, m, member, name, text, status, reason in rows]



def month_span(year: int, month: int, tz) -> tuple[datetime, datetime]:
    """The first instant of a calendar month in the platform's zone, and of the next."""
    return datetime(year, month, 1, tzinfo=tz), datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)


def monthly_periods(start: datetime, end: datetime, tz) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at the first instant of each month in between."""
    periods = []
    while start < end:
        upto = min(end, _month_of(start, tz)[1])
        periods.append((start, upto))
        start = upto
    return periods


def statement_periods(session: Session, tz, start: datetime | None = None, end: datetime | None = None,
                      leader_id: str | None = None) -> list[tuple[datetime, datetime]]:
    """The months that statements cover, cut by [start, end) where given. A bound not given is
    the month of the first (or last) counted order or adjustment; none at all: no period."""
    if start is None or end is None:
        first, last = _activity_span(session, leader_id)
        if first is None:
            if start is None and end is None:
                return []
            first = last = start or end - timedelta(microseconds=1)
        if start is None:
            start = _month_of(first if end is None else min(first, end - timedelta(microseconds=1)), tz)[0]
        if end is None:
            end = _month_of(max(last, start), tz)[1]
    return monthly_periods(start, end, tz)


def _month_of(moment: datetime, tz) -> tuple[datetime, datetime]:
    local = moment.astimezone(tz)
    return month_span(local.year, local.month, tz)


def _activity_span(session: Session, leader_id: str | None) -> tuple[datetime | None, datetime | None]:
    """The first and last moment that counts in a statement: an ok item first seen, an adjustment."""
    items = select(func.min(OrderItem.first_seen), func.max(OrderItem.first_seen)).where(OrderItem.status == ItemStatus.OK)
    adjustments = select(func.min(Adjustment.at), func.max(Adjustment.at))
    if leader_id is not None:
        items = items.where(OrderItem.leader_id == leader_id)
        adjustments = adjustments.where(Adjustment.leader_id == leader_id)
    moments = [m for pair in (session.execute(items).one(), session.execute(adjustments).one()) for m in pair
               if m is not None]
    return (min(moments), max(moments)) if moments else (None, None)


def leader_statement(session: Session, leader_id: str, start: datetime, end: datetime) -> Statement:
    """Orders and GMV counted by when items were first seen, in [start, end)."""
    return statements(session, start, end, leader_id=leader_id)[0]


def statements(session: Session, start: datetime, end: datetime, leader_id: str | None = None) -> list[Statement]:
    leaders = session.scalars(select(Leader).where(Leader.id == leader_id) if leader_id else select(Leader).order_by(Leader.id)).all()
    ids = [leader.id for leader in leaders]
    sales = {
        lid: (n, gmv)
        for lid, n, gmv in session.execute(
            select(OrderItem.leader_id, func.count(func.distinct(OrderItem.entry_id)), func.sum(OrderItem.amount))
            .where(OrderItem.leader_id.in_(ids), OrderItem.status == ItemStatus.OK,
                   OrderItem.first_seen >= start, OrderItem.first_seen < end)
            .group_by(OrderItem.leader_id)
        )
    }
    adjustments = {
        lid: total
        for lid, total in session.execute(
            select(Adjustment.leader_id, func.sum(Adjustment.amount))
            .where(Adjustment.leader_id.in_(ids), Adjustment.at >= start, Adjustment.at < end)
            .group_by(Adjustment.leader_id)
        )
    }
    out = []
    for leader in leaders:
        n, gmv = sales.get(leader.id, (0, ZERO))
        gmv = Decimal(gmv or 0)
        adj = Decimal(adjustments.get(leader.id) or 0)
        rate = commission_rate(session, leader)
        # Shortage refunds are already netted out of the items' amounts; adjustments are shown
        # for reconciliation, not subtracted twice.
        commission = (gmv * rate).quantize(Decimal("0.01"))
        out.append(Statement(leader.id, leader.name, start, end, n, gmv.quantize(Decimal("0.01")),
                             adj.quantize(Decimal("0.01")), rate, commission, commission))
    return out


def member_count(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> int:
    """How many member-and-group pairs have counted items: the “N单” of digests and reminders."""
    pairs = (
        select(OrderItem.group_id, OrderItem.member_id)
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status == ItemStatus.OK, _in_groups(group_ids))
        .distinct().subquery()
    )
    return session.scalar(select(func.count()).select_from(pairs)) or 0


def campaign_totals(session: Session, campaign_id: str) -> tuple[int, Decimal]:
    n, gmv = session.execute(
        select(func.count(func.distinct(OrderItem.entry_id)), func.coalesce(func.sum(OrderItem.amount), 0))
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status == ItemStatus.OK)
    ).one()
    return n, Decimal(gmv)


def group_totals(session: Session, campaign_id: str) -> list[tuple[int, str, int, Decimal]]:
    """Per group of a campaign: (group id, name, orders, GMV)."""
    rows = session.execute(
        select(Group.id, Group.name, func.count(func.distinct(OrderItem.entry_id)), func.sum(OrderItem.amount))
        .join(OrderItem, OrderItem.group_id == Group.id)
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status == ItemStatus.OK)
        .group_by(Group.id, Group.name).order_by(Group.id)
    )
    return [(gid, name, n, Decimal(gmv or 0)) for gid, name, n, gmv in rows]


def campaigns_between(session: Session, start: datetime, end: datetime) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.opens < end, Campaign.deadline >= start).order_by(Campaign.opens)))


@dataclass
class PlatformTotals:
    start: datetime
    end: datetime
    orders: int
    gmv: Decimal
    adjustments: Decimal
    commission: Decimal
    leaders: list[Statement]


def platform_totals(session: Session, start: datetime, end: datetime) -> PlatformTotals:
    """Every leader's statement for [start, end) and their sums (two grouped queries)."""
    rows = statements(session, start, end)
    return PlatformTotals(
        start, end, sum(s.orders for s in rows), sum((s.gmv for s in rows), ZERO),
        sum((s.adjustments for s in rows), ZERO), sum((s.commission for s in rows), ZERO), rows,
    )
