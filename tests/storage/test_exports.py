"""CSV exports: columns, BOM, formula neutralisation, filters (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from storage.exports import (
    ORDER_COLUMNS,
    PICKUP_COLUMNS,
    PROCUREMENT_COLUMNS,
    STATEMENT_COLUMNS,
    ExportFilter,
    export,
    order_chunks,
    safe_cell,
    write_chunks,
    write_orders_joined,
)
from storage.exports.orders import _copied_cells
from storage.models import Adjustment, OrderItem
from tests.storage.helpers import GROUP, GROUP2, SETUP, TZ, Feed, at, line, load

SECOND = SETUP + """
[[campaigns]]
id = "veg-1126"
title = "周四蔬菜团"
opens = 2026-11-26T09:00:00+08:00
deadline = 2026-11-26T22:00:00+08:00
[[campaigns.products]]
sku = "BC01"
name = "大白菜"
price = 3
unit = "颗"
"""


@pytest.fixture
def db(sessions):
    load(sessions, SECOND)
    feed = Feed(sessions)
    copy = [line(1, "=HYPERLINK(\"x\")", ("XG01", 2), address="+86 3栋")]
    feed.chain("wxid_wang", copy, at(10))
    copy.append(line(2, "李四, 二楼", ("PT01", 1), extra="@门口见"))
    feed.chain("wxid_si", copy, at(10, 5))
    copy.append(line(3, "-赵哥", ("JZ01", 2.5)))
    feed.chain("wxid_zhao", copy, at(10, 10))
    copy.append(line(4, "晚到", ("XG01", 1)))
    feed.chain("wxid_late", copy, at(23))
    Feed(sessions, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    return sessions


def run(sessions, kind: str, flt: ExportFilter | None = None, tz=TZ) -> tuple[str, list[dict]]:
    out = io.StringIO()
    with sessions() as session:
        count = export(session, kind, out, flt or ExportFilter(), tz)
    text = out.getvalue()
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert count == len(rows)
    return text, rows


@pytest.mark.parametrize(("kind", "columns"), [
    ("orders", ORDER_COLUMNS), ("pickup", PICKUP_COLUMNS), ("procurement", PROCUREMENT_COLUMNS),
    ("statements", STATEMENT_COLUMNS)], ids=["orders", "pickup", "procurement", "statements"])
def test_columns_and_bom(db, kind, columns):
    text, _rows = run(db, kind)
    assert text.startswith("\ufeff")
    assert text.removeprefix("\ufeff").split("\r\n", 1)[0] == ",".join(columns)


def test_contract_column_lists():
    assert ORDER_COLUMNS == ["campaign", "group", "leader", "member_id", "member", "address", "entry_seq", "sku",
                             "product", "qty", "unit", "unit_price", "amount", "status", "note", "first_seen",
                             "last_changed", "order_no", "commission_rate", "paid"]
    assert PICKUP_COLUMNS == ["campaign", "group", "member_id", "member", "address", "items", "amount", "picked_up",
                              "order_no", "paid"]
    assert PROCUREMENT_COLUMNS == ["campaign", "sku", "product", "unit", "qty", "amount", "groups"]
    assert STATEMENT_COLUMNS == ["leader_id", "leader", "from", "to", "orders", "gross", "adjustments", "net",
                                 "commission_rate", "commission", "payable"]


def test_orders_rows(db):
    _text, rows = run(db, "orders")
    assert [(r["member_id"], r["sku"], r["qty"], r["unit_price"], r["amount"], r["status"]) for r in rows] == [
        ("wxid_wang", "XG01", "2", "15", "30", "ok"),
        ("wxid_si", "PT01", "1", "25", "25", "ok"),
        ("wxid_zhao", "JZ01", "2.5", "9.9", "24.75", "ok"),
        ("wxid_late", "XG01", "1", "15", "15", "late"),
        ("wxid_qian", "XG01", "4", "15", "60", "ok"),
    ]
    first = rows[0]
    assert (first["campaign"], first["group"], first["leader"], first["entry_seq"], first["product"],
            first["unit"]) == ("fruit-1124", GROUP, "wxid_li", "1", "麒麟西瓜", "个")
    assert first["first_seen"] == "2026-11-24 10:00:00" == first["last_changed"]


def test_formula_cells_are_neutralised(db):
    _text, rows = run(db, "orders")
    assert rows[0]["member"] == "'=HYPERLINK(\"x\")"
    assert rows[0]["address"] == "'+86 3栋"
    assert rows[1]["member"] == "李四, 二楼"
    assert rows[2]["member"] == "'-赵哥"
    _text, pickup = run(db, "pickup")
    assert pickup[0]["member"] == "'=HYPERLINK(\"x\")"


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
    ("王姐", "王姐"), ("a=b", "a=b"), (None, ""), (3, "3"),
], ids=["equals", "plus", "minus", "at", "tab", "plain", "inner-equals", "none", "number"])
def test_safe_cell(value, shown):
    assert safe_cell(value) == shown


def test_write_chunks_neutralises_even_inside_quoted_cells():
    out = io.StringIO()
    write_chunks(out, ["a", "b"], [[("x", "=1"), ("a,b", "ok")], [("@x", 1), ('"=q"', None)]])
    rows = list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert rows == [["a", "b"], ["x", "'=1"], ["a,b", "ok"], ["'@x", "1"], ['"=q"', ""]]


@pytest.mark.parametrize(("flt", "members"), [
    (ExportFilter(campaign="fruit-1124"), ["wxid_wang", "wxid_si", "wxid_zhao", "wxid_late", "wxid_qian"]),
    (ExportFilter(campaign="veg-1126"), []),
    (ExportFilter(leader="wxid_zhou"), ["wxid_qian"]),
    (ExportFilter(start=at(10, 5), end=at(11)), ["wxid_si", "wxid_zhao"]),
    (ExportFilter(leader="wxid_li", start=at(0), end=at(0, day=25)), ["wxid_wang", "wxid_si", "wxid_zhao", "wxid_late"]),
], ids=["campaign", "other-campaign", "leader", "from-to", "leader-and-period"])
def test_order_filters(db, flt, members):
    _text, rows = run(db, "orders", flt)
    assert [r["member_id"] for r in rows] == members


def test_pickup_one_row_per_member_and_group(db):
    _text, rows = run(db, "pickup", ExportFilter(campaign="fruit-1124"))
    assert [(r["group"], r["member_id"], r["items"], r["amount"], r["picked_up"]) for r in rows] == [
        (GROUP, "wxid_wang", "麒麟西瓜×2", "30", "no"),
        (GROUP, "wxid_si", "阳光玫瑰×1串", "25", "no"),
        (GROUP, "wxid_zhao", "砂糖橘×2.5斤", "24.75", "no"),
        (GROUP2, "wxid_qian", "麒麟西瓜×4", "60", "no"),
    ]
    _text, mine = run(db, "pickup", ExportFilter(campaign="fruit-1124", leader="wxid_zhou"))
    assert [r["member_id"] for r in mine] == ["wxid_qian"]


def test_procurement_over_all_groups(db):
    _text, rows = run(db, "procurement")
    assert [(r["campaign"], r["sku"], r["product"], r["unit"], r["qty"], r["amount"], r["groups"]) for r in rows] == [
        ("fruit-1124", "JZ01", "砂糖橘", "斤", "2.5", "24.75", "1"),
        ("fruit-1124", "PT01", "阳光玫瑰", "串", "1", "25", "1"),
        ("fruit-1124", "XG01", "麒麟西瓜", "个", "6", "90", "2"),
    ]


def test_statements(db):
    _text, rows = run(db, "statements", ExportFilter(start=at(0), end=at(0, day=25)))
    assert [(r["leader_id"], r["from"], r["to"], r["orders"], r["gross"], r["adjustments"], r["net"],
             r["commission_rate"], r["commission"], r["payable"]) for r in rows] == [
        ("wxid_li", "2026-11-24", "2026-11-24", "3", "79.75", "0", "79.75", "0.12", "9.57", "9.57"),
        ("wxid_zhou", "2026-11-24", "2026-11-24", "1", "60", "0", "60", "0.1", "6", "6"),
        ("total", "2026-11-24", "2026-11-24", "4", "139.75", "0", "139.75", "", "15.57", "15.57"),
    ]
    _text, one = run(db, "statements", ExportFilter(leader="wxid_zhou"))
    assert [r["leader_id"] for r in one] == ["wxid_zhou", "total"]


DECEMBER = """
[[campaigns]]
id = "fruit-1203"
title = "周三水果团"
opens = 2026-12-03T09:00:00+08:00
deadline = 2026-12-03T22:00:00+08:00
[[campaigns.products]]
sku = "XG01"
name = "麒麟西瓜"
price = 16
unit = "个"
"""


def december(hour: int) -> datetime:
    return datetime(2026, 12, 3, hour, tzinfo=TZ)


@pytest.fixture
def two_months(db):
    load(db, SECOND + DECEMBER)
    Feed(db, prefix="dec-").chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], december(10))
    return db


def _periods(rows: list[dict]) -> list[tuple]:
    return [(r["leader_id"], r["from"], r["to"], r["orders"], r["gross"]) for r in rows]


def test_statements_without_dates_have_one_period_per_month_with_orders(two_months):
    _text, rows = run(two_months, "statements")
    assert _periods(rows) == [
        ("wxid_li", "2026-11-01", "2026-11-30", "3", "79.75"),
        ("wxid_zhou", "2026-11-01", "2026-11-30", "1", "60"),
        ("wxid_li", "2026-12-01", "2026-12-31", "1", "16"),
        ("wxid_zhou", "2026-12-01", "2026-12-31", "0", "0"),
        ("total", "2026-11-01", "2026-12-31", "5", "155.75"),
    ]


def test_statements_cut_the_given_range_at_month_ends(two_months):
    _text, rows = run(two_months, "statements", ExportFilter(leader="wxid_li", start=at(0, day=20),
                                                             end=datetime(2026, 12, 10, tzinfo=TZ)))
    assert _periods(rows)[:-1] == [("wxid_li", "2026-11-20", "2026-11-30", "3", "79.75"),
                                   ("wxid_li", "2026-12-01", "2026-12-09", "1", "16")]
    _text, rows = run(two_months, "statements", ExportFilter(leader="wxid_li", start=december(0)))
    assert _periods(rows)[:-1] == [("wxid_li", "2026-12-03", "2026-12-31", "1", "16")]
    _text, rows = run(two_months, "statements", ExportFilter(leader="wxid_li", end=december(0)))
    assert _periods(rows)[:-1] == [("wxid_li", "2026-11-01", "2026-11-30", "3", "79.75"),
                                   ("wxid_li", "2026-12-01", "2026-12-02", "0", "0")]


def test_statements_of_a_leader_cover_that_leaders_months(two_months):
    _text, rows = run(two_months, "statements", ExportFilter(leader="wxid_zhou"))
    assert _periods(rows) == [("wxid_zhou", "2026-11-01", "2026-11-30", "1", "60"),
                              ("total", "2026-11-01", "2026-11-30", "1", "60")]


def test_a_month_with_only_an_adjustment_has_a_statement(db):
    with db.begin() as session:
        session.add(Adjustment(leader_id="wxid_zhou", campaign_id="fruit-1124", amount=Decimal("-15"),
                               reason="缺货 麒麟西瓜×1", at=december(9)))
    _text, rows = run(db, "statements", ExportFilter(leader="wxid_zhou"))
    assert [(r["from"], r["orders"], r["gross"], r["adjustments"], r["net"], r["commission"]) for r in rows] == [
        ("2026-11-01", "1", "60", "0", "60", "6"), ("2026-12-01", "0", "0", "-15", "-15", "-1.5"),
        ("2026-11-01", "1", "60", "-15", "45", "4.5")]


def test_statements_of_an_empty_platform_are_the_header(sessions):
    load(sessions)
    text, rows = run(sessions, "statements")
    assert rows == [] and text == "\ufeff" + ",".join(STATEMENT_COLUMNS) + "\r\n"


def test_times_in_a_zone_with_daylight_saving(db):
    berlin = ZoneInfo("Europe/Berlin")
    _text, rows = run(db, "orders", ExportFilter(leader="wxid_zhou"), tz=berlin)
    assert rows[0]["first_seen"] == at(11).astimezone(berlin).strftime("%Y-%m-%d %H:%M:%S")
    assert rows[0]["first_seen"] == datetime(2026, 11, 24, 4, 0).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("flt", [ExportFilter(), ExportFilter(leader="wxid_zhou"), ExportFilter(start=at(10, 5))],
                         ids=["rows-needing-care", "plain-rows", "mixed"])
def test_a_utf8_file_gets_the_same_csv_as_text(db, tmp_path, flt):
    text, _rows = run(db, "orders", flt)
    path = tmp_path / "orders.csv"
    with db() as session, open(path, "w", encoding="utf-8", newline="") as out:
        export(session, "orders", out, flt, TZ)
    assert path.read_bytes().decode("utf-8") == text
    assert text.endswith("\r\n")


@pytest.fixture
def separators(db):
    """Two more orders: member and address hold the export's own cell and row separators, or
    what PostgreSQL's COPY escapes (backslash, line break, tab)."""
    Feed(db, GROUP2, prefix="g3-").chain(
        "wxid_sun", [line(1, "钱姨", ("XG01", 4)), line(2, "孙\x1f=叔", ("PT01", 1), address="5栋\x1e2"),
                     line(3, "周\\叔\n二楼", ("JZ01", 1), address="\t6栋\\")], at(12))
    return db


