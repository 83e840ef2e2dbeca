"""CSV exports for admins: orders, pickup, procurement, statements.

UTF-8 with a BOM so Excel opens Chinese text correctly; any text cell a spreadsheet would
run as a formula is prefixed with a quote. Rows stream from the database in chunks, so a
million order items never sit in memory at once.

The orders export is the big one (a row per order item): the database formats every cell
(numbers, local times) and joins each row into one string, on SQLite a whole chunk of rows
into one value. Python only turns separators into commas, while a second thread reads the
next chunk. That keeps a million rows within a few seconds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TextIO

from sqlalchemy import (
    LargeBinary,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.types import NullType

from storage.fast import FastStatement
from storage.formatting import plain_number
from storage.models import Campaign, EntryRow, Group, ItemStatus, OrderItem, ProductRow
from storage.readahead import read_ahead
from storage.reports import Statement, member_orders, statement_periods, statements, sum_statements

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
KINDS = ("orders", "pickup", "procurement", "statements")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ORDER_COLUMNS = ["campaign", "group", "leader", "member_id", "member", "address", "entry_seq", "sku",
                 "product", "qty", "unit", "unit_price", "amount", "status", "note", "first_seen",
                 "last_changed", "order_no", "commission_rate", "paid"]
PICKUP_COLUMNS = ["campaign", "group", "member_id", "member", "address", "items", "amount", "picked_up", "order_no",
                  "paid"]
PROCUREMENT_COLUMNS = ["campaign", "sku", "product", "unit", "qty", "amount", "groups"]
# One row per leader, month and commission rate, each adding up on its own (gross +
# adjustments = net; net × commission_rate = commission = payable), then a totals row.
STATEMENT_COLUMNS = ["leader_id", "leader", "from", "to", "orders", "gross", "adjustments", "net",
                     "commission_rate", "commission", "payable"]
TOTAL = "total"  # the leader_id cell of the statements' totals row (a header mapping may name it)


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
        return plain_number(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# Where a cell of CSV text starts with a formula character (two patterns: each starts with
# a literal, which the regex engine scans for fast). A hit is only a candidate (it may sit
# inside a quoted cell); the chunk is then written again cell by cell.
_FORMULA_CELL = re.compile(r',"?[=+\-@\t\r]')
_FORMULA_LINE = re.compile(r'\n"?[=+\-@\t\r]')


def _maybe_formula(text: str) -> bool:
    return bool(_FORMULA_CELL.search(text) or _FORMULA_LINE.search(text) or text[:1] in FORMULA_START
                or text[1:2] in FORMULA_START)


def write_chunks(out: TextIO, columns: Sequence[str], chunks: Iterable[Sequence[Sequence]]) -> int:
    """Rows in chunks, written by the csv module in one call per chunk; a chunk that might
    hold a formula-like cell is written again through `safe_cell`. Values must be text,
    numbers or None (no Decimal or datetime: those go through `write_csv`)."""
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for chunk in chunks:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(chunk)
        text = buffer.getvalue()
        if _maybe_formula(text):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows([safe_cell(v) for v in row] for row in chunk)
            text = buffer.getvalue()
        out.write(text)
        count += len(chunk)
    return count


def write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[Iterable]) -> int:
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count


def export(session: Session, kind: str, out: TextIO, flt: ExportFilter, tz,
           headers: Mapping[str, str] | None = None) -> int:
    """Write one export as CSV. `headers`: column name → the header to print (e.g. Chinese);
    a column it does not name keeps its name."""
    if kind not in KINDS:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(KINDS)}")
    headers = headers or {}
    if kind == "orders":
        columns = _headed(ORDER_COLUMNS, headers)
        if session.get_bind().dialect.name == "postgresql" or _fixed_offset(tz) is not None:
            return write_orders_joined(session, out, flt, tz, columns=columns)
        return write_chunks(out, columns, order_chunks(session, flt, tz))
    columns, rows = {
        "pickup": (PICKUP_COLUMNS, lambda: pickup_rows(session, flt)),
        "procurement": (PROCUREMENT_COLUMNS, lambda: procurement_rows(session, flt)),
        "statements": (STATEMENT_COLUMNS, lambda: statement_rows(session, flt, tz, headers.get(TOTAL, TOTAL))),
    }[kind]
    return write_csv(out, _headed(columns, headers), rows())


def _headed(columns: list[str], headers: Mapping[str, str]) -> list[str]:
    return [headers.get(column, column) for column in columns]


def _filtered(query, flt: ExportFilter, indexed: bool = True):
    column = (lambda c: c) if indexed else _unindexed
    if flt.campaign:
        query = query.where(column(OrderItem.campaign_id) == flt.campaign)
    if flt.leader:
        query = query.where(column(OrderItem.leader_id) == flt.leader)
    if flt.start:
        query = query.where(column(OrderItem.first_seen) >= flt.start)
    if flt.end:
        query = query.where(column(OrderItem.first_seen) < flt.end)
    return query


def _unindexed(column):
    """`+column`, the same value, but SQLite no longer answers the condition from an index:
    a chunk of rows in id order is then read along the table, not sorted out of every
    matching index entry again for each chunk."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def order_chunks(session: Session, flt: ExportFilter, tz, size: int = 5000) -> Iterator[Sequence[Sequence]]:
    """The orders export in chunks of rows. The database formats numbers and local times
    and hands back raw values (no per-value conversion in Python)."""
    dialect = session.get_bind().dialect.name
    offset = _fixed_offset(tz)
    if dialect == "postgresql":
        # to_char prints times in the session's zone: this transaction's only.
        session.execute(select(func.set_config("TimeZone", tz.key, True)))
    query = _order_query(_order_cells(dialect, offset), flt)
    if dialect != "sqlite":
        result = session.connection().execute(query, execution_options={"yield_per": size})
        yield from result.partitions(size)
        return
    # SQLite: the rows come straight from the driver's cursor as plain tuples (SQLAlchemy's
    # Row objects would cost a third of the export); no cell needs a result processor.
    result = session.connection().execute(query)
    try:
        while chunk := result.cursor.fetchmany(size):
            if offset is None:
                # A zone with daylight saving: SQLite cannot know the offset, Python does it.
                chunk = [(*row[:15], _local(row[15], tz), _local(row[16], tz), *row[17:]) for row in chunk]
            yield chunk
    finally:
        result.close()


