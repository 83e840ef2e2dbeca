"""Exports for admins: orders, pickup, procurement, statements, as CSV or xlsx.

`export` writes one kind; the orders export lives in its own module (`orders`), the formats
in `cells` (CSV) and `xlsx`, the filters in `filter`, the safe replacement of an output file
in `files`. Each kind is a column list and rows of typed values, so both formats write the
same table. Rows stream from the database, so a million order items never sit in memory at
once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import BinaryIO, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.exports.cells import (
    FORMULA_START,
    TIME_FORMAT,
    Labels,
    Progress,
    safe_cell,
    write_chunks,
    write_csv,
)
from storage.exports.filter import ExportFilter, FilterError, check_filter, filtered
from storage.exports.orders import (
    ORDER_COLUMNS,
    order_chunks,
    order_rows,
    write_orders,
    write_orders_joined,
)
from storage.exports.xlsx import write_xlsx
from storage.models import Campaign, Group, ItemStatus, OrderItem, ProductRow
from storage.reports import Statement, member_orders, statement_periods, statements, sum_statements

__all__ = [
    "FORMULA_START", "KINDS", "ORDER_COLUMNS", "PICKUP_COLUMNS", "PROCUREMENT_COLUMNS", "STATEMENT_COLUMNS",
    "TIME_FORMAT", "ExportFilter", "FilterError", "check_filter", "export", "order_chunks", "safe_cell",
    "write_chunks", "write_csv", "write_orders_joined",
]

KINDS = ("orders", "pickup", "procurement", "statements")
FORMATS = ("csv", "xlsx")

PICKUP_COLUMNS = ["campaign", "group", "member_id", "member", "address", "items", "amount", "picked_up", "order_no",
                  "paid"]
PROCUREMENT_COLUMNS = ["campaign", "sku", "product", "unit", "qty", "amount", "groups"]
# One row per leader, month and commission rate, each adding up on its own (gross +
# adjustments = net; net × commission_rate = commission = payable), then a totals row.
STATEMENT_COLUMNS = ["leader_id", "leader", "from", "to", "orders", "gross", "adjustments", "net",
                     "commission_rate", "commission", "payable"]
TOTAL = "total"  # the leader_id cell of the statements' totals row (the labels may name it)


def columns_of(kind: str) -> list[str]:
    return {"orders": ORDER_COLUMNS, "pickup": PICKUP_COLUMNS, "procurement": PROCUREMENT_COLUMNS,
            "statements": STATEMENT_COLUMNS}[kind]


def all_columns() -> set[str]:
    """Every column name of every export (what a header row of a previous export is made of)."""
    return {column for kind in KINDS for column in columns_of(kind)}


def rows_of(session: Session, kind: str, flt: ExportFilter, tz, labels: Labels = None) -> Iterator[tuple]:
    """A kind's rows as typed values, in the order of `columns_of(kind)`."""
    if kind == "orders":
        return order_rows(session, flt, tz)
    if kind == "pickup":
        return pickup_rows(session, flt)
    if kind == "procurement":
        return procurement_rows(session, flt)
    return statement_rows(session, flt, tz, (labels or {}).get(TOTAL, TOTAL))


def export(session: Session, kind: str, out: TextIO | BinaryIO, flt: ExportFilter, tz, *, fmt: str = "csv",
           labels: Labels = None, progress: Progress = None) -> int:
    """Write one export; returns its row count. CSV goes to a text file (UTF-8), xlsx to a
    binary one. `labels` renames header cells (by column name); `progress` hears the row count."""
    if kind not in KINDS:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        return write_xlsx(out, kind, columns_of(kind), rows_of(session, kind, flt, tz, labels), labels, progress)
    if kind == "orders":
        return write_orders(session, out, flt, tz, labels, progress)
    return write_csv(out, columns_of(kind), rows_of(session, kind, flt, tz, labels), labels, progress)


def pickup_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    for campaign_id in _campaign_ids(session, flt):
        groups = {g.id: g.name for g in session.scalars(select(Group))}
        group_ids = [g.id for g in session.scalars(select(Group).where(Group.leader_id == flt.leader))] if flt.leader else None
        for row in member_orders(session, campaign_id, group_ids):
            yield (campaign_id, groups.get(row.group_id, ""), row.member_id, row.member, row.address,
                   row.items_text, row.amount, row.picked_up, "、".join(map(str, row.numbers)), row.paid)


def procurement_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    query = filtered(
        select(OrderItem.campaign_id, OrderItem.sku, func.sum(OrderItem.qty), func.sum(OrderItem.amount),
               func.count(func.distinct(OrderItem.group_id)))
        .where(OrderItem.status == ItemStatus.OK, OrderItem.sku.is_not(None))
        .group_by(OrderItem.campaign_id, OrderItem.sku)
        .order_by(OrderItem.campaign_id, OrderItem.sku),
        flt,
    )
    products = {(p.campaign_id, p.sku): p for p in session.scalars(select(ProductRow))}
    for campaign, sku, qty, amount, groups in session.execute(query):
        product = products.get((campaign, sku))
        yield (campaign, sku, product.name if product else sku, product.unit if product else "",
               Decimal(qty), Decimal(amount), groups)


def statement_rows(session: Session, flt: ExportFilter, tz, total: str = TOTAL) -> Iterator[tuple]:
    """One row per leader, calendar month and commission rate (month-end reconciliation),
    within --from/--to; without them, every month from the first order or adjustment to the
    last. Then a totals row (its leader_id cell says `total`). Typed values, one per column."""
    rows = [s for start, end in statement_periods(session, tz, flt.start, flt.end, flt.leader)
            for s in statements(session, start, end, leader_id=flt.leader, campaign_id=flt.campaign)]
    for s in rows:
        yield _statement_cells(s, s.leader_id, s.leader, tz)
    if rows:
        summed = sum_statements(rows, total, "", rows[0].start, max(s.end for s in rows))
        summed.commission_rate = None  # a total has no single rate
        yield _statement_cells(summed, total, "", tz)


def _statement_cells(s: Statement, leader_id: str, leader: str, tz) -> tuple:
    return (leader_id, leader, _day_text(s.start, tz), _last_day_text(s.end, tz), s.orders, s.gross, s.adjustments,
            s.net, s.commission_rate, s.commission, s.payable)


def _day_text(moment: datetime, tz) -> date:
    """The local day a period starts on (CSV writes 2026-11-01; xlsx a date cell)."""
    return moment.astimezone(tz).date()


def _last_day_text(end: datetime, tz) -> date:
    """The last day a period [start, end) covers, as people write a range: to 11-30, not 12-01."""
    return (end.astimezone(tz) - timedelta(microseconds=1)).date()


def _campaign_ids(session: Session, flt: ExportFilter) -> list[str]:
    if flt.campaign:
        return [flt.campaign]
    query = select(Campaign.id).order_by(Campaign.opens)
    if flt.start:
        query = query.where(Campaign.deadline >= flt.start)
    if flt.end:
        query = query.where(Campaign.opens < flt.end)
    return list(session.scalars(query))