def joined(sessions, flt: ExportFilter, size: int) -> str:
    out = io.StringIO()
    with sessions() as session:
        write_orders_joined(session, out, flt, TZ, size=size)
    return out.getvalue()


@pytest.mark.parametrize("size", [1, 2, 4, 5000])
@pytest.mark.parametrize("flt", [ExportFilter(), ExportFilter(leader="wxid_zhou"), ExportFilter(start=at(10, 5)),
                                 ExportFilter(campaign="fruit-1124", end=at(11))],
                         ids=["all", "leader", "from", "campaign-to"])
def test_the_joined_orders_export_equals_the_csv_module_at_any_chunk_size(separators, flt, size):
    reference = io.StringIO()
    with separators() as session:
        write_chunks(reference, ORDER_COLUMNS, order_chunks(session, flt, TZ))
    assert joined(separators, flt, size) == reference.getvalue()


def test_cells_holding_a_separator_come_out_whole(separators):
    rows = list(csv.DictReader(io.StringIO(joined(separators, ExportFilter(leader="wxid_zhou"), 1)[1:])))
    assert [(r["member"], r["address"], r["sku"]) for r in rows] == [
        ("钱姨", "", "XG01"), ("孙\x1f=叔", "5栋\x1e2", "PT01"), ("周\\叔\n二楼", "'\t6栋\\", "JZ01")]


