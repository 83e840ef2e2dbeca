"""Hostile values from the red-team review (H9, H10, H13, H14, H19, H20, H21), replayed through
the real App on SQLite and PostgreSQL: each line is stored cleaned, or skipped with its reason,
and the lines after it are always fed — the same on both databases (D1, X4, U3)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from bot.transports.replay import ReplayResult, replay_lines
from parsers.model import Entry, Item, ParsedMessage
from storage.chains import apply_chain
from storage.exports import ExportFilter, export
from storage.log import record_message
from storage.lookup import campaign_for_group, group_for_chat, leader_ids
from storage.models import EntryRow, MessageLog, OrderItem
from tests.conftest import GROUP, TZ, at

H = "#接龙\n周三水果团\n\n"


def record(n: int, sender: str, name, text: str, **more) -> dict:
    return {"id": f"m{n}", "time": f"2026-11-25T10:{n:02d}:00+08:00", "chat": GROUP, "from": sender, "name": name,
            "text": text, **more}


def chain(*lines: str) -> str:
    return H + "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def replay(app, clock, rows: list, *, ascii_only: bool = False) -> tuple[ReplayResult, list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    result = ReplayResult()
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=ascii_only) for r in rows]
    list(replay_lines(app, clock, lines, result, on_error=lambda n, why: errors.append((n, why))))
    return result, errors


def ok_entries(sessions) -> list[tuple[str, str | None]]:
    with sessions() as session:
        return [tuple(r) for r in session.execute(
            select(EntryRow.author_id, EntryRow.member).where(EntryRow.status == "ok").order_by(EntryRow.id))]


def logged(sessions) -> list[tuple]:
    with sessions() as session:
        return [tuple(r) for r in session.execute(
            select(MessageLog.message_id, MessageLog.chat_id, MessageLog.sender_id, MessageLog.sender_name)
            .order_by(MessageLog.id))]


THREE = [("wxid_wang", "王姐", "王姐{x} 西瓜1个"), ("wxid_qian", "钱{x}哥", "钱哥 鸡蛋1盒"), ("wxid_liu", "刘姐", "刘姐 大米1袋")]


@pytest.mark.parametrize(("bad", "ascii_only"), [("\u0000", False), ("\ud800", True), ("\udc80", True)],
                         ids=["H9-nul", "H10-lone-high-surrogate", "H10-lone-low-surrogate"])
def test_unstorable_characters_in_text_and_names_are_replaced_and_every_line_is_fed(
        app, clock, loaded, bad: str, ascii_only: bool) -> None:
    """H9/H10 (X4): a NUL or a lone surrogate used to stop the replay with a traceback on the
    same line at every rerun (PostgreSQL refuses NUL; no driver encodes a surrogate)."""
    rows, lines = [], []
    for n, (sender, name, text) in enumerate(THREE, start=1):
        lines.append(text.format(x=bad))
        rows.append(record(n, sender, name.format(x=bad), chain(*lines)))
    for _ in range(2):  # a rerun passes the same lines again without a word
        result, errors = replay(app, clock, rows, ascii_only=ascii_only)
        assert errors == [] and result.fed == 3
    assert ok_entries(loaded) == [("wxid_wang", "王姐\ufffd"), ("wxid_qian", "钱哥"), ("wxid_liu", "刘姐")]
    assert [r[3] for r in logged(loaded)] == ["王姐", "钱\ufffd哥", "刘姐"]


def test_a_line_whose_first_word_is_too_long_for_the_nickname_column_does_not_wedge_the_chain(
        app, clock, loaded) -> None:
    """D1/H13: a 201-character "nickname" failed every later copy of the chain on PostgreSQL,
    and every order after it was lost. It is stored cut to the column; later copies merge."""
    lines = ["3栋502 王姐 西瓜1个", "5栋1201 " + "长" * 201 + " 西瓜2个", "6栋302 刘姐 鸡蛋2盒", "7栋1 老马 西瓜1个"]
    rows = [record(k, f"wxid_u{k}", f"u{k}", chain(*lines[:k])) for k in range(1, 5)]
    result, errors = replay(app, clock, rows)
    assert errors == [] and result.fed == 4
    entries = ok_entries(loaded)
    assert [a for a, _ in entries] == ["wxid_u1", "wxid_u2", "wxid_u3", "wxid_u4"]
    assert entries[1][1] == "长" * 201  # a nickname is TEXT: kept whole, known by it in every copy
    out = io.StringIO()
    with loaded() as session:
        export(session, "orders", out, ExportFilter(), TZ)
    assert "刘姐" in out.getvalue() and "老马" in out.getvalue()


def test_parsed_values_wider_than_their_columns_are_cut_at_insert(loaded) -> None:
    """D1: a native author id and name over their widths are cut; nickname and address are
    TEXT. Written straight through storage, as a native 接龙 would be, on both databases."""
    with loaded.begin() as session:
        message = record_message(session, platform="test", message_id="n1", chat_id=GROUP, chat_name=GROUP,
                                 sender_id="wxid_wang", sender_name="王姐", text="x", sent_at=at(25, 10),
                                 received_at=at(25, 10))
        group = group_for_chat(session, GROUP)
        entry = Entry(seq=1, raw="很长的一行", member="名" * 300, address="址" * 300, author="a" * 300,
                      items=[Item(text="西瓜1个", sku="XG01", name="麒麟西瓜", qty=1, unit="个")])
        parsed = ParsedMessage(is_chain=True, title="周三水果团", chain_key="周三水果团", entries=[entry])
        apply_chain(session, group=group, campaign=campaign_for_group(session, group, at(25, 10)), message=message,
                    parsed=parsed, leader_ids=leader_ids(group), at=at(25, 10))
    with loaded() as session:
        row = session.scalar(select(EntryRow))
        assert (row.member, row.address, row.author_id) == ("名" * 300, "址" * 300, "a" * 128)
        assert session.scalar(select(OrderItem.member_id)) == "a" * 128


def test_ids_too_long_for_their_columns_are_skipped_with_a_reason_and_the_rest_is_fed(app, clock, loaded) -> None:
    """H14 (X4): over-long `id`, `chat` or `from` stopped the replay on PostgreSQL; a long
    display name is cut instead."""
    rows = [record(1, "wxid_a", "长" * 201, chain("王姐 西瓜1个")),
            {**record(2, "wxid_b", "b", chain("王姐 西瓜1个", "张叔 鸡蛋1盒")), "id": "x" * 201},
            {**record(3, "wxid_c", "c", "+1 西瓜"), "chat": "c" * 201},
            record(4, "w" * 129, "d", chain("王姐 西瓜1个", "张叔 鸡蛋1盒")),
            record(5, "wxid_liu", "刘姐", chain("王姐 西瓜1个", "张叔 鸡蛋1盒", "刘姐 大米1袋"))]
    result, errors = replay(app, clock, rows)
    assert errors == [(2, "'id' is longer than 200 characters (201)"),
                      (3, "'chat' is longer than 200 characters (201)"),
                      (4, "'from' is longer than 128 characters (129)")]
    assert (result.fed, result.skipped) == (2, 3)
    assert [(m, n) for m, _c, _s, n in logged(loaded)] == [("m1", "长" * 200), ("m5", "刘姐")]
    assert [a for a, _ in ok_entries(loaded)] == ["wxid_a", "wxid_liu", "wxid_liu"]


def test_fields_of_the_wrong_type_are_skipped_naming_the_key(app, clock, loaded) -> None:
    """H19 (U3): lists, objects, numbers and booleans were stored as Python reprs."""
    base = record(1, "wxid_b", "b", chain("王姐 西瓜1个"))
    rows = [{**base, "id": ["j6"]}, {**base, "id": "j7", "chat": {"x": 1}}, {**base, "id": "j8", "from": ["wxid_b"]},
            {**base, "id": "j9", "name": 3.5}, {**base, "id": True}, {**base, "id": "j10", "time": 1764036000},
            {**base, "id": "j11"}]
    result, errors = replay(app, clock, rows)
    assert [n for n, _ in errors] == [1, 2, 3, 4, 5, 6]
    assert [why.split(",")[0] for _, why in errors] == [
        "'id' must be a string", "'chat' must be a string", "'from' must be a string", "'name' must be a string",
        "'id' must be a string", "'time' must be an ISO 8601 string like 2026-11-25T10:00:00+08:00"]
    assert logged(loaded) == [("j11", GROUP, "wxid_b", "b")]


def test_a_duplicate_id_with_another_text_is_reported_not_silently_dropped(app, clock, loaded) -> None:
    """H20 (U3): the second line was dropped as a redelivery without a word. The same id with
    the same text is a redelivery, fed and harmless."""
    first = record(1, "wxid_wang", "王姐", chain("王姐 西瓜1个"))
    changed = {**record(2, "wxid_zhang", "张叔", chain("王姐 西瓜1个", "张叔 鸡蛋1盒")), "id": "m1"}
    result, errors = replay(app, clock, [first, changed, first])
    assert errors == [(2, "duplicate id 'm1' with a different text: the first one stands")]
    assert (result.fed, result.skipped) == (2, 1)
    assert ok_entries(loaded) == [("wxid_wang", "王姐")]


def test_times_outside_a_sane_range_are_skipped_and_naive_ones_read_in_the_platform_zone(
        app, clock, loaded) -> None:
    """H21 (X4): a year-1 time stopped the replay (OverflowError) at every rerun; year 9999 and
    a date without a time of day were taken as they came."""
    rows = [{**record(1, "wxid_a", "a", chain("王姐 西瓜1个")), "time": "0001-01-01T00:00:00+08:00"},
            {**record(2, "wxid_b", "b", chain("王姐 西瓜1个")), "time": "9999-12-31T23:59:00+08:00"},
            {**record(3, "wxid_c", "c", chain("王姐 西瓜1个")), "time": "2026-11-25"},
            {**record(4, "wxid_d", "d", chain("王姐 西瓜1个")), "time": "2026-11-25T10:04:00"},
            record(5, "wxid_e", "e", chain("王姐 西瓜1个", "老马 西瓜1个"))]
    for _ in range(2):
        result, errors = replay(app, clock, rows)
        assert [n for n, _ in errors] == [1, 2, 3] and result.fed == 2
    assert errors[0][1] == "'time' 0001-01-01T00:00:00+08:00 is not between 2000 and 2100"
    with loaded() as session:
        assert session.scalar(select(MessageLog.sent_at).where(MessageLog.message_id == "m4")) == at(25, 10, 4)
        assert session.scalar(select(func.count(MessageLog.id))) == 2
    assert ok_entries(loaded) == [("wxid_d", "王姐"), ("wxid_e", "老马")]
