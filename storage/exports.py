"""CSV exports for admins: orders, pickup, procurement, statements.

UTF-8 with a BOM so Excel opens Chinese text correctly; any text cell a spreadsheet would
run as a formula is prefixed with a quote. Rows stream from the database (yield_per), so
a million order items never sit in memory at once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Campaign, EntryRow, Group, OrderItem, ProductRow
from storage.reports import _num, member_orders, statements

KINDS = ("orders", "pickup", "procurement", "statements")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ORDER_COLUMNS = ["campaign", "group", "leader", "member_id", "member", "address", "entry_seq", "sku",
                 "product", "qty", "unit", "unit_price", "amount", "status", "note", "first_seen",
                 "last_changed"]
PICKUP_COLUMNS = ["campaign", "group", "member_id", "member", "address", "items", "amount", "picked_up"]
PROCUREMENT_COLUMNS = ["campaign", "sku", "product", "unit", "qty", "amount", "groups"]
STATEMENT_COLUMNS = ["leader_id", "leader", "from", "to", "orders", "gmv", "adjustments", "commission_rate",
                     "commission", "payable"]


@dataclass
class ExportFilter:
    campaign: str | None = None
    leader: str | None = None
    start: datetime | None = None  # first_seen >= start
    end: datetime | None = None  # first_seen < end


def safe_cell(value) -> str:
    """Text as a spreadsheet will show it, never as a formula it would run."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _money(value: Decimal) -> str:
    return _num(value) if value == value.to_integral_value() else str(value.normalize())


def write_csv(out: TextIO, columns: list[str], rows: Iterable[Iterable]) -> int:
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count


def export(session: Session, kind: str, out: TextIO, flt: ExportFilter, tz) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(KINDS)}")
    columns, rows = {
        "orders": (ORDER_COLUMNS, lambda: order_rows(session, flt, tz)),
        "pickup": (PICKUP_COLUMNS, lambda: pickup_rows(session, flt)),
        "procurement": (PROCUREMENT_COLUMNS, lambda: procurement_rows(session, flt)),
        "statements": (STATEMENT_COLUMNS, lambda: statement_rows(session, flt, tz)),
    }[kind]
    return write_csv(out, columns, rows())


def _filtered(query, flt: ExportFilter):
    if flt.campaign:
        query = query.where(OrderItem.campaign_id == flt.campaign)
    if flt.leader:
        query = query.where(OrderItem.leader_id == flt.leader)
    if flt.start:
        query = query.where(OrderItem.first_seen >= flt.start)
    if flt.end:
        query = query.where(OrderItem.first_seen < flt.end)
    return query


def order_rows(session: Session, flt: ExportFilter, tz) -> Iterator[tuple]:
    query = _filtered(
        select(OrderItem.campaign_id, Group.name, OrderItem.leader_id, OrderItem.member_id, EntryRow.member,
               EntryRow.author_name, EntryRow.address, EntryRow.seq, OrderItem.sku, OrderItem.product_name,
               OrderItem.text, OrderItem.qty, OrderItem.unit, OrderItem.unit_price, OrderItem.amount,
               OrderItem.status, EntryRow.note, OrderItem.reason, OrderItem.first_seen, OrderItem.last_changed)
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .join(Group, Group.id == OrderItem.group_id)
        .order_by(OrderItem.campaign_id, OrderItem.group_id, OrderItem.id),
        flt,
    ).execution_options(yield_per=5000)
    for (campaign, group, leader, member_id, member, author_name, address, seq, sku, product, text, qty, unit,
         unit_price, amount, status, note, reason, first_seen, last_changed) in session.execute(query):
        yield (campaign, group, leader, member_id, member or author_name, address, seq, sku, product or text,
               Decimal(qty), unit, Decimal(unit_price), Decimal(amount), status,
               "；".join(x for x in (note, reason) if x), first_seen.astimezone(tz), last_changed.astimezone(tz))


def pickup_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    for campaign_id in _campaign_ids(session, flt):
        groups = {g.id: g.name for g in session.scalars(select(Group))}
        group_ids = [g.id for g in session.scalars(select(Group).where(Group.leader_id == flt.leader))] if flt.leader else None
        for row in member_orders(session, campaign_id, group_ids):
            yield (campaign_id, groups.get(row.group_id, ""), row.member_id, row.member, row.address,
                   row.items_text, row.amount, row.picked_up)


def procurement_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    query = _filtered(
        select(OrderItem.campaign_id, OrderItem.sku, func.sum(OrderItem.qty), func.sum(OrderItem.amount),
               func.count(func.distinct(OrderItem.group_id)))
        .where(OrderItem.status == "ok", OrderItem.sku.is_not(None))
        .group_by(OrderItem.campaign_id, OrderItem.sku)
        .order_by(OrderItem.campaign_id, OrderItem.sku),
        flt,
    )
    products = {(p.campaign_id, p.sku): p for p in session.scalars(select(ProductRow))}
    for campaign, sku, qty, amount, groups in session.execute(query):
        product = products.get((campaign, sku))
        yield (campaign, sku, product.name if product else sku, product.unit if product else "",
               Decimal(qty), Decimal(amount), groups)


def statement_rows(session: Session, flt: ExportFilter, tz) -> Iterator[tuple]:
    start = flt.start or datetime(2000, 1, 1, tzinfo=tz)
    end = flt.end or datetime(2100, 1, 1, tzinfo=tz)
    for s in statements(session, start, end, leader_id=flt.leader):
        yield (s.leader_id, s.leader, start.date().isoformat(), end.date().isoformat(), s.orders, s.gmv,
               s.adjustments, s.commission_rate, s.commission, s.payable)


def _campaign_ids(session: Session, flt: ExportFilter) -> list[str]:
    if flt.campaign:
        return [flt.campaign]
    query = select(Campaign.id).order_by(Campaign.opens)
    if flt.start:
        query = query.where(Campaign.deadline >= flt.start)
    if flt.end:
        query = query.where(Campaign.opens < flt.end)
    return list(session.scalars(query))