@pytest.mark.parametrize(("line", "cells"), [
    ("a\x1fb\x1f", ["a", "b", ""]),
    ("a\\\x1fb\x1fc", ["a\x1fb", "c"]),
    ("a\\\\\x1fb", ["a\\", "b"]),
    ("\\n\\r\\t\\b\\f\\v", ["\n\r\t\b\f\v"]),
], ids=["plain", "escaped-separator", "escaped-backslash-then-separator", "control-characters"])
def test_copy_text_lines_split_into_cells(line, cells):
    assert _copied_cells(line) == cells


def test_the_orders_export_is_one_snapshot_while_orders_keep_changing(db):
    class ChangeAfterFirstRow(io.StringIO):
        writes = 0

        def write(self, text):
            self.writes += 1
            if self.writes == 2:  # header, then the first row; the last row is not read yet
                with db.begin() as other:
                    other.execute(update(OrderItem).where(OrderItem.member_id == "wxid_qian")
                                  .values(status="cancelled"))
            return super().write(text)

    out = ChangeAfterFirstRow()
    with db() as session:
        assert write_orders_joined(session, out, ExportFilter(), TZ, size=1) == 5
    rows = list(csv.DictReader(io.StringIO(out.getvalue()[1:])))
    assert (rows[-1]["member_id"], rows[-1]["status"]) == ("wxid_qian", "ok")
    _text, now = run(db, "orders")
    assert now[-1]["status"] == "cancelled"