def _order_cells(dialect: str, offset: int | None) -> list:
    """The cells of an orders row (ORDER_COLUMNS) as SQL expressions (numbers and times formatted)."""
    note = func.coalesce(EntryRow.note, "")
    reason = func.coalesce(OrderItem.reason, "")
    paid = case((or_(EntryRow.paid.is_(True), EntryRow.paid_at.is_not(None)), "yes"), else_="no")
    return [
        OrderItem.campaign_id, Group.name, OrderItem.leader_id, OrderItem.member_id,
        func.coalesce(EntryRow.member, EntryRow.author_name), EntryRow.address, EntryRow.seq, OrderItem.sku,
        func.coalesce(OrderItem.product_name, OrderItem.text), _number_cell(OrderItem.qty, dialect),
        OrderItem.unit, _number_cell(OrderItem.unit_price, dialect), _number_cell(OrderItem.amount, dialect),
        OrderItem.status, case((note == "", reason), (reason == "", note), else_=note + "；" + reason),
        _time_cell(OrderItem.first_seen, dialect, offset), _time_cell(OrderItem.last_changed, dialect, offset),
        EntryRow.order_no, _number_cell(OrderItem.commission_rate, dialect), paid,
    ]


def _order_query(cells: list, flt: ExportFilter, indexed: bool = True):
    return _filtered(
        select(*cells)
        .join(EntryRow, EntryRow.id == OrderItem.entry_id)
        .join(Group, Group.id == OrderItem.group_id)
        # Item ids follow the order items were written in; a sort over a million rows would
        # cost more than the whole export.
        .order_by(OrderItem.id),
        flt,
        indexed,
    )


# The fast path: the database joins each row's cells with a unit separator into one
# string, Python turns separators into commas for a whole chunk at once. A row whose text
# needs CSV quoting (, " CR LF), could run as a formula, or holds a separator itself is
# written cell by cell instead.
_SEP, _ROW = "\x1f", "\x1e"
_NEEDS_CARE = re.compile('[,"\r\n]|[\x1e\x1f][=+\\-@\t]')
_CELLS = len(ORDER_COLUMNS)

# A chunk of the orders export: its row count, and either its rows' bytes, cells and rows
# joined by the separators, or its rows one by one (a joined line, or the cells of a row
# that does not split plainly at the separators).
_Chunk = tuple[int, bytes | list[str | Sequence]]


