"""storage.dashboard: the dashboard's figures and work queues (SQLite and PostgreSQL), and that
they agree with the exports for the same database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from parsers.model import Item
from storage import dashboard
from storage.dashboard import Scope
from storage.exports import ExportFilter, export
from storage.lookup import find_campaign
from storage.models import Group, Outbox
from tests.storage.helpers import GROUP, GROUP2, SETUP, TZ, Feed, at, line, load

D = Decimal
CAMPAIGN = "fruit-1124"
LATER = """
[[campaigns]]
id = "veg-1127"
title = "周五蔬菜团"
opens = 2026-11-27T09:00:00+08:00
deadline = 2026-11-27T22:00:00+08:00
[[campaigns.products]]
sku = "BC01"
name = "小白菜"
price = 3.5
unit = "斤"
"""


@pytest.fixture
def db(sessions):
    """李姐's group: 王姐 (30), 张叔 (50, paid), 小陈 (9.9 counted, 阳光玫瑰 waitlisted), 刘姐 (unmatched only),
    赵哥 changing 王姐's line (review), 孙阿姨's free-text order (review) and a late line.
    老周's group: 阿花 (29.7) at 9:45 and 阿B (15) at 10:00 sharp. A second campaign with no orders."""
    load(sessions, SETUP + LATER)
    feed = Feed(sessions)
    wang = line(1, "王姐", ("XG01", 2), address="3栋502")
    zhang = line(2, "张叔", ("PT01", 2))
    zhang.paid = True
    chen = line(3, "小陈", ("PT01", 2), ("JZ01", 1))
    liu = line(4, "刘姐", ("XX99", 1))
    feed.chain("wxid_wang", [wang], at(9, 30))
    feed.chain("wxid_zhang", [wang, zhang], at(10, 15))
    feed.chain("wxid_chen", [wang, zhang, chen], at(10, 40))
    feed.chain("wxid_liu", [wang, zhang, chen, liu], at(11, 5))
    feed.chain("wxid_zhao", [line(1, "王姐", ("XG01", 5), address="3栋502"), zhang, chen, liu], at(12))
    feed.free("wxid_sun", "+1 西瓜", [Item(text="西瓜1个", sku="XG01", name="麒麟西瓜", qty=1, unit="个", score=100.0)],
              at(12, 30))
    feed.chain("wxid_sun", [wang, zhang, chen, liu, line(5, "孙阿姨", ("XG01", 1))], at(22, 5))
    other = Feed(sessions, GROUP2, prefix="g2-")
    hua = line(1, "阿花", ("JZ01", 3))
    other.chain("wxid_hua", [hua], at(9, 45))
    other.chain("wxid_b", [hua, line(2, "阿B", ("XG01", 1))], at(10))
    return sessions


def test_totals_for_a_campaign_and_for_days(db):
    with db() as session:
        assert dashboard.totals(session, Scope(CAMPAIGN)) == dashboard.Totals(5, D("134.6"), 2, 5)
        day = Scope(start=at(0), end=at(0, day=25))
        assert dashboard.totals(session, day) == dashboard.Totals(5, D("134.6"), 2, 5)
        assert dashboard.totals(session, Scope(start=at(0, day=25), end=at(0, day=26))) == dashboard.Totals(0, D(0), 0, 0)
        # Before 10:00 only 王姐 and 阿花 had ordered; the end of a span is not in it.
        assert dashboard.totals(session, Scope(CAMPAIGN, at(0), at(10))) == dashboard.Totals(2, D("59.7"), 2, 2)
        assert dashboard.totals(session, Scope("veg-1127")).orders == 0
        assert dashboard.totals(session, Scope(CAMPAIGN), members=False) == dashboard.Totals(5, D("134.6"), 2, 0)


def test_sales_by_group_largest_first_a_page_at_a_time(db):
    with db() as session:
        page = dashboard.sales_by_group(session, Scope(CAMPAIGN))
        assert [(g.group, g.leader, g.orders, g.gmv) for g in page.rows] == [
            (GROUP, "李姐", 3, D("89.9")), (GROUP2, "老周", 2, D("44.7"))]
        assert page.total == 2
        second = dashboard.sales_by_group(session, Scope(CAMPAIGN), limit=1, offset=1)
        assert [g.group for g in second.rows] == [GROUP2] and second.total == 2


