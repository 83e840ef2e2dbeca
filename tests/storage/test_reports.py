"""storage.reports: totals, member lists, pickup, shortage, statements (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.corrections import apply_shortage, close_campaign, mark_picked_up
from storage.lookup import current_campaign, group_for_chat, is_admin, leader_groups, leader_of
from storage.models import Adjustment, Group
from storage.reports import (
    entries_needing_review,
    leader_statement,
    member_orders,
    month_span,
    monthly_periods,
    platform_totals,
    product_totals,
    unpicked,
)
from tests.storage.helpers import GROUP, GROUP2, LEADER, Feed, at, line, load

D = Decimal
CAMPAIGN = "fruit-1124"


@pytest.fixture
def db(sessions):
    """Two groups: 李姐's with three members' orders, 老周's with one."""
    load(sessions)
    feed = Feed(sessions)
    copy = [line(1, "王姐", ("XG01", 2), ("JZ01", 1.5), address="3栋502")]
    feed.chain("wxid_wang", copy, at(10))
    copy.append(line(2, "李四", ("PT01", 1)))
    feed.chain("wxid_si", copy, at(10, 5))
    copy.append(line(3, "王姐", ("XG01", 1), address="3栋502"))
    feed.chain("wxid_wang", copy, at(10, 10))
    weird = line(4, "赵哥", ("XG01", 1))
    weird.items.append(weird.items[0].__class__(text="榴莲1个", sku=None, name=None, qty=1, unit="个"))
    copy.append(weird)
    feed.chain("wxid_zhao", copy, at(10, 15))
    Feed(sessions, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    return sessions


def _group_id(session, name=GROUP) -> int:
    return group_for_chat(session, name).id


def test_who_is_who(db):
    with db() as session:
        assert [g.name for g in leader_groups(session, LEADER)] == [GROUP]
        assert leader_of(session, LEADER).name == "李姐"
        assert leader_of(session, "wxid_wang") is None
        assert is_admin(session, "wxid_admin") and not is_admin(session, LEADER)
        assert current_campaign(session, [_group_id(session)], at(12)).id == CAMPAIGN
        assert current_campaign(session, [_group_id(session)], at(8)) is None


def test_product_totals_count_ok_items_per_scope(db):
    with db() as session:
        mine = {t.sku: (t.qty, t.amount, t.orders) for t in product_totals(session, CAMPAIGN, [_group_id(session)])}
        everyone = {t.sku: t.qty for t in product_totals(session, CAMPAIGN)}
    assert mine == {"XG01": (D(4), D(60), 3), "PT01": (D(1), D(25), 1), "JZ01": (D("1.5"), D("14.85"), 1)}
    assert everyone == {"XG01": D(8), "PT01": D(1), "JZ01": D("1.5")}


def test_member_orders_one_row_per_member_in_chain_order(db):
    with db() as session:
        rows = member_orders(session, CAMPAIGN, [_group_id(session)])
        wang = member_orders(session, CAMPAIGN, [_group_id(session)], member_id="wxid_wang")
    assert [(r.member_id, r.member, r.seqs, r.amount) for r in rows] == [
        ("wxid_wang", "王姐", [1, 3], D("59.85")), ("wxid_si", "李四", [2], D(25)), ("wxid_zhao", "赵哥", [4], D(15))]
    assert rows[0].address == "3栋502"
    assert rows[0].items == [("麒麟西瓜", D(3), "个"), ("砂糖橘", D("1.5"), "斤")]
    assert rows[0].items_text == "麒麟西瓜×3；砂糖橘×1.5斤"
    assert [r.member_id for r in wang] == ["wxid_wang"]


def test_review_lists_unmatched_items(db):
    with db() as session:
        review = entries_needing_review(session, CAMPAIGN, [_group_id(session)])
    assert [(r.member_id, r.text, r.status) for r in review] == [("wxid_zhao", "榴莲1个", "unmatched")]


def test_pickup_marks_and_unpicked(db):
    with db.begin() as session:
        rows = member_orders(session, CAMPAIGN, [_group_id(session)])
        assert mark_picked_up(session, rows[0].entry_ids, at(16, day=25)) == 2
        assert mark_picked_up(session, rows[0].entry_ids, at(17, day=25)) == 0  # already
    with db() as session:
        assert [r.member_id for r in unpicked(session, CAMPAIGN, [_group_id(session)])] == ["wxid_si", "wxid_zhao"]
        assert member_orders(session, CAMPAIGN, [_group_id(session)])[0].picked_up


def test_a_leaders_early_close_makes_later_lines_late(db):
    with db.begin() as session:
        close_campaign(session, CAMPAIGN, [_group_id(session)], at(12))
    out = Feed(db, prefix="late-").chain("wxid_sun", [line(9, "孙姐", ("XG01", 1))], at(12, 30))
    assert [p.kind for p in out.problems] == ["late"]
    # The other group was not closed.
    out = Feed(db, GROUP2, prefix="g2b-").chain("wxid_wu", [line(1, "钱姨", ("XG01", 4)), line(2, "吴叔", ("XG01", 1))],
                                                at(12, 30))
    assert out.problems == []


def test_shortage_cuts_the_last_orders_first_and_shows_in_statements(db):
    with db.begin() as session:
        cuts = apply_shortage(session, CAMPAIGN, [_group_id(session)], "XG01", D(2), at(15), leader_id=LEADER)
    assert [(c.member_id, c.qty_cut, c.refund) for c in cuts] == [("wxid_zhao", D(1), D(15)),
                                                                  ("wxid_wang", D(1), D(15))]
    with db() as session:
        totals = {t.sku: t.qty for t in product_totals(session, CAMPAIGN, [_group_id(session)])}
        assert totals["XG01"] == D(2)
        assert [a.amount for a in session.scalars(select(Adjustment).order_by(Adjustment.id))] == [D(-15), D(-15)]
        statement = leader_statement(session, LEADER, at(0), at(0, day=25))
    assert statement.adjustments == D(-30)
    assert statement.gmv == D("69.85")  # 99.85 before the cut


def test_leader_statement_and_platform_totals(db):
    with db() as session:
        li = leader_statement(session, LEADER, at(0), at(0, day=25))
        zhou = leader_statement(session, "wxid_zhou", at(0), at(0, day=25))
        before = leader_statement(session, LEADER, at(0, day=20), at(0, day=24))
        total = platform_totals(session, at(0), at(0, day=25))
    assert (li.orders, li.gmv, li.commission_rate, li.commission, li.payable) == (
        4, D("99.85"), D("0.12"), D("11.98"), D("11.98"))
    assert (zhou.orders, zhou.gmv, zhou.commission_rate, zhou.commission) == (1, D(60), D("0.1"), D(6))
    assert (before.orders, before.gmv) == (0, D(0))
    assert (total.orders, total.gmv, total.commission) == (5, D("159.85"), D("17.98"))
    assert [s.leader_id for s in total.leaders] == [LEADER, "wxid_zhou"]


def test_groups_are_isolated(db):
    with db() as session:
        other = session.scalar(select(Group.id).where(Group.name == GROUP2))
        assert [r.member_id for r in member_orders(session, CAMPAIGN, [other])] == ["wxid_qian"]


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("start", "end", "expected"), [
    ((2026, 11, 20), (2026, 11, 25), [((2026, 11, 20), (2026, 11, 25))]),
    ((2026, 11, 1), (2026, 12, 1), [((2026, 11, 1), (2026, 12, 1))]),
    ((2026, 11, 20), (2027, 1, 10), [((2026, 11, 20), (2026, 12, 1)), ((2026, 12, 1), (2027, 1, 1)),
                                     ((2027, 1, 1), (2027, 1, 10))]),
    ((2026, 11, 20), (2026, 11, 20), []),
], ids=["inside-a-month", "a-whole-month", "over-a-new-year", "empty"])
def test_monthly_periods_cut_at_month_starts(start, end, expected):
    def day(d):
        return datetime(*d, tzinfo=BERLIN)
    assert monthly_periods(day(start), day(end), BERLIN) == [(day(a), day(b)) for a, b in expected]


def test_a_month_in_a_zone_with_daylight_saving_starts_at_local_midnight():
    start, end = month_span(2026, 3, BERLIN)
    assert (start.utcoffset().total_seconds(), end.utcoffset().total_seconds()) == (3600, 7200)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 31 * 86400 - 3600  # clocks go forward
    assert month_span(2026, 12, BERLIN)[1] == datetime(2027, 1, 1, tzinfo=BERLIN)
