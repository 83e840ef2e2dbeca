"""The CSV layer every export writes through: cells a spreadsheet shows as text and never
runs as a formula, UTF-8 with a BOM so Excel opens Chinese text correctly."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from storage.formatting import plain_number

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def write_chunks(out: TextIO, columns: list[str], chunks: Iterable[Sequence[Sequence]]) -> int:
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


def write_csv(out: TextIO, columns: list[str], rows: Iterable[Iterable]) -> int:
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count
