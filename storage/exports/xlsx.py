"""The xlsx layer (openpyxl, write-only: rows stream to the file): typed cells an accountant
can add up — numbers as numbers, dates and times as dates, every text as text (a sku "0012"
keeps its zeros, "=1+1" is never a formula).

Generic over a column list and rows of typed values, like the CSV layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from storage.exports.cells import PROGRESS_EVERY, Labels, Progress, header_row

CREATOR = "jielong"  # in the file's properties: how a later export knows it may replace the file
MIN_WIDTH, MAX_WIDTH = 10, 40
MAX_SHEET_ROWS = 1_048_575  # a sheet's rows, less the header


def write_xlsx(out: BinaryIO, sheet: str, columns: Sequence[str], rows: Iterable[Sequence],
               labels: Labels = None, progress: Progress = None, sheet_rows: int = MAX_SHEET_ROWS) -> int:
    """Sheets of a bold, frozen header row and up to `sheet_rows` rows each (a spreadsheet
    holds 1,048,576 rows a sheet: more go on "orders 2", "orders 3" …). Times must be local
    (naive or aware: the zone is dropped, as a spreadsheet has none)."""
    book = Workbook(write_only=True)
    book.properties.creator = CREATOR
    headers = header_row(columns, labels)
    ws = _new_sheet(book, sheet, headers)
    count = 0
    for count, row in enumerate(rows, start=1):
        if count > 1 and (count - 1) % sheet_rows == 0:
            ws = _new_sheet(book, f"{sheet} {(count - 1) // sheet_rows + 1}", headers)
        ws.append([_cell(ws, value) for value in row])
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress:
        progress(count)
    book.save(out)
    return count


def _new_sheet(book: Workbook, title: str, headers: list[str]):
    ws = book.create_sheet(title)
    ws.freeze_panes = "A2"
    # Write-only sheets take their widths before the first row: guessed from the headers.
    for i, text in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, max(MIN_WIDTH, _width(text) + 2))
    ws.append([_header_cell(ws, text) for text in headers])
    return ws


def _header_cell(ws, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=_clean(text))
    cell.data_type = "s"
    cell.font = Font(bold=True)
    return cell


def _cell(ws, value):
    """A plain value where openpyxl types it right by itself (numbers, dates and date-times get
    its date formats); a cell object only for text it would take for a formula, or that holds
    characters an xlsx cannot. Most cells are plain: a cell object costs several times more."""
    if isinstance(value, str):
        if value[:1] == "=" or value in ERROR_CODES or _ILLEGAL(value):
            cell = WriteOnlyCell(ws, value=_clean(value))
            cell.data_type = "s"  # text, even "=1+1" or "#N/A" (openpyxl would make a formula or an error)
            return cell
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


_ILLEGAL = ILLEGAL_CHARACTERS_RE.search


def _clean(text: str) -> str:
    """Control characters an xlsx file cannot hold (a nickname with ESC or BEL) become U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are double width