def test_sales_by_product_and_procurement(db):
    with db() as session:
        page = dashboard.sales_by_product(session, Scope(CAMPAIGN))
        assert [(p.sku, p.qty, p.gmv, p.orders, p.groups) for p in page.rows] == [
            ("PT01", D(2), D(50), 1, 1), ("XG01", D(3), D(45), 2, 2), ("JZ01", D(4), D("39.6"), 2, 2)]
        assert page.total == 3 and page.rows[0].name == "阳光玫瑰" and page.rows[0].campaign == "周三水果团"
        assert [p.sku for p in dashboard.sales_by_product(session, Scope(CAMPAIGN), limit=2).rows] == ["PT01", "XG01"]
        # Procurement: the whole catalog in the post's order, zeros included.
        assert [(p.sku, p.qty, p.gmv) for p in dashboard.procurement(session, CAMPAIGN)] == [
            ("XG01", D(3), D(45)), ("PT01", D(2), D(50)), ("JZ01", D(4), D("39.6"))]
        assert [(p.sku, p.qty) for p in dashboard.procurement(session, "veg-1127")] == [("BC01", D(0))]


def test_orders_per_hour_from_opening_to_deadline(db):
    with db() as session:
        hours = dashboard.orders_per_hour(session, find_campaign(session, CAMPAIGN))
        assert len(hours) == 13  # 09:00 to 22:00
        assert hours[0][0] == at(9) and hours[-1][0] == at(21)
        # 9:30 王姐 and 9:45 阿花; 10:00 sharp (阿B) is the second hour, with 张叔 and 小陈.
        assert [n for _, n in hours] == [2, 3] + [0] * 11
        assert dashboard.orders_per_hour(session, find_campaign(session, "veg-1127"))[:2] == [(at(9, day=27), 0),
                                                                                              (at(10, day=27), 0)]


def test_review_queue(db):
    with db() as session:
        items = dashboard.review_items(session, CAMPAIGN)
        assert items.total == 3
        assert [(i.member, i.status) for i in items.rows] == [
            ("sun", "review"), ("王姐", "review"), ("刘姐", "unmatched")]  # newest first
        assert items.rows[1].member_id == "wxid_zhao"  # the changed line is 赵哥's, kept aside
        edits = dashboard.others_edits(session, CAMPAIGN)
        assert edits.total == 1  # 孙阿姨's free-text order waits for the leader, but edits nobody's line
        [edit] = edits.rows
        assert (edit.group, edit.member, edit.actor_id, edit.actor) == (GROUP, "王姐", "wxid_zhao", "zhao")
        assert "XG01" not in edit.before and "麒麟西瓜2个" in edit.before and "麒麟西瓜5个" in edit.after
        assert dashboard.review_items(session, "veg-1127").total == 0
        assert dashboard.review_items(session, limit=1).rows[0].member == "sun"


def test_late_waitlisted_and_unpaid(db):
    with db() as session:
        waiting = dashboard.late_and_waitlisted(session, CAMPAIGN)
        assert [(i.member, i.status, i.text) for i in waiting.rows] == [
            ("孙阿姨", "late", "麒麟西瓜1个"), ("小陈", "waitlist", "阳光玫瑰2串")]
        unpaid = dashboard.unpaid_orders(session, CAMPAIGN)
        assert [(o.member, o.amount) for o in unpaid.rows] == [
            ("王姐", D(30)), ("阿花", D("29.7")), ("阿B", D(15)), ("小陈", D("9.9"))]  # 张叔 paid
        assert unpaid.total == 4 and unpaid.rows[0].address == "3栋502"
        assert [o.member for o in dashboard.unpaid_orders(session, limit=2, offset=2).rows] == ["阿B", "小陈"]


def test_missing_lines(sessions):
    load(sessions)
    feed = Feed(sessions)
    wang, zhang = line(1, "王姐", ("XG01", 2)), line(2, "张叔", ("PT01", 1))
    feed.chain("wxid_wang", [wang], at(9, 30))
    feed.chain("wxid_zhang", [wang, zhang], at(10))
    feed.chain("wxid_qian", [wang, line(2, "钱哥", ("JZ01", 1))], at(10, 1))  # copied the version before 张叔
    with sessions() as session:
        page = dashboard.missing_lines(session, CAMPAIGN)
        assert [(m.member, m.group) for m in page.rows] == [("张叔", GROUP)] and page.total == 1
        assert dashboard.queue_counts(session, [CAMPAIGN]).missing == 1
        assert dashboard.totals(session, Scope(CAMPAIGN)).orders == 3  # a missing line still counts


def test_unsent_messages_and_queue_counts(db):
    with db.begin() as session:
        session.add_all([
            Outbox(to=GROUP, text="旧的", kind="reply", created_at=at(12), sent_at=at(12)),
            Outbox(to="wxid_li", is_group=False, text="还没发", kind="summary", created_at=at(21, 30)),
        ])
    with db() as session:
        unsent = dashboard.unsent_messages(session)
        assert [(m.to, m.is_group, m.kind, m.text) for m in unsent.rows] == [("wxid_li", False, "summary", "还没发")]
        counts = dashboard.queue_counts(session, [CAMPAIGN])
        assert counts == dashboard.QueueCounts(review=3, missing=0, late=1, waitlist=1, unpaid=4, unsent=1)
        assert dashboard.queue_counts(session, unsent_before=at(21)).unsent == 0
        assert dashboard.queue_counts(session, ["veg-1127"]) == dashboard.QueueCounts(0, 0, 0, 0, 0, 1)


