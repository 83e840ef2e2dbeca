"""The orders export: a row per order item, the big one (a million rows within a few seconds).

The database formats every cell (numbers, local times) and joins each row into one string,
on SQLite a whole chunk of rows into one value. Python only turns separators into commas,
while a second thread reads the next chunk. The invariant the file rests on: a chunk is
written as raw bytes only when `_plain` proves that no cell needs quoting or could run as a
formula; every other chunk goes through the csv module and `safe_cell`.

Three routes: `write_orders_joined` (SQLite in a zone without daylight saving: printf and
group_concat; PostgreSQL: COPY), and `order_chunks` (SQLite in a zone with daylight saving,
where Python converts the times).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
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
from sqlalchemy.types import NullType

from storage.exports.cells import (
    FORMULA_START,
    TIME_FORMAT,
    Labels,
    Progress,
    header_line,
    safe_cell,
    write_chunks,
)
from storage.exports.filter import ExportFilter, filtered
from storage.fast import FastStatement
from storage.models import EntryRow, Group, OrderItem
from storage.readahead import read_ahead

ORDER_COLUMNS = ["campaign", "group", "leader", "member_id", "member", "address", "entry_seq", "sku",
                 "product", "qty", "unit", "unit_price", "amount", "status", "note", "first_seen",
                 "last_changed", "order_no", "commission_rate", "paid"]


def write_orders(session: Session, out: TextIO, flt: ExportFilter, tz, labels: Labels = None,
                 progress: Progress = None) -> int:
    """The orders export as CSV, by the fastest route this database and zone allow."""
    if session.get_bind().dialect.name == "postgresql" or _fixed_offset(tz) is not None:
        return write_orders_joined(session, out, flt, tz, labels=labels, progress=progress)
    return write_chunks(out, ORDER_COLUMNS, order_chunks(session, flt, tz), labels, progress)


def order_rows(session: Session, flt: ExportFilter, tz, size: int = 5000) -> Iterator[tuple]:
    """The orders export as typed values (quantities and money as Decimal, times as local
    datetimes), for the xlsx route; the same rows and order as the CSV."""
    query = _order_query([
        OrderItem.campaign_id, Group.name, OrderItem.leader_id, OrderItem.member_id,
        func.coalesce(EntryRow.member, EntryRow.author_name), EntryRow.address, EntryRow.seq, OrderItem.sku,
        func.coalesce(OrderItem.product_name, OrderItem.text), OrderItem.qty, OrderItem.unit,
        OrderItem.unit_price, OrderItem.amount, OrderItem.status, EntryRow.note, OrderItem.reason,
        OrderItem.first_seen, OrderItem.last_changed, EntryRow.order_no, OrderItem.commission_rate, _paid_cell(),
    ], flt)
    for row in session.execute(query, execution_options={"yield_per": size}):
        *cells, note, reason, first_seen, last_changed, order_no, rate, paid = row
        yield (*cells, "；".join(x for x in (note, reason) if x), _local_time(first_seen, tz),
               _local_time(last_changed, tz), order_no, rate, paid)


def _paid_cell():
    """"yes" once the member or the leader marked the order paid (已付)."""
    return case((or_(EntryRow.paid.is_(True), EntryRow.paid_at.is_not(None)), "yes"), else_="no")


def _local_time(value: datetime, tz) -> datetime:
    return value.astimezone(tz).replace(tzinfo=None)


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
    return [
        OrderItem.campaign_id, Group.name, OrderItem.leader_id, OrderItem.member_id,
        func.coalesce(EntryRow.member, EntryRow.author_name), EntryRow.address, EntryRow.seq, OrderItem.sku,
        func.coalesce(OrderItem.product_name, OrderItem.text), _number_cell(OrderItem.qty, dialect),
        OrderItem.unit, _number_cell(OrderItem.unit_price, dialect), _number_cell(OrderItem.amount, dialect),
        OrderItem.status, case((note == "", reason), (reason == "", note), else_=note + "；" + reason),
        _time_cell(OrderItem.first_seen, dialect, offset), _time_cell(OrderItem.last_changed, dialect, offset),
        EntryRow.order_no, _number_cell(OrderItem.commission_rate, dialect), _paid_cell(),
    ]


def _order_query(cells: list, flt: ExportFilter, indexed: bool = True):
    return filtered(
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
                        labels: Labels = None, progress: Progress = None) -> int:
    """The orders export, each row joined by the database (SQLite with a zone without
    daylight saving, or PostgreSQL). The next chunk is read on a second thread while this
    one is written."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        chunks = _postgres_chunks(connection, flt, tz, size)
    else:
        chunks = _sqlite_chunks(connection, flt, _fixed_offset(tz), size)
    header = header_line(ORDER_COLUMNS, labels)
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
        if progress:
            progress(count)
    return count


def _sqlite_chunks(connection, flt: ExportFilter, offset: int, size: int) -> Iterator[_Chunk]:
    """Chunks of `size` rows in id order, each fetched as one value (SQLite's group_concat):
    one statement step a chunk instead of one a row, so the reading thread keeps the GIL
    released while SQLite works."""
    # Every chunk is read in one read transaction: the export is one snapshot of the
    # database however long it takes.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
    first, last = connection.execute(filtered(select(func.min(OrderItem.id), func.max(OrderItem.id)), flt)).one()
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
