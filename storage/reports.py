"""The read side: totals, per-member lists, pickup, statements — SQL aggregates, no row loops
over the whole table. Leaders' commands, summaries and exports all read through here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from storage.formatting import items_text
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
from storage.rates import RateHistory

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
    seqs: list[int] = field(default_factory=list)  # the numbers its lines last carried in the chain
    entry_ids: list[int] = field(default_factory=list)
    items: list[tuple[str, Decimal, str]] = field(default_factory=list)  # (name, qty, unit)
    amount: Decimal = ZERO
    picked_up: bool = False
    numbers: list[int] = field(default_factory=list)  # order numbers (stable; what leaders and lists use)
    paid: bool = False  # every order paid (已付 on the line, or marked by the leader)

    @property
    def items_text(self) -> str:
        return items_text(self.items)


@dataclass
class Statement:
    """What the platform owes a leader for a period, adding up on its own row:
    gross + adjustments = net, net × commission_rate = commission = payable.

    gross: what members ordered (counted items first seen in the period, at their prices
    then, before any shortage cut); adjustments: refunds and shortage cuts made in the
    period (negative); commission_rate: the rate in force when those orders were taken (one
    row per rate; None on a row summing several rates); payable: what the platform pays the
    leader, the commission (no other fees exist)."""

    leader_id: str
    leader: str
    start: datetime
    end: datetime
    orders: int
    gross: Decimal
    adjustments: Decimal
    net: Decimal
    commission_rate: Decimal | None
    commission: Decimal
    payable: Decimal
    rates: tuple[Decimal, ...] = ()  # every rate summed into this row

    @property
    def gmv(self) -> Decimal:
        """Sales after refunds: what the commission is paid on."""
        return self.net


def sum_statements(rows: list[Statement], leader_id: str, leader: str, start: datetime, end: datetime) -> Statement:
    """Rows on one line: sums, and the rate when they share one (None otherwise)."""
    rates = tuple(dict.fromkeys(rate for r in rows for rate in r.rates))
    return Statement(leader_id, leader, start, end, sum(r.orders for r in rows), sum((r.gross for r in rows), ZERO),
                     sum((r.adjustments for r in rows), ZERO), sum((r.net for r in rows), ZERO),
                     rates[0] if len(rates) == 1 else None, sum((r.commission for r in rows), ZERO),
                     sum((r.payable for r in rows), ZERO), rates)


@dataclass
class ReviewLine:
    group_id: int
    member_id: str
    member: str
    text: str
    status: str  # ItemStatus (unmatched, review), or FLAGGED
    reason: str  # the parser's words, or the FlagKind value of a flagged line
    number: int | None = None  # the order's number, when it is one


FLAGGED = "flag"  # ReviewLine.status of a line the parser flagged (reason: the FlagKind value)



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
               OrderItem.qty, OrderItem.unit, OrderItem.amount, EntryRow.order_no, _PAID)
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
    paid: dict[tuple[int, str], list[bool]] = defaultdict(list)
    for (entry_id, seq, author, member, author_name, address, picked_at, group_id, name, qty, unit,
         amount, number, entry_paid) in session.execute(query):
        key = (group_id, author)
        row = members.get(key)
        if row is None:
            row = members[key] = MemberOrder(group_id, author, member or author_name or author, address or "")
        if entry_id not in row.entry_ids:
            row.entry_ids.append(entry_id)
            row.seqs.append(seq)
            if number is not None:
                row.numbers.append(number)
            picked[key].append(picked_at is not None)
            paid[key].append(bool(entry_paid))
        totals[key][(name, unit)] = totals[key].get((name, unit), ZERO) + Decimal(qty)
        row.amount += Decimal(amount)
    for key, row in members.items():
        row.items = [(name, qty, unit) for (name, unit), qty in totals[key].items()]
        row.picked_up = all(picked[key])
        row.paid = all(paid[key])
    return list(members.values())


# Paid: 已付 written on the line, or the leader's mark (a later edit of the line keeps it).
_PAID = or_(EntryRow.paid.is_(True), EntryRow.paid_at.is_not(None))


@dataclass
class OrderLine:
    """One order (a member's line) with its counted items: what 未付 and 核销 name by number."""

    entry_id: int
    group_id: int
    number: int | None
    member_id: str
    member: str
    address: str
    items: list[tuple[str, Decimal, str]] = field(default_factory=list)
    amount: Decimal = ZERO
    paid: bool = False
    picked_up: bool = False


def order_lines(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[OrderLine]:
    """Each counted order of a campaign in these groups, by number (groups in id order)."""
    query = (
        select(EntryRow.id, Chain.group_id, EntryRow.order_no, EntryRow.author_id, EntryRow.member,
               EntryRow.author_name, EntryRow.address, _PAID, EntryRow.picked_up_at, OrderItem.product_name,
               OrderItem.qty, OrderItem.unit, OrderItem.amount)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .join(OrderItem, and_(OrderItem.entry_id == EntryRow.id, OrderItem.status == ItemStatus.OK))
        .where(OrderItem.campaign_id == campaign_id, _in_groups(group_ids))
        .order_by(Chain.group_id, EntryRow.order_no, EntryRow.first_seen, EntryRow.id, OrderItem.id)
    )
    lines: dict[int, OrderLine] = {}
    for (entry_id, group_id, number, author, member, author_name, address, paid, picked_at, name, qty, unit,
         amount) in session.execute(query):
        line = lines.get(entry_id)
        if line is None:
            line = lines[entry_id] = OrderLine(entry_id, group_id, number, author, member or author_name or author,
                                               address or "", paid=bool(paid), picked_up=picked_at is not None)
        line.items.append((name, Decimal(qty), unit))
        line.amount += Decimal(amount)
    return list(lines.values())


def leader_entries(session: Session, campaign_id: str, group_ids: list[int]) -> list[tuple[EntryRow, int]]:
    """The orders of a campaign's chains in these groups a leader can still act on by number,
    name or room (核销, 改单, 删单, 已付), with their group id, in the order first seen."""
    return [(entry, group_id) for entry, group_id in session.execute(
        select(EntryRow, Chain.group_id).join(Chain, Chain.id == EntryRow.chain_id)
        .where(Chain.campaign_id == campaign_id, Chain.group_id.in_(group_ids), Chain.kind == ChainKind.CHAIN,
               EntryRow.status.in_(ACTIVE_ENTRY))
        .order_by(EntryRow.first_seen, EntryRow.id)
    )]


def missing_entry_count(session: Session, campaign_id: str) -> int:
    """Counted lines that a later copy of their chain lost (someone copied an older version)."""
    return session.scalar(
        select(func.count(func.distinct(EntryRow.id))).join(OrderItem, OrderItem.entry_id == EntryRow.id)
        .where(OrderItem.campaign_id == campaign_id, EntryRow.missing.is_(True), EntryRow.status == EntryStatus.OK)
    ) or 0


def unpicked(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[MemberOrder]:
    return [m for m in member_orders(session, campaign_id, group_ids) if not m.picked_up]


def entries_needing_review(session: Session, campaign_id: str, group_ids: list[int] | None = None) -> list[ReviewLine]:
    """What the leader should look at: items no product fits, changes to someone else's line,
    and what the parser flagged on a counted line (one per flag), in the order first seen."""
    rows = session.execute(
        select(OrderItem.group_id, OrderItem.member_id, EntryRow.member, EntryRow.author_name, OrderItem.text,
               OrderItem.status, OrderItem.reason, EntryRow.order_no, OrderItem.first_seen, OrderItem.id)
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .where(OrderItem.campaign_id == campaign_id, OrderItem.status.in_((ItemStatus.UNMATCHED, ItemStatus.REVIEW)),
               _in_groups(group_ids), EntryRow.status.in_((EntryStatus.OK, EntryStatus.REVIEW)))
    )
    found = [((seen, 0, item_id), ReviewLine(g, m, member or name or m, text, status, reason or "", number))
             for g, m, member, name, text, status, reason, number, seen, item_id in rows]
    flagged = session.execute(
        select(Chain.group_id, EntryRow.author_id, EntryRow.member, EntryRow.author_name, EntryRow.flags,
               EntryRow.order_no, EntryRow.first_seen, EntryRow.id)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .where(Chain.campaign_id == campaign_id, EntryRow.status == EntryStatus.OK, EntryRow.flags.is_not(None),
               Chain.group_id.in_(group_ids) if group_ids is not None else True)
    )
    for g, m, member, name, flags, number, seen, entry_id in flagged:
        found += [((seen, 1, entry_id), ReviewLine(g, m, member or name or m, flag.get("text", ""), FLAGGED,
                                                   flag.get("kind", ""), number)) for flag in flags or ()]
    return [line for _key, line in sorted(found, key=lambda pair: pair[0])]



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
    """A leader's period on one line (the sum of their rows; the rate None when it changed)."""
    rows = statements(session, start, end, leader_id=leader_id)
    leader = session.get(Leader, leader_id)
    return sum_statements(rows, leader_id, leader.name if leader else leader_id, start, end)


def statements(session: Session, start: datetime, end: datetime, leader_id: str | None = None,
               campaign_id: str | None = None) -> list[Statement]:
    """One row per leader and commission rate for [start, end) (a leader without orders: one
    row of zeros at the rate in force then), leaders in id order, rates in the order used."""
    leaders = session.scalars(select(Leader).where(Leader.id == leader_id) if leader_id else select(Leader).order_by(Leader.id)).all()
    ids = [leader.id for leader in leaders]
    histories = RateHistory.load_many(session, ids)
    gross = _gross_by_rate(session, ids, start, end, campaign_id)
    adjustments = _adjustments_by_rate(session, ids, start, end, campaign_id, histories)
    out = []
    for leader in leaders:
        rates = sorted({rate for lid, rate in (*gross, *adjustments) if lid == leader.id})
        if not rates:
            rates = [_rate(histories[leader.id].rate_at(start))]
        for rate in rates:
            orders, sold = gross.get((leader.id, rate), (0, ZERO))
            adjusted = adjustments.get((leader.id, rate), ZERO)
            net = sold + adjusted
            commission = (net * rate).quantize(CENT)
            out.append(Statement(leader.id, leader.name, start, end, orders, sold.quantize(CENT), adjusted.quantize(CENT),
                                 net.quantize(CENT), rate, commission, commission, (rate,)))
    return out


CENT = Decimal("0.01")


def _gross_by_rate(session: Session, leader_ids: list[str], start: datetime, end: datetime,
                   campaign_id: str | None) -> dict[tuple[str, Decimal], tuple[int, Decimal]]:
    """(leader, rate) → (orders, gross) of the items first seen in [start, end): counted items
    at what they were ordered for (a shortage cut is added back: it is an adjustment of the
    month it was made in), and items a shortage cut to nothing (still an order taken)."""
    refunded = (select(Adjustment.order_item_id.label("item_id"), func.sum(Adjustment.amount).label("refund"))
                .where(Adjustment.order_item_id.is_not(None)).group_by(Adjustment.order_item_id).subquery())
    refund = func.coalesce(refunded.c.refund, 0)
    cut_to_nothing = and_(OrderItem.status == ItemStatus.CANCELLED, refunded.c.refund.is_not(None), OrderItem.qty == 0)
    query = (
        select(OrderItem.leader_id, OrderItem.commission_rate,
               func.count(func.distinct(OrderItem.entry_id)),
               func.sum(OrderItem.amount - refund))
        .outerjoin(refunded, refunded.c.item_id == OrderItem.id)
        .where(OrderItem.leader_id.in_(leader_ids), or_(OrderItem.status == ItemStatus.OK, cut_to_nothing),
               OrderItem.first_seen >= start, OrderItem.first_seen < end)
        .group_by(OrderItem.leader_id, OrderItem.commission_rate)
    )
    if campaign_id is not None:
        query = query.where(OrderItem.campaign_id == campaign_id)
    return {(lid, _rate(rate)): (n, Decimal(total or 0)) for lid, rate, n, total in session.execute(query)}


def _adjustments_by_rate(session: Session, leader_ids: list[str], start: datetime, end: datetime,
                         campaign_id: str | None, histories: dict[str | None, RateHistory]
                         ) -> dict[tuple[str, Decimal], Decimal]:
    """(leader, rate) → refunds and shortage cuts made in [start, end), at the rate of the
    order they correct (one without an order: the rate in force when it was made)."""
    query = (
        select(Adjustment.leader_id, OrderItem.commission_rate, Adjustment.at, Adjustment.amount)
        .outerjoin(OrderItem, OrderItem.id == Adjustment.order_item_id)
        .where(Adjustment.leader_id.in_(leader_ids), Adjustment.at >= start, Adjustment.at < end)
        .order_by(Adjustment.id)
    )
    if campaign_id is not None:
        query = query.where(Adjustment.campaign_id == campaign_id)
    out: dict[tuple[str, Decimal], Decimal] = {}
    for lid, rate, when, amount in session.execute(query):
        if rate is None:
            rate = histories[lid].rate_at(when)
        key = (lid, _rate(rate))
        out[key] = out.get(key, ZERO) + Decimal(amount)
    return out


def _rate(value) -> Decimal:
    """A stored rate as one Decimal per value (0.12 and 0.1200 are one rate)."""
    return Decimal(str(value)).quantize(Decimal("0.0001")).normalize()


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
    gross: Decimal
    adjustments: Decimal
    net: Decimal
    commission: Decimal
    leaders: list[Statement]

    @property
    def gmv(self) -> Decimal:
        return self.net


def platform_totals(session: Session, start: datetime, end: datetime) -> PlatformTotals:
    """Every leader's statement rows for [start, end) and their sums."""
    rows = statements(session, start, end)
    return PlatformTotals(
        start, end, sum(s.orders for s in rows), sum((s.gross for s in rows), ZERO),
        sum((s.adjustments for s in rows), ZERO), sum((s.net for s in rows), ZERO),
        sum((s.commission for s in rows), ZERO), rows,
    )
