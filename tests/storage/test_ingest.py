"""storage.ingest: the message log, campaigns, and chain copies merged into entries and items,
on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from parsers.model import Item, Unmatched
from storage.chains import reset_projection
from storage.log import record_message
from storage.lookup import campaign_for_group, catalog_of, group_for_chat, groups_running
from storage.models import Campaign, Chain, EntryEvent, EntryRow, Group, MessageLog, OrderItem
from storage.orders import cancel_entry, update_entry
from storage.reports import product_totals
from storage.setup import apply_setup, load_setup_text
from tests.storage.helpers import GROUP, LEADER, SETUP, Feed, at, entries, items, line, load

D = Decimal


@pytest.fixture
def db(sessions):
    load(sessions)
    return sessions


@pytest.fixture
def feed(db):
    return Feed(db)


def _kinds(session, entry_id=None) -> list[str]:
    query = select(EntryEvent.kind).order_by(EntryEvent.id)
    if entry_id is not None:
        query = query.where(EntryEvent.entry_id == entry_id)
    return list(session.scalars(query))


# --- the log -------------------------------------------------------------------------------


def test_a_redelivered_message_is_logged_once(db):
    kwargs = dict(platform="wechat", message_id="abc", chat_id=GROUP, chat_name=GROUP, sender_id="wxid_wang",
                  sender_name="王姐", text="1. 王姐 西瓜1个", sent_at=at(10), received_at=at(10))
    with db.begin() as session:
        first = record_message(session, **kwargs)
    with db.begin() as session:
        again = record_message(session, **kwargs)
        other_platform = record_message(session, **(kwargs | {"platform": "console"}))
    assert first is not None and first.id
    assert again is None
    assert other_platform is not None
    with db() as session:
        assert session.scalar(select(func.count()).select_from(MessageLog)) == 2


def test_a_redelivered_chain_copy_changes_nothing(feed, db):
    copy = [line(1, "王姐", ("XG01", 2))]
    assert feed.chain("wxid_wang", copy, at(10), message_id="dup").added == 1
    assert feed.chain("wxid_wang", copy, at(10, 1), message_id="dup") is None
    with db() as session:
        assert len(entries(session)) == 1 and len(items(session)) == 1


# --- groups and campaigns ------------------------------------------------------------------------


def test_group_for_chat_matches_its_chat_id_only(db):
    """P2: a topic never identifies a group (storage.rooms learns room ids: see test_rooms)."""
    with db.begin() as session:
        assert group_for_chat(session, GROUP).name == GROUP
        assert group_for_chat(session, "999@chatroom") is None


OVERLAP = SETUP + """
[[campaigns]]
id = "veg-1124"
title = "蔬菜团"
opens = 2026-11-24T08:00:00+08:00
deadline = 2026-11-24T12:00:00+08:00
[[campaigns.products]]
sku = "BC01"
name = "大白菜"
price = 3
[[campaigns]]
id = "other-group"
title = "别的群的团"
opens = 2026-11-24T08:00:00+08:00
deadline = 2026-11-24T11:00:00+08:00
groups = ["翠苑二区邻里群"]
"""


@pytest.mark.parametrize(("when", "expected"), [
    (at(7), None),
    (at(8, 30), "veg-1124"),
    (at(10), "veg-1124"),
    (at(13), "fruit-1124"),
    (at(23), "fruit-1124"),
    (at(9, day=25), "fruit-1124"),
], ids=["before-any-opens", "only-one-open", "nearest-deadline-first", "after-first-deadline",
        "just-past-deadline-still-the-campaign", "next-day-most-recent"])
def test_campaign_for_group(sessions, when, expected):
    load(sessions, OVERLAP)
    with sessions() as session:
        campaign = campaign_for_group(session, group_for_chat(session, GROUP), when)
        assert (campaign.id if campaign else None) == expected


def test_groups_running_keeps_the_groups_a_campaign_runs_in(sessions):
    """P4: a leader's 开团/截单/到货 reach only the groups the campaign runs in."""
    load(sessions, OVERLAP)
    with sessions() as session:
        li, zhou = group_for_chat(session, GROUP).id, group_for_chat(session, "翠苑二区邻里群").id
        assert groups_running(session, session.get(Campaign, "other-group"), [li, zhou]) == [zhou]
        assert groups_running(session, session.get(Campaign, "other-group"), [li]) == []
        assert groups_running(session, session.get(Campaign, "veg-1124"), [li, zhou]) == [li, zhou]


