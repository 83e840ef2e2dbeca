"""The xlsx layer (openpyxl, write-only: rows stream to the file): typed cells an accountant
can add up — numbers as numbers, dates and times as dates, every text as text (a sku "0012"
keeps its zeros, "=1+1" is never a formula).

Generic over a column list and rows of typed values, like the CSV layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from storage.exports.cells import PROGRESS_EVERY, Labels, Progress, header_row

CREATOR = "jielong"  # in the file's properties: how a later export knows it may replace the file
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
MIN_WIDTH, MAX_WIDTH = 10, 40


def write_xlsx(out: BinaryIO, sheet: str, columns: Sequence[str], rows: Iterable[Sequence],
               labels: Labels = None, progress: Progress = None) -> int:
    """One sheet: a bold, frozen header row, then the rows. Times must be local (naive or
    aware: the zone is dropped, as a spreadsheet has none)."""
    book = Workbook(write_only=True)
    book.properties.creator = CREATOR
    ws = book.create_sheet(sheet)
    headers = header_row(columns, labels)
    ws.freeze_panes = "A2"
    # Write-only sheets take their widths before the first row: guessed from the headers.
    for i, text in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, max(MIN_WIDTH, _width(text) + 2))
    ws.append([_header_cell(ws, text) for text in headers])
    count = 0
    for count, row in enumerate(rows, start=1):
        ws.append([_cell(ws, value) for value in row])
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress:
        progress(count)
    book.save(out)
    return count


def _header_cell(ws, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=_clean(text))
    cell.data_type = "s"
    cell.font = Font(bold=True)
    return cell


def _cell(ws, value):
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=value.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    cell = WriteOnlyCell(ws, value=_clean(str(value)))
    cell.data_type = "s"  # text, even when it starts with "=" (openpyxl would make it a formula)
    cell.number_format = TEXT_FORMAT
    return cell


def _clean(text: str) -> str:
    """Control characters an xlsx file cannot hold (a nickname with ESC or BEL) become U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are double width
