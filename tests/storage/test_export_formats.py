"""Export formats: the xlsx read back with openpyxl equals the CSV cell for cell, with typed
cells (numbers as numbers, text as text — skus and rooms keep their zeros —, dates as dates);
Chinese headers; progress; files that are replaced only when they are previous exports
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import update

from storage.exports import (
    KINDS,
    ExportFilter,
    FilterError,
    all_columns,
    check_filter,
    columns_of,
    export,
)
from storage.exports.cells import safe_cell
from storage.exports.files import OutputError, check_output, is_previous_export, replacing
from storage.models import Adjustment, OrderItem, ProductRow
from tests.storage.helpers import GROUP, TZ, Feed, at, line, load
from tests.storage.test_exports import db  # noqa: F401  (the fixture: formula-like names, two groups, a late line)

LABELS = {"campaign": "活动", "member": "团员", "sku": "商品编码", "qty": "数量"}
BERLIN = ZoneInfo("Europe/Berlin")


def csv_rows(sessions, kind: str, flt=None, tz=TZ, labels=None) -> list[list[str]]:
    out = io.StringIO()
    with sessions() as session:
        export(session, kind, out, flt or ExportFilter(), tz, labels=labels)
    return list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))


def xlsx_sheet(sessions, kind: str, flt=None, tz=TZ, labels=None):
    out = io.BytesIO()
    with sessions() as session:
        count = export(session, kind, out, flt or ExportFilter(), tz, fmt="xlsx", labels=labels)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))[kind]
    assert sheet.max_row == count + 1
    return sheet


def as_csv(sheet) -> list[list[str]]:
    """The sheet's values as the CSV writes them (a spreadsheet keeps a date as a date-time
    shown as a date)."""
    return [[safe_cell(_value(cell)) for cell in row] for row in sheet.iter_rows()]


def _value(cell):
    if cell.is_date and cell.number_format == "yyyy-mm-dd":
        return cell.value.date()
    return cell.value


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tz", [TZ, BERLIN], ids=["fixed-offset", "daylight-saving"])
def test_xlsx_equals_csv(db, kind, tz):  # noqa: F811
    with db.begin() as session:
        session.add(Adjustment(leader_id="wxid_li", campaign_id="fruit-1124", amount=Decimal("-9.90"),
                               reason="缺货退款", at=at(12)))
    assert as_csv(xlsx_sheet(db, kind, tz=tz)) == csv_rows(db, kind, tz=tz)


@pytest.mark.parametrize("flt", [ExportFilter(campaign="fruit-1124"), ExportFilter(leader="wxid_zhou"),
                                 ExportFilter(start=at(10, 5), end=at(11))], ids=["campaign", "leader", "span"])
def test_xlsx_equals_csv_under_filters(db, flt):  # noqa: F811
    for kind in ("orders", "pickup", "procurement"):
        assert as_csv(xlsx_sheet(db, kind, flt)) == csv_rows(db, kind, flt)


def test_xlsx_cells_are_typed(db):  # noqa: F811
    orders = xlsx_sheet(db, "orders")
    header = [c.value for c in orders[1]]
    first = {name: cell for name, cell in zip(header, orders[2], strict=True)}
    assert first["member"].value == '=HYPERLINK("x")' and first["member"].data_type == "s"  # text, not a formula
    assert first["address"].value == "+86 3栋" and first["address"].data_type == "s"
    assert first["qty"].data_type == "n" and first["qty"].value == 2
    assert first["amount"].value == 30 and first["entry_seq"].value == 1
    assert first["first_seen"].is_date and first["first_seen"].value == datetime(2026, 11, 24, 10, 0)
    zhao = {name: cell.value for name, cell in zip(header, orders[4], strict=True)}
    assert (zhao["qty"], zhao["unit_price"], zhao["amount"]) == (2.5, 9.9, 24.75)
    statements = xlsx_sheet(db, "statements")
    header = [c.value for c in statements[1]]
    row = {name: cell for name, cell in zip(header, statements[2], strict=True)}
    assert row["from"].is_date and row["from"].value == datetime(2026, 11, 1)
    assert row["gross"].data_type == "n" and row["commission_rate"].value == 0.12
    pickup = xlsx_sheet(db, "pickup")
    assert pickup["H2"].value is False and pickup["H2"].data_type == "b"  # picked_up


def test_leading_zeros_and_odd_characters_survive_in_xlsx(sessions):
    load(sessions)
    feed = Feed(sessions)
    feed.chain("wxid_wang", [line(1, "王\x1b[31m姐\x07", ("XG01", 2), address="0502")], at(10))
    feed.chain("wxid_na", [line(1, "王\x1b[31m姐\x07", ("XG01", 2), address="0502"),
                           line(2, "#N/A", ("XG01", 1), address="=1+1")], at(11))
    with sessions.begin() as session:  # the sku a supplier numbers with leading zeros
        session.execute(update(ProductRow).where(ProductRow.sku == "XG01").values(sku="0012"))
        session.execute(update(OrderItem).where(OrderItem.sku == "XG01").values(sku="0012"))
    sheet = xlsx_sheet(sessions, "orders")
    header = [c.value for c in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert (row["sku"].value, row["sku"].data_type) == ("0012", "s")
    assert row["address"].value == "0502"
    assert row["member"].value == "王\ufffd[31m姐\ufffd"  # control characters an xlsx cannot hold
    na = {name: cell for name, cell in zip(header, sheet[3], strict=True)}
    assert (na["member"].value, na["member"].data_type) == ("#N/A", "s")
    assert (na["address"].value, na["address"].data_type) == ("=1+1", "s")
    assert as_csv(sheet) == csv_rows(sessions, "orders")[:1] + [
        [c.replace("\x1b", "\ufffd").replace("\x07", "\ufffd") for c in row] for row in csv_rows(sessions, "orders")[1:]]
    procurement = xlsx_sheet(sessions, "procurement")
    assert procurement["B2"].value == "0012" and procurement["B2"].data_type == "s"


def test_chinese_headers(db):  # noqa: F811
    for kind in KINDS:
        expected = [LABELS.get(c, c) for c in columns_of(kind)]
        assert csv_rows(db, kind, labels=LABELS)[0] == expected
        assert [c.value for c in xlsx_sheet(db, kind, labels=LABELS)[1]] == expected
        assert csv_rows(db, kind, labels=LABELS)[1:] == csv_rows(db, kind)[1:]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", KINDS)
def test_progress_hears_the_final_count(db, kind, fmt):  # noqa: F811
    heard: list[int] = []
    out = io.BytesIO() if fmt == "xlsx" else io.StringIO()
    with db() as session:
        count = export(session, kind, out, ExportFilter(), TZ, fmt=fmt, progress=heard.append)
    assert heard and heard[-1] == count and heard == sorted(heard)


def test_unknown_names_in_a_filter(db):  # noqa: F811
    with db() as session:
        check_filter(session, ExportFilter(campaign="fruit-1124", leader="wxid_li"))
        with pytest.raises(FilterError, match="unknown campaign 'fruit-1142' — did you mean fruit-1124"):
            check_filter(session, ExportFilter(campaign="fruit-1142"))
        with pytest.raises(FilterError, match=r"unknown leader 'x' \(known: wxid_li, wxid_zhou\)"):
            check_filter(session, ExportFilter(leader="x"))
        with pytest.raises(FilterError, match="the span is empty"):
            check_filter(session, ExportFilter(start=at(11), end=at(10)))


def test_an_empty_platform_names_no_campaign(sessions):
    with sessions() as session, pytest.raises(FilterError, match="there are none"):
        check_filter(session, ExportFilter(campaign="x"))


# --- output files ---------------------------------------------------------------------------

def test_previous_exports_are_recognised(db, tmp_path):  # noqa: F811
    headers = all_columns() | set(LABELS.values())
    for kind in KINDS:
        for fmt in ("csv", "xlsx"):
            path = tmp_path / f"{kind}.{fmt}"
            with replacing(path, binary=fmt == "xlsx") as out, db() as session:
                export(session, kind, out, ExportFilter(), TZ, fmt=fmt, labels=LABELS if kind == "pickup" else None)
            assert is_previous_export(path, headers), path
    (tmp_path / "empty.csv").write_bytes(b"")
    assert is_previous_export(tmp_path / "empty.csv", headers)
    others = {"plain.csv": b"campaign,qty\r\n1,2\r\n", "bom-other.csv": "\ufeffname,age\r\n".encode(),
              "book.xlsx": _foreign_workbook(), "zip.xlsx": b"PK\x03\x04junk", "db.sqlite": b"SQLite format 3\x00"}
    for name, data in others.items():
        (tmp_path / name).write_bytes(data)
        assert not is_previous_export(tmp_path / name, headers), name
        with pytest.raises(OutputError, match="not a jielong export"):
            check_output(tmp_path / name, headers)


def _foreign_workbook() -> bytes:
    book = openpyxl.Workbook()
    book.properties.creator = "someone"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_check_output_refuses_the_database_and_missing_folders(tmp_path):
    database = tmp_path / "x.db"
    database.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(OutputError, match="is the database itself"):
        check_output(tmp_path / "." / "x.db", set(), database)
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "no" / "x.csv", set())
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, set())
    check_output(tmp_path / "new.csv", set())  # a new file is fine


def test_replacing_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(path, binary=False) as out:
        out.write("new, half")
        raise RuntimeError("the export failed")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["orders.csv"]
    with replacing(path, binary=False) as out:
        out.write("new")
    assert path.read_text(encoding="utf-8") == "new"


def test_statement_periods_are_dates(db):  # noqa: F811
    from storage.exports import statement_rows

    with db() as session:
        rows = list(statement_rows(session, ExportFilter(), TZ))
    assert rows and all(isinstance(r[2], date) and isinstance(r[3], date) for r in rows)
    assert {r[2] for r in rows} == {date(2026, 11, 1)}
    assert GROUP  # the fixture's group is the one the rows come from


def test_rows_beyond_a_sheet_go_on_the_next_sheet():
    from storage.exports.xlsx import write_xlsx

    out = io.BytesIO()
    count = write_xlsx(out, "orders", ["n", "text"], ((i, f"r{i}") for i in range(7)), sheet_rows=3)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert count == 7 and book.sheetnames == ["orders", "orders 2", "orders 3"]
    assert [[c.value for c in row] for row in book["orders 3"].iter_rows()] == [["n", "text"], [6, "r6"]]
    assert [c.value for c in book["orders 2"]["A"]] == ["n", 3, 4, 5]