def test_catalog_of_lists_products_in_file_order(db):
    with db() as session:
        catalog = catalog_of(session, session.get(Campaign, "fruit-1124"))
    assert [(p.sku, p.price, p.stock) for p in catalog] == [
        ("XG01", D(15), None), ("PT01", D(25), D(3)), ("JZ01", D("9.9"), None)]


# --- merging ---------------------------------------------------------------------------------


def test_new_lines_belong_to_the_sender_or_the_type53_author(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))
    out = feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("JZ01", 3), author="wxid_si")],
                     at(10, 5))
    assert (out.added, out.changed, out.missing, out.cancelled, out.problems) == (1, 0, 0, 0, [])
    with db() as session:
        assert [e[0] for e in entries(session)] == ["wxid_wang", "wxid_si"]
        assert items(session) == [("wxid_wang", "XG01", D(2), D(15), D(30), "ok"),
                                  ("wxid_si", "JZ01", D(3), D("9.9"), D("29.7"), "ok")]


def test_a_repost_changes_no_order(feed, db):
    copy = [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("JZ01", 1))]
    feed.chain("wxid_wang", copy, at(10))
    with db() as session:
        before, events = entries(session), len(_kinds(session))
    out = feed.chain("wxid_zhao", copy, at(10, 5))
    assert (out.added, out.changed, out.missing, out.problems) == (0, 0, 0, [])
    with db() as session:
        assert entries(session) == before
        assert len(_kinds(session)) == events


def test_concurrent_copies_keep_both_orders(feed, db):
    base = [line(1, "王姐", ("XG01", 1))]
    feed.chain("wxid_wang", base, at(10))
    # Two members copy version 1 at once and both write line 2.
    feed.chain("wxid_si", base + [line(2, "李四", ("XG01", 1))], at(10, 1))
    out = feed.chain("wxid_zhao", base + [line(2, "赵哥", ("JZ01", 2))], at(10, 1))
    assert (out.added, out.missing) == (1, 1)
    with db() as session:
        assert entries(session) == [("wxid_wang", "王姐 麒麟西瓜1个", "ok", False),
                                    ("wxid_si", "李四 麒麟西瓜1个", "ok", True),
                                    ("wxid_zhao", "赵哥 砂糖橘2斤", "ok", False)]
        assert [t.qty for t in product_totals(session, "fruit-1124")] == [D(2), D(0), D(2)]
    # Someone re-adds the lost line: it reappears, nothing is doubled.
    feed.chain("wxid_si", base + [line(2, "赵哥", ("JZ01", 2)), line(3, "李四", ("XG01", 1))], at(10, 3))
    with db() as session:
        assert [e[3] for e in entries(session)] == [False, False, False]
        assert len(items(session)) == 3
        assert _kinds(session)[-2:] == ["missing", "reappeared"]


def test_a_member_editing_their_own_line_updates_the_order_with_history(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    out = feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 3))], at(10, 5))
    assert (out.added, out.changed) == (0, 1)
    with db() as session:
        assert entries(session) == [("wxid_wang", "王姐 麒麟西瓜3个", "ok", False)]
        assert items(session) == [("wxid_wang", "XG01", D(3), D(15), D(45), "ok")]
        event = session.scalars(select(EntryEvent).where(EntryEvent.kind == "edited")).one()
        assert (event.before, event.after, event.actor_id) == ("王姐 麒麟西瓜1个", "王姐 麒麟西瓜3个", "wxid_wang")