def write_orders_joined(session: Session, out: TextIO, flt: ExportFilter, tz, size: int = 5000,
                        columns: Sequence[str] = ORDER_COLUMNS) -> int:
    """The orders export, each row joined by the database (SQLite with a zone without
    daylight saving, or PostgreSQL). The next chunk is read on a second thread while this
    one is written."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        chunks = _postgres_chunks(connection, flt, tz, size)
    else:
        chunks = _sqlite_chunks(connection, flt, _fixed_offset(tz), size)
    header = "\ufeff" + ",".join(columns) + "\r\n"
    # Checks and replacements run on UTF-8 bytes (an ASCII byte never occurs inside a
    # multi-byte character), where searching is memchr-fast; a UTF-8 file gets them as is.
    raw = _utf8_buffer(out)
    if raw is None:
        out.write(header)
    else:
        out.flush()
        raw.write(header.encode())
    count = 0
    for rows, chunk in read_ahead(chunks, name="orders-export"):
        if isinstance(chunk, bytes):
            data = chunk.replace(b"\x1f", b",").replace(b"\x1e", b"\r\n") + b"\r\n"
        else:
            data = _careful_lines(chunk).encode()
        if raw is None:
            out.write(data.decode())
        else:
            raw.write(data)
        count += rows
    return count


def _sqlite_chunks(connection, flt: ExportFilter, offset: int, size: int) -> Iterator[_Chunk]:
    """Chunks of `size` rows in id order, each fetched as one value (SQLite's group_concat):
    one statement step a chunk instead of one a row, so the reading thread keeps the GIL
    released while SQLite works."""
    # Every chunk is read in one read transaction: the export is one snapshot of the
    # database however long it takes.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
    first, last = connection.execute(_filtered(select(func.min(OrderItem.id), func.max(OrderItem.id)), flt)).one()
    if first is None:
        return
    cells = _order_cells("sqlite", offset)
    rows = _order_query([OrderItem.id.label("id"), _printf_line(cells).label("line")], flt,
                        indexed=False).where(OrderItem.id > bindparam("after"), OrderItem.id <= bindparam("upto"))
    chunk = rows.limit(size).subquery()
    # As a BLOB: the driver hands over UTF-8 bytes as they are, no decoding and encoding again.
    text = type_coerce(cast(func.group_concat(chunk.c.line, _ROW), LargeBinary), NullType())
    chunk_query = select(func.count(), func.max(chunk.c.id), text)
    after = first - 1
    while after < last:
        count, upto, data = connection.execute(chunk_query, {"after": after, "upto": last}).one()
        if not count:
            return
        if _plain(data, count):
            yield count, data
        else:
            lines = connection.execute(rows, {"after": after, "upto": upto}).all()
            yield count, _careful_rows(connection, lines, offset)
        after = upto


def _postgres_chunks(connection, flt: ExportFilter, tz, size: int) -> Iterator[_Chunk]:
    """Chunks of `size` rows from one COPY (one statement: one snapshot). COPY hands over each
    row as the bytes of its text, cells joined by the unit separator: no Python object per
    cell, a third of the time a cursor takes."""
    # to_char prints times in the session's zone: this transaction's only.
    connection.execute(select(func.set_config("TimeZone", tz.key, True)))
    sql, params = FastStatement(_order_query(_order_cells("postgresql", None), flt)).bound(connection.dialect)
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT text, DELIMITER E'\\x1f', NULL '')"
    with connection.connection.cursor() as cursor, cursor.copy(copy_sql, params) as copy:
        lines: list = []
        for line in copy:
            lines.append(line)
            if len(lines) == size:
                yield _copied_chunk(lines)
                lines = []
        if lines:
            yield _copied_chunk(lines)


def _copied_chunk(lines: list) -> _Chunk:
    """COPY's lines (each ending in LF) as a chunk. COPY writes a backslash before any
    backslash, control character or separator inside a value, so a chunk without one splits
    plainly; the others are unescaped line by line."""
    data = b"".join(lines)
    if b"\\" not in data:
        joined = data[:-1].replace(b"\n", _ROW.encode())
        if _plain(joined, len(lines)):
            return len(lines), joined
    text = data.decode()
    return len(lines), [line if "\\" not in line else _copied_cells(line) for line in text.split("\n")[:-1]]


_COPY_TOKEN = re.compile("\\\\(.)|\x1f", re.S)
_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copied_cells(line: str) -> list[str]:
    """The cells of one COPY text line: split at separators that are not escaped, escapes undone."""
    cells, parts, start = [], [], 0
    for token in _COPY_TOKEN.finditer(line):
        parts.append(line[start:token.start()])
        escaped = token.group(1)
        if escaped is None:
            cells.append("".join(parts))
            parts = []
        else:
            parts.append(_COPY_ESCAPES.get(escaped, escaped))
        start = token.end()
    parts.append(line[start:])
    cells.append("".join(parts))
    return cells


def _printf_line(cells: list):
    """The cells of a row in one string, joined by the unit separator; SQLite's printf prints
    NULL as empty, and one call costs a third less than a chain of ||."""
    return type_coerce(func.printf(_SEP.join(["%s"] * len(cells)), *cells), NullType())


def _utf8_buffer(out: TextIO):
    buffer = getattr(out, "buffer", None)
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return buffer if buffer is not None and encoding in ("utf8", "utf8sig") else None


_FORMULA_BYTES = tuple(c.encode() for c in FORMULA_START)


def _plain(data: bytes, rows: int) -> bool:
    """True when the rows need no CSV quoting and no cell could run as a formula."""
    if data.count(b"\x1f") != (_CELLS - 1) * rows or data.count(b"\x1e") != rows - 1:
        return False  # a separator inside someone's text
    if b"," in data or b'"' in data or b"\r" in data or b"\n" in data:
        return False
    if data[:1] in _FORMULA_BYTES:
        return False
    return not any(ch in data and (b"\x1f" + ch in data or b"\x1e" + ch in data) for ch in _FORMULA_BYTES)


def _careful_rows(connection, lines, offset: int) -> list[str | Sequence]:
    """A chunk's rows as `_careful_lines` takes them: each joined line, except that a row whose
    text holds a separator is read again cell by cell."""
    rows: list[str | Sequence] = []
    for item_id, line in lines:
        if line.count(_SEP) == _CELLS - 1 and _ROW not in line:
            rows.append(line)
        else:
            rows.append(connection.execute(
                _order_query(_order_cells("sqlite", offset), ExportFilter()).where(OrderItem.id == item_id)).one())
    return rows


def _careful_lines(rows: list[str | Sequence]) -> str:
    """CSV for rows that are not all plain: plain lines as they are, the others through the
    csv module and `safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        if not isinstance(row, str):
            writer.writerow([safe_cell(cell) for cell in row])
        elif _NEEDS_CARE.search(row) is None and row[:1] not in FORMULA_START:
            buffer.write(row.replace(_SEP, ",") + "\r\n")
        else:
            writer.writerow([safe_cell(cell) for cell in row.split(_SEP)])
    return buffer.getvalue()


def _number_cell(column, dialect: str):
    """A decimal without trailing zeros (2, 9.9, 29.7), as the driver returns it."""
    if dialect == "postgresql":
        return cast(func.trim_scale(column), Text)
    # SQLite keeps 2.000 as the integer 2 and 9.9 as a real; skip the Decimal conversion.
    return type_coerce(column, NullType())


def _time_cell(column, dialect: str, offset: int | None):
    """Local time in the platform's zone, 2026-11-24 20:01:05 (a spreadsheet reads it as a
    date-time; ISO 8601 with an offset would stay text)."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24:MI:SS", type_=String)
    if offset is None:
        return type_coerce(column, NullType())
    return func.datetime(column, f"{offset:+d} minutes", type_=String)


def _fixed_offset(tz) -> int | None:
    """The zone's UTC offset in minutes when it has no daylight saving, else None."""
    offsets = {datetime(year, month, 1, tzinfo=tz).utcoffset() for year in (2000, 2026) for month in (1, 7)}
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() // 60)


def _local(value, tz) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime(TIME_FORMAT)


def pickup_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    for campaign_id in _campaign_ids(session, flt):
        groups = {g.id: g.name for g in session.scalars(select(Group))}
        group_ids = [g.id for g in session.scalars(select(Group).where(Group.leader_id == flt.leader))] if flt.leader else None
        for row in member_orders(session, campaign_id, group_ids):
            yield (campaign_id, groups.get(row.group_id, ""), row.member_id, row.member, row.address,
                   row.items_text, row.amount, row.picked_up, "、".join(map(str, row.numbers)), row.paid)


def procurement_rows(session: Session, flt: ExportFilter) -> Iterator[tuple]:
    query = _filtered(
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
    last. Then a totals row (its leader_id cell says `total`). Plain values, one per column."""
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


def _day_text(moment: datetime, tz) -> str:
    return moment.astimezone(tz).date().isoformat()


def _last_day_text(end: datetime, tz) -> str:
    """The last day a period [start, end) covers, as people write a range: to 11-30, not 12-01."""
    return (end.astimezone(tz) - timedelta(microseconds=1)).date().isoformat()


def _campaign_ids(session: Session, flt: ExportFilter) -> list[str]:
    if flt.campaign:
        return [flt.campaign]
    query = select(Campaign.id).order_by(Campaign.opens)
    if flt.start:
        query = query.where(Campaign.deadline >= flt.start)
    if flt.end:
        query = query.where(Campaign.opens < flt.end)
    return list(session.scalars(query))