def test_campaigns_listed_latest_first_or_largest_first(db):
    with db() as session:
        listed = dashboard.campaign_summaries(session)
        assert [(c.id, c.orders, c.gmv, c.groups) for c in listed.rows] == [
            ("veg-1127", 0, D(0), 0), (CAMPAIGN, 5, D("134.6"), 2)]
        assert [c.id for c in dashboard.campaign_summaries(session, by_gmv=True).rows] == [CAMPAIGN, "veg-1127"]
        only = dashboard.campaign_summaries(session, ids=["veg-1127"])
        assert [c.id for c in only.rows] == ["veg-1127"] and only.total == 1
        assert [c.id for c in dashboard.campaign_summaries(session, limit=1, offset=1).rows] == [CAMPAIGN]
        assert dashboard.campaign_summaries(session, limit=1).total == 2
        assert dashboard.campaign_titles(session) == [("veg-1127", "周五蔬菜团"), (CAMPAIGN, "周三水果团")]
        assert dashboard.campaign_ids_between(session, at(0), at(0, day=25)) == [CAMPAIGN]
        assert dashboard.campaign_ids_between(session, at(0, day=25), at(0, day=26)) == []


def _csv(session, kind: str, flt: ExportFilter) -> list[dict]:
    out = io.StringIO()
    export(session, kind, out, flt, TZ)
    return list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))


def test_figures_agree_with_the_exports(db):
    with db() as session:
        procurement = {r["sku"]: (D(r["qty"]), D(r["amount"]), int(r["groups"]))
                       for r in _csv(session, "procurement", ExportFilter(CAMPAIGN))}
        assert procurement == {p.sku: (p.qty, p.gmv, p.groups) for p in dashboard.procurement(session, CAMPAIGN)
                               if p.qty}
        orders = [r for r in _csv(session, "orders", ExportFilter(start=at(0), end=at(0, day=25)))
                  if r["status"] == "ok"]
        day = dashboard.totals(session, Scope(start=at(0), end=at(0, day=25)))
        assert sum(D(r["amount"]) for r in orders) == day.gmv
        by_group: dict[str, Decimal] = {}
        for r in orders:
            by_group[r["group"]] = by_group.get(r["group"], D(0)) + D(r["amount"])
        assert by_group == {g.group: g.gmv for g in dashboard.sales_by_group(session, Scope(CAMPAIGN)).rows}
        pickup = _csv(session, "pickup", ExportFilter(CAMPAIGN))
        assert sum(D(r["amount"]) for r in pickup) == day.gmv and len(pickup) == day.members


def test_a_group_without_a_name_is_shown_by_its_chat_id(sessions):
    load(sessions, SETUP.replace('groups = ["翠苑二区邻里群"]', 'groups = ["12345@chatroom"]'))
    with sessions.begin() as session:
        session.execute(update(Group).where(Group.chat_id == "12345@chatroom").values(name=""))
    Feed(sessions, "12345@chatroom").chain("wxid_a", [line(1, "阿花", ("XG01", 1))], at(10))
    with sessions() as session:
        [row] = dashboard.sales_by_group(session, Scope(CAMPAIGN)).rows
        assert (row.group, row.leader) == ("12345@chatroom", "老周")


def test_empty_database(sessions):
    load(sessions, SETUP.split("[[campaigns]]")[0])
    with sessions() as session:
        assert dashboard.totals(session, Scope()) == dashboard.Totals(0, D(0), 0, 0)
        assert dashboard.sales_by_group(session, Scope()).rows == [] and dashboard.campaign_summaries(session).total == 0
        assert dashboard.queue_counts(session) == dashboard.QueueCounts(0, 0, 0, 0, 0, 0)
        assert dashboard.unsent_messages(session, limit=10, offset=10).rows == []


def test_orders_per_hour_is_capped_for_a_very_long_campaign(sessions):
    long = SETUP.replace("deadline = 2026-11-24T22:00:00+08:00", "deadline = 2027-11-24T22:00:00+08:00").replace(
        "pickup = 2026-11-25T16:00:00+08:00", "pickup = 2027-11-25T16:00:00+08:00")
    load(sessions, long)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(9) + timedelta(hours=5))
    with sessions() as session:
        hours = dashboard.orders_per_hour(session, find_campaign(session, CAMPAIGN))
        assert len(hours) == dashboard.MAX_HOURS and hours[5] == (at(14), 1)
