"""The ledger a leader reconciles with, on SQLite and PostgreSQL: order numbers, the current
campaigns of a group, held chains, commission rates kept per item, statements that add up,
paid marks, flags for the leader, and waitlist promotions to be told."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from parsers.model import Flag, FlagKind, ParsedMessage
from storage.chains import (
    apply_chain,
    chain_campaign,
    held_chains,
    hold_copy,
    release_held,
    reset_projection,
)
from storage.corrections import apply_shortage, mark_paid
from storage.db import open_db
from storage.log import record_message
from storage.lookup import (
    campaign_for_group,
    campaigns_for_group,
    current_campaigns,
    group_for_chat,
    leader_ids,
    running_campaigns,
)
from storage.models import Adjustment, Chain, CommissionRate, EntryRow, OrderCounter, OrderItem
from storage.orders import ProblemKind, cancel_entry, next_order_no
from storage.rates import RateHistory, record_rate
from storage.reports import (
    FLAGGED,
    entries_needing_review,
    leader_entries,
    leader_statement,
    member_orders,
    order_lines,
    statements,
)
from storage.setup import apply_setup, load_setup_text
from tests.conftest import wait_for_a_lock_wait
from tests.storage.helpers import GROUP, GROUP2, LEADER, SETUP, TZ, Feed, at, line, load

D = Decimal
CAMPAIGN = "fruit-1124"


@pytest.fixture
def db(sessions):
    load(sessions)
    return sessions


def numbers(session, chat: str = GROUP) -> list[tuple[str, str, int | None]]:
    """(author, raw, order number) of the entries of a group, oldest first."""
    group = group_for_chat(session, chat)
    return [tuple(r) for r in session.execute(
        select(EntryRow.author_id, EntryRow.raw, EntryRow.order_no).join(Chain, Chain.id == EntryRow.chain_id)
        .where(Chain.group_id == group.id).order_by(EntryRow.id))]


# --- order numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("last", "seq", "expected"), [
    (0, 1, 1), (4, 5, 5), (5, 5, 6), (5, 3, 6), (5, 0, 6), (5, 25, 25), (5, 26, 6), (5, 9999, 6),
], ids=["first", "next-in-chain", "same-number-twice", "an-older-number", "no-number", "a-gap",
        "too-far-ahead", "absurd"])
def test_a_new_order_takes_its_chain_number_when_still_ahead(last, seq, expected):
    assert next_order_no(last, seq) == expected


def test_each_order_keeps_the_number_it_got_when_first_seen(db):
    feed = Feed(db)
    base = [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("PT01", 1))]
    feed.chain("wxid_wang", base[:1], at(10))
    feed.chain("wxid_si", base, at(10, 5))
    # two members copy the same version: both write "3."
    feed.chain("wxid_zhao", base + [line(3, "赵哥", ("XG01", 1))], at(10, 10))
    feed.chain("wxid_qian", base + [line(3, "钱姨", ("JZ01", 1))], at(10, 11))
    # the merged copy renumbers them 3 and 4, then 孙姐 appends 5; 李四 cancels
    merged = [base[0], line(2, "李四", ("PT01", 1), extra="取消", cancel=True), line(3, "赵哥", ("XG01", 1)),
              line(4, "钱姨", ("JZ01", 1)), line(5, "孙姐", ("XG01", 1))]
    feed.chain("wxid_sun", merged, at(10, 20))
    feed.chain("wxid_si", merged, at(10, 25))
    with db() as session:
        got = {(a, n) for a, _raw, n in numbers(session) if n is not None}
        counter = session.scalar(select(OrderCounter.last_no))
    assert got == {("wxid_wang", 1), ("wxid_si", 2), ("wxid_zhao", 3), ("wxid_qian", 4), ("wxid_sun", 5)}
    assert counter == 5
    # a cancelled order keeps its number, and it is never given again
    feed.chain("wxid_zhou", merged + [line(6, "周周", ("XG01", 1))], at(10, 30))
    with db() as session:
        assert ("wxid_zhou", "周周 麒麟西瓜1个", 6) in numbers(session)


def test_lines_that_are_no_orders_get_no_number_and_late_lines_do(db):
    feed = Feed(db)
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))
    # 李四 changes 王姐's line: kept for review, no number
    feed.chain("wxid_si", [line(1, "王姐", ("XG01", 9)), line(2, "李四", ("XG01", 1))], at(10, 5))
    feed.chain("wxid_late", [line(1, "王姐", ("XG01", 9)), line(2, "李四", ("XG01", 1)),
                             line(3, "晚到", ("XG01", 1))], at(23))
    feed.free("wxid_sun", "+1 西瓜", [line(0, "孙", ("XG01", 1)).items[0]], at(11))
    with db() as session:
        by_raw = {raw: n for _a, raw, n in numbers(session)}
    assert by_raw["王姐 麒麟西瓜2个"] == 1 and by_raw["李四 麒麟西瓜1个"] == 2 and by_raw["晚到 麒麟西瓜1个"] == 3
    assert by_raw["王姐 麒麟西瓜9个"] is None and by_raw["+1 西瓜"] is None


def test_numbers_are_per_campaign_and_group_and_a_rebuild_gives_the_same(db):
    Feed(db).chain("wxid_wang", [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("XG01", 1))], at(10))
    Feed(db, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    with db() as session:
        before = numbers(session) + numbers(session, GROUP2)
    assert [n for _a, _r, n in before] == [1, 2, 1]
    with db.begin() as session:
        reset_projection(session)
        assert session.scalar(select(OrderCounter.last_no)) is None
    Feed(db, prefix="again-").chain("wxid_wang", [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("XG01", 1))], at(10))
    Feed(db, GROUP2, prefix="again-g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    with db() as session:
        assert numbers(session) + numbers(session, GROUP2) == before


def test_leader_entries_carry_their_group(db):
    Feed(db).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))
    Feed(db, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    with db() as session:
        ids = [group_for_chat(session, GROUP).id, group_for_chat(session, GROUP2).id]
        found = [(e.author_id, e.order_no, g) for e, g in leader_entries(session, CAMPAIGN, ids)]
    assert found == [("wxid_wang", 1, ids[0]), ("wxid_qian", 1, ids[1])]


# --- campaigns of a group, and chains held for the leader ----------------------------------------

TWO = SETUP + """
[[campaigns]]
id = "meat-1124"
title = "周二肉菜团"
opens = 2026-11-24T09:00:00+08:00
deadline = 2026-11-24T20:00:00+08:00
[[campaigns.products]]
sku = "WH01"
name = "五花肉"
price = 32
unit = "斤"
[[campaigns]]
id = "fruit-1201"
title = "周二水果团"
opens = 2026-12-01T09:00:00+08:00
deadline = 2026-12-01T22:00:00+08:00
[[campaigns.products]]
sku = "XG01"
name = "麒麟西瓜"
price = 15
[[campaigns]]
id = "elsewhere"
title = "翠苑专场"
opens = 2026-11-24T09:00:00+08:00
deadline = 2026-11-24T22:00:00+08:00
groups = ["翠苑二区邻里群"]
"""


@pytest.mark.parametrize(("when", "expected"), [
    (at(8), []),
    (at(10), ["meat-1124", "fruit-1124"]),
    (at(21), ["meat-1124", "fruit-1124"]),  # meat closed at 20:00: its late lines still find it
    (at(9, day=30), ["meat-1124", "fruit-1124"]),  # nothing newer opened
    (datetime(2026, 12, 1, 10, tzinfo=TZ), ["fruit-1201"]),  # this week's supersedes last week's
], ids=["before", "side-by-side", "one-closed", "days-later", "next-week"])
def test_the_campaigns_of_a_group(sessions, when, expected):
    load(sessions, TWO)
    with sessions() as session:
        group = group_for_chat(session, GROUP)
        assert [c.id for c in campaigns_for_group(session, group.id, when)] == expected
        other = group_for_chat(session, GROUP2).id
        assert [c.id for c in current_campaigns(session, [group.id, other], at(10))] == [
            "meat-1124", "elsewhere", "fruit-1124"]  # nearest deadline first


@pytest.mark.parametrize(("when", "expected"), [
    (at(10), ["meat-1124", "elsewhere", "fruit-1124"]),
    (at(23), ["meat-1124", "elsewhere", "fruit-1124"]),  # all closed: those since the latest opening
    (datetime(2026, 12, 2, 10, tzinfo=TZ), ["fruit-1201"]),
], ids=["running", "closed-side-by-side", "next-week-closed"])
def test_the_campaigns_an_admin_sees(sessions, when, expected):
    load(sessions, TWO)
    with sessions() as session:
        assert [c.id for c in running_campaigns(session, when)] == expected


def test_a_held_chain_keeps_its_copies_until_released(sessions):
    load(sessions, TWO)
    with sessions.begin() as session:
        group = group_for_chat(session, GROUP)
        copies = []
        for n, minute in enumerate((0, 5, 3)):  # the third was sent before the second
            copies.append(record_message(session, platform="t", message_id=f"h{n}", chat_id=GROUP, chat_name=GROUP,
                                         sender_id=f"wxid_{n}", sender_name=str(n), text=f"copy {n}",
                                         sent_at=at(10, minute), received_at=at(10, 6)))
        assert [hold_copy(session, group, "周末团购", "周末团购", m) for m in copies] == [True, False, False]
        assert [c.title for c in held_chains(session, [group.id])] == ["周末团购"]
        assert chain_campaign(session, group.id, "周末团购", ["fruit-1124", "meat-1124"]) is None
    with sessions.begin() as session:
        released = release_held(session, group.id, "周末团购")
        assert [m.message_id for m in released] == ["h0", "h2", "h1"]  # in the order they were sent
        assert held_chains(session, [group.id]) == [] and release_held(session, group.id, "周末团购") == []
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10, 10))  # put in the nearest deadline's
    with sessions() as session:
        assert chain_campaign(session, group.id, "周三水果团", ["fruit-1124", "meat-1124"]) == "meat-1124"
        assert chain_campaign(session, group.id, "周三水果团", ["fruit-1124"]) is None


# --- commission rates ---------------------------------------------------------------------------


def test_a_rate_history_holds_the_rate_in_force_at_each_moment(db):
    with db.begin() as session:
        assert record_rate(session, LEADER, D("0.12"), at(9)) is False  # the set-up's rate already
        assert record_rate(session, LEADER, D("0.15"), at(12)) is True
        assert record_rate(session, LEADER, D("0.1500"), at(13)) is False
        assert record_rate(session, None, D("0.08"), at(12)) is True
        assert record_rate(session, "wxid_zhou", None, at(14)) is False  # 老周 has the platform's
    with db() as session:
        li, zhou = RateHistory.load(session, LEADER), RateHistory.load(session, "wxid_zhou")
    assert (li.rate_at(at(11)), li.rate_at(at(12)), li.rate_at(at(20))) == (D("0.12"), D("0.15"), D("0.15"))
    assert (zhou.rate_at(at(11)), zhou.rate_at(at(12))) == (D("0.10"), D("0.08"))


def test_items_keep_the_rate_of_their_time_after_a_reload_and_a_rebuild(db):
    first = [line(1, "王姐", ("XG01", 2))]
    second = first + [line(2, "李四", ("XG01", 1))]
    Feed(db).chain("wxid_wang", first, at(10))
    with db.begin() as session:
        apply_setup(session, load_setup_text(SETUP.replace("commission_rate = 0.12", "commission_rate = 0.15")),
                    at=at(10, 30))
    Feed(db, prefix="b-").chain("wxid_si", second, at(11))

    def rates():
        with db() as session:
            return [(m, D(r)) for m, r in session.execute(
                select(OrderItem.member_id, OrderItem.commission_rate).order_by(OrderItem.id))]

    def statement():
        with db() as session:
            return [(s.commission_rate, s.gross, s.net, s.commission)
                    for s in statements(session, at(0), at(0, day=25), leader_id=LEADER)]

    assert rates() == [("wxid_wang", D("0.12")), ("wxid_si", D("0.15"))]
    assert statement() == [(D("0.12"), D(30), D(30), D("3.6")), (D("0.15"), D(15), D(15), D("2.25"))]
    before = statement()
    # another reload (back to 12%) changes no order taken before it
    with db.begin() as session:
        apply_setup(session, load_setup_text(SETUP), at=at(12))
    assert statement() == before
    with db.begin() as session:
        reset_projection(session)
    Feed(db, prefix="again-").chain("wxid_wang", first, at(10))
    Feed(db, prefix="again2-").chain("wxid_si", second, at(11))
    assert rates() == [("wxid_wang", D("0.12")), ("wxid_si", D("0.15"))]
    assert statement() == before
    with db() as session:
        summed = leader_statement(session, LEADER, at(0), at(0, day=25))
    assert (summed.commission_rate, summed.rates, summed.commission) == (None, (D("0.12"), D("0.15")), D("5.85"))


# --- statements ---------------------------------------------------------------------------------


def test_a_statement_row_adds_up_and_a_later_shortage_is_next_months(db):
    Feed(db).chain("wxid_wang", [line(1, "王姐", ("XG01", 2)), line(2, "李四", ("XG01", 1))], at(10))
    december = datetime(2026, 12, 2, 10, tzinfo=TZ)
    with db.begin() as session:
        group = group_for_chat(session, GROUP)
        apply_shortage(session, CAMPAIGN, [group.id], "XG01", D(2), december, LEADER)
    with db() as session:
        november = statements(session, at(0, day=1), datetime(2026, 12, 1, tzinfo=TZ), leader_id=LEADER)
        dec = statements(session, datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ),
                         leader_id=LEADER)
        adjustments = session.scalars(select(Adjustment.amount)).all()
    assert [(s.orders, s.gross, s.adjustments, s.net, s.commission) for s in november] == [
        (2, D(45), D(0), D(45), D("5.4"))]  # as it was before the shortage
    assert [(s.orders, s.gross, s.adjustments, s.net, s.commission) for s in dec] == [
        (0, D(0), D(-30), D(-30), D("-3.6"))]
    assert sorted(adjustments) == [D(-15), D(-15)]
    for s in november + dec:
        assert s.gross + s.adjustments == s.net and (s.net * s.commission_rate).quantize(D("0.01")) == s.commission


def test_a_shortage_in_the_same_month_counts_the_order_at_what_was_ordered(db):
    Feed(db).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))
    with db.begin() as session:
        apply_shortage(session, CAMPAIGN, [group_for_chat(session, GROUP).id], "XG01", D(2), at(15), LEADER)
    with db() as session:
        [row] = statements(session, at(0), at(0, day=25), leader_id=LEADER)
    # the item was cut to nothing: still an order taken at 30, and 30 refunded
    assert (row.orders, row.gross, row.adjustments, row.net, row.commission) == (1, D(30), D(-30), D(0), D(0))


def test_statements_of_one_campaign(sessions):
    load(sessions, TWO)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(21))  # the meat campaign closed at 20:00
    with sessions() as session:
        assert [s.gross for s in statements(session, at(0), at(0, day=25), LEADER, campaign_id="meat-1124")] == [D(0)]
        assert [s.gross for s in statements(session, at(0), at(0, day=25), LEADER, campaign_id=CAMPAIGN)] == [D(30)]


# --- paid marks, review, promotions --------------------------------------------------------------


def test_paid_on_the_line_or_by_the_leader(db):
    feed = Feed(db)
    wang = line(1, "王姐", ("XG01", 2))
    liu = line(2, "刘姐", ("PT01", 1), extra="已付", author="wxid_liu")
    liu.paid = True
    feed.chain("wxid_wang", [wang, liu, line(3, "李四", ("JZ01", 1), author="wxid_si")], at(10))
    with db.begin() as session:
        group = group_for_chat(session, GROUP)
        si = session.scalar(select(EntryRow.id).where(EntryRow.member == "李四"))
        assert mark_paid(session, [si], at(12)) == 1 and mark_paid(session, [si], at(13)) == 0
    # 李四 edits their line afterwards: the leader's mark stays
    feed.chain("wxid_si", [wang, liu, line(3, "李四", ("JZ01", 2))], at(12, 30))
    with db() as session:
        lines = order_lines(session, CAMPAIGN, [group.id])
        rows = member_orders(session, CAMPAIGN, [group.id])
    assert [(o.number, o.member, o.amount, o.paid) for o in lines] == [
        (1, "王姐", D(30), False), (2, "刘姐", D(25), True), (3, "李四", D("19.80"), True)]
    assert [(r.member, r.numbers, r.paid) for r in rows] == [("王姐", [1], False), ("刘姐", [2], True),
                                                             ("李四", [3], True)]


def test_flags_are_kept_with_the_entry_and_shown_for_review(db):
    entry = line(1, "王姐", ("XG01", 2), extra="三四斤猪肉")
    entry.flags = [Flag(FlagKind.RANGE, "三四斤"), Flag(FlagKind.UNEXPLAINED_NUMBER, "8号", "8")]
    out = Feed(db).chain("wxid_wang", [entry], at(10))
    assert [(p.kind, p.text, p.detail) for p in out.problems] == [
        (ProblemKind.FLAG, "三四斤", "range"), (ProblemKind.FLAG, "8号", "unexplained_number")]
    with db() as session:
        stored = session.scalar(select(EntryRow.flags))
        review = entries_needing_review(session, CAMPAIGN, [group_for_chat(session, GROUP).id])
    assert stored == [{"kind": "range", "text": "三四斤", "detail": ""},
                      {"kind": "unexplained_number", "text": "8号", "detail": "8"}]
    assert [(r.member, r.text, r.status, r.reason, r.number) for r in review] == [
        ("王姐", "三四斤", FLAGGED, "range", 1), ("王姐", "8号", FLAGGED, "unexplained_number", 1)]
    # the member rewrites the line without the range: nothing is flagged any more
    Feed(db, prefix="b-").chain("wxid_wang", [line(1, "王姐", ("XG01", 2), extra="3斤猪肉")], at(10, 5))
    with db() as session:
        assert session.scalar(select(EntryRow.flags).where(EntryRow.status == "ok")) is None
        assert entries_needing_review(session, CAMPAIGN) == []


def test_a_cancellation_promotes_the_waitlist_in_another_group_to_be_told_there(db):
    # 阳光玫瑰 has a stock of 3 for the whole campaign
    Feed(db).chain("wxid_wang", [line(1, "王姐", ("PT01", 3))], at(10))
    out = Feed(db, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("PT01", 1))], at(10, 5))
    assert [p.kind for p in out.problems] == ["waitlist"]
    with db.begin() as session:
        wang = session.scalar(select(EntryRow).where(EntryRow.author_id == "wxid_wang"))
        promoted = cancel_entry(session, wang, actor_id=LEADER, message_id=None, at=at(11))
        other = group_for_chat(session, GROUP2).id
    assert [(p.kind, p.member_id, p.member_name, p.text, p.detail, p.group_id) for p in promoted] == [
        (ProblemKind.PROMOTED, "wxid_qian", "钱姨", "阳光玫瑰1串", "阳光玫瑰", other)]
    assert promoted[0].key


def test_the_rate_history_starts_with_the_set_up(db):
    with db() as session:
        rows = session.execute(select(CommissionRate.leader_id, CommissionRate.rate, CommissionRate.valid_from)
                               .order_by(CommissionRate.id)).all()
    assert [(lid, D(r) if r is not None else None, v) for lid, r, v in rows] == [
        (None, D("0.10"), None), (LEADER, D("0.12"), None), ("wxid_zhou", None, None)]


def _copy_of_chain(session, key: str, message_id: str, sender: str, entries) -> None:
    message = record_message(session, platform="t", message_id=message_id, chat_id=GROUP, chat_name=GROUP,
                             sender_id=sender, sender_name=sender, text=key, sent_at=at(10), received_at=at(10))
    group = group_for_chat(session, GROUP)
    apply_chain(session, group=group, campaign=campaign_for_group(session, group, at(10)), message=message,
                parsed=ParsedMessage(is_chain=True, title=key, chain_key=key, entries=entries),
                leader_ids=leader_ids(group), at=at(10))


@pytest.mark.parametrize("first_order_exists", [True, False], ids=["counter-exists", "first-orders"])
def test_two_chains_of_one_campaign_written_at_once_never_share_a_number(pg_url, first_order_exists):
    """Two processes each add an order to a different chain of the same campaign and group at
    the same moment: the second waits for the first's number, and takes the next."""
    sessions = open_db(pg_url)
    load(sessions)
    if first_order_exists:
        with sessions.begin() as session:
            _copy_of_chain(session, "周三水果团", "a0", "wxid_wang", [line(1, "王姐", ("XG01", 1))])
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with sessions.begin() as session:
                _copy_of_chain(session, "水果二群接龙", "b1", "wxid_si", [line(1, "李四", ("PT01", 1))])
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            failures.append(exc)

    with sessions.begin() as session:
        _copy_of_chain(session, "周三水果团", "a1", "wxid_zhao", [line(1, "王姐", ("XG01", 1)), line(2, "赵哥", ("XG01", 1))])
        writer = threading.Thread(target=second)
        writer.start()
        wait_for_a_lock_wait(sessions)
    writer.join(30)
    assert failures == []
    with sessions() as session:
        got = sorted(session.scalars(select(EntryRow.order_no)))
    assert got == [1, 2, 3]
    sessions.kw["bind"].dispose()
