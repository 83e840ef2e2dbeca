"""The CSV layer every export writes through: cells a spreadsheet shows as text and never
runs as a formula, UTF-8 with a BOM so Excel opens Chinese text correctly.

Writers are generic over a column list and rows of typed values (text, Decimal, int, bool,
date, datetime, None); `labels` renames the header row (the Chinese headers), `progress` is
told the running row count now and then (the command line draws a bar with it)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from storage.formatting import plain_number

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
PROGRESS_EVERY = 1000  # rows between progress calls of the row-by-row writers

Labels = Mapping[str, str] | None
Progress = Callable[[int], None] | None


def header_row(columns: Sequence[str], labels: Labels = None) -> list[str]:
    """The header cells: each column's label where one is given, else its name."""
    return [labels.get(c, c) for c in columns] if labels else list(columns)


def header_line(columns: Sequence[str], labels: Labels = None) -> str:
    """The first line of a CSV export: the BOM and the header row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(header_row(columns, labels))
    return BOM + buffer.getvalue()


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
    if isinstance(value, date):
        return value.isoformat()
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


def write_chunks(out: TextIO, columns: list[str], chunks: Iterable[Sequence[Sequence]], labels: Labels = None,
                 progress: Progress = None) -> int:
    """Rows in chunks, written by the csv module in one call per chunk; a chunk that might
    hold a formula-like cell is written again through `safe_cell`. Values must be text,
    numbers or None (no Decimal or datetime: those go through `write_csv`)."""
    out.write(header_line(columns, labels))
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
        if progress:
            progress(count)
    return count


def write_csv(out: TextIO, columns: list[str], rows: Iterable[Iterable], labels: Labels = None,
              progress: Progress = None) -> int:
    out.write(header_line(columns, labels))
    writer = csv.writer(out, lineterminator="\r\n")
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress:
        progress(count)
    return count