def test_a_change_to_someone_elses_line_goes_to_review(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    out = feed.chain("wxid_zhao", [line(1, "王姐", ("XG01", 9))], at(10, 5))
    assert [(p.member_id, p.kind) for p in out.problems] == [("wxid_zhao", "review")]
    with db() as session:
        assert entries(session) == [("wxid_wang", "王姐 麒麟西瓜1个", "ok", False),
                                    ("wxid_zhao", "王姐 麒麟西瓜9个", "review", False)]
        assert items(session, "ok") == [("wxid_wang", "XG01", D(1), D(15), D(15), "ok")]
        assert "review" in _kinds(session)


def test_the_leader_may_change_anyones_line(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    out = feed.chain(LEADER, [line(1, "王姐", ("XG01", 2))], at(10, 5))
    assert out.changed == 1
    with db() as session:
        assert items(session) == [("wxid_wang", "XG01", D(2), D(15), D(30), "ok")]


@pytest.mark.parametrize("canceller", ["wxid_wang", LEADER], ids=["author", "leader"])
def test_explicit_cancellation_by_author_or_leader(feed, db, canceller):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1)), line(2, "李四", ("JZ01", 1))], at(10))
    out = feed.chain(canceller, [line(1, "王姐", extra="取消", cancel=True), line(2, "李四", ("JZ01", 1))],
                     at(10, 5))
    assert out.cancelled == 1
    with db() as session:
        assert [e[2] for e in entries(session)] == ["cancelled", "ok"]
        assert [i[5] for i in items(session)] == ["cancelled", "ok"]
    # The cancelled line stays in later copies: nothing more happens.
    again = feed.chain("wxid_si", [line(1, "王姐", extra="取消", cancel=True), line(2, "李四", ("JZ01", 1))],
                       at(10, 6))
    assert (again.added, again.cancelled, again.problems) == (0, 0, [])


def test_a_cancellation_by_someone_else_is_not_applied(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    out = feed.chain("wxid_zhao", [line(1, "王姐", ("XG01", 1)), line(2, "王姐", extra="不要了", cancel=True)],
                     at(10, 5))
    assert out.cancelled == 0 and [p.kind for p in out.problems] == ["review"]
    with db() as session:
        assert items(session, "ok") == [("wxid_wang", "XG01", D(1), D(15), D(15), "ok")]


def test_the_same_member_ordering_again_adds_to_their_order(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1)), line(2, "王姐", ("XG01", 2))], at(10, 5))
    with db() as session:
        assert [t.qty for t in product_totals(session, "fruit-1124")][0] == D(3)


def test_lines_first_seen_after_the_deadline_are_late_and_not_counted(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(21, 59))
    out = feed.chain("wxid_si", [line(1, "王姐", ("XG01", 1)), line(2, "李四", ("XG01", 5))], at(22, 1))
    assert (out.added, [(p.member_id, p.kind) for p in out.problems]) == (1, [("wxid_si", "late")])
    with db() as session:
        assert [i[5] for i in items(session)] == ["ok", "late"]
        assert product_totals(session, "fruit-1124")[0].qty == D(1)


def test_an_edit_after_the_deadline_keeps_the_counted_order(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(21))
    out = feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 4))], at(22, 30))
    assert [p.kind for p in out.problems] == ["late"]
    with db() as session:
        assert items(session) == [("wxid_wang", "XG01", D(1), D(15), D(15), "ok"),
                                  ("wxid_wang", "XG01", D(4), D(15), D(60), "late")]
        assert "late_edit" in _kinds(session)


def test_stock_first_come_first_served_then_waitlist_then_promotion(feed, db):
    copy = [line(1, "王姐", ("PT01", 2))]
    feed.chain("wxid_wang", copy, at(10))
    copy.append(line(2, "李四", ("PT01", 2)))
    out = feed.chain("wxid_si", copy, at(10, 1))
    assert [(p.member_id, p.kind, p.detail) for p in out.problems] == [("wxid_si", "waitlist", "阳光玫瑰")]
    copy.append(line(3, "赵哥", ("PT01", 1)))
    feed.chain("wxid_zhao", copy, at(10, 2))
    with db() as session:
        assert [(i[0], i[5]) for i in items(session)] == [("wxid_wang", "ok"), ("wxid_si", "waitlist"),
                                                          ("wxid_zhao", "ok")]
    # 王姐 cancels: 2 free, 李四 (waiting longest) gets them.
    copy[0] = line(1, "王姐", extra="取消", cancel=True)
    feed.chain("wxid_wang", copy, at(10, 3))
    with db() as session:
        assert [(i[0], i[5]) for i in items(session)] == [("wxid_wang", "cancelled"), ("wxid_si", "ok"),
                                                          ("wxid_zhao", "ok")]
        assert "promoted" in _kinds(session)
        assert product_totals(session, "fruit-1124")[1].qty == D(3)


def test_each_item_keeps_the_price_at_ordering_time_also_after_a_rebuild(feed, db):
    first = [line(1, "王姐", ("XG01", 1))]
    second = first + [line(2, "李四", ("XG01", 1))]
    feed.chain("wxid_wang", first, at(10))
    with db.begin() as session:
        apply_setup(session, load_setup_text(SETUP.replace("price = 15", "price = 18")), at=at(10, 30))
    feed.chain("wxid_si", second, at(11))
    with db() as session:
        assert [(i[0], i[3]) for i in items(session)] == [("wxid_wang", D(15)), ("wxid_si", D(18))]
    # Re-deriving the orders from the log finds the same prices.
    with db.begin() as session:
        reset_projection(session)
    Feed(db, prefix="again-").chain("wxid_wang", first, at(10))
    Feed(db, prefix="again2-").chain("wxid_si", second, at(11))
    with db() as session:
        assert [(i[0], i[3]) for i in items(session)] == [("wxid_wang", D(15)), ("wxid_si", D(18))]


def test_unmatched_items_are_kept_flagged_and_reported(feed, db):
    entry = line(1, "王姐", ("XG01", 1))
    entry.unmatched.append(Unmatched(text="鸭蛋2盒", reason="像鸡蛋，但不确定", qty=2, unit="盒"))
    out = feed.chain("wxid_wang", [entry], at(10))
    assert [(p.kind, p.text, p.detail) for p in out.problems] == [("unmatched", "鸭蛋2盒", "像鸡蛋，但不确定")]
    with db() as session:
        assert [i[5] for i in items(session)] == ["ok", "unmatched"]


def test_a_leader_edit_in_private_chat_survives_the_next_copy(feed, db):
    copy = [line(1, "王姐", ("XG01", 1)), line(2, "李四", ("JZ01", 1))]
    feed.chain("wxid_wang", copy[:1], at(9, 59))
    feed.chain("wxid_si", copy, at(10))
    with db.begin() as session:
        row = session.scalars(select(EntryRow).where(EntryRow.author_id == "wxid_wang")).one()
        update_entry(session, row, line(1, "王姐", ("XG01", 5)), actor_id=LEADER, message_id=None, at=at(10, 1),
                     kind="leader_edit")
        other = session.scalars(select(EntryRow).where(EntryRow.author_id == "wxid_si")).one()
        cancel_entry(session, other, actor_id=LEADER, message_id=None, at=at(10, 1), kind="leader_delete")
    # The chain text still shows the old lines.
    out = feed.chain("wxid_zhao", copy + [line(3, "赵哥", ("XG01", 1))], at(10, 2))
    assert (out.added, out.changed, out.cancelled, out.problems) == (1, 0, 0, [])
    with db() as session:
        assert items(session, "ok")[:1] == [("wxid_wang", "XG01", D(5), D(15), D(75), "ok")]
        assert [e[2] for e in entries(session)] == ["ok", "cancelled", "ok"]
        assert _kinds(session)[:4] == ["created", "created", "leader_edit", "leader_delete"]


def test_a_free_text_order_is_kept_for_review_not_counted(feed, db):
    item = Item(text="西瓜1个", sku="XG01", name="麒麟西瓜", qty=1, unit="个", score=95)
    out = feed.free("wxid_wang", "+1 西瓜", [item], at(10))
    assert out.added == 1
    with db() as session:
        assert items(session) == [("wxid_wang", "XG01", D(1), D(15), D(15), "review")]
        assert product_totals(session, "fruit-1124")[0].qty == 0


def test_reset_projection_keeps_log_setup_and_bindings(feed, db):
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    with db.begin() as session:
        reset_projection(session)
    with db() as session:
        for model, expected in ((MessageLog, 1), (Group, 2), (Campaign, 1), (Chain, 0), (EntryRow, 0),
                                (OrderItem, 0), (EntryEvent, 0)):
            assert session.scalar(select(func.count()).select_from(model)) == expected, model.__tablename__
    # And the same messages build the same orders again.
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    with db() as session:
        assert items(session) == [("wxid_wang", "XG01", D(1), D(15), D(15), "ok")]
