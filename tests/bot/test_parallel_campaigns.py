"""Two campaigns side by side in one group (周三水果团 until 22:00, 周三肉菜团 until 20:00), through
App.feed: each chain goes to its own campaign, deadlines, late lines, posts and commands are per
campaign, and a chain that fits both is put to the leader, never guessed."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest
from sqlalchemy import select

from bot import broadcasts, texts
from bot.app import App
from bot.context import AppContext
from bot.transports.fake import FakeTransport
from storage.models import Campaign, Chain, EntryRow, OrderItem
from storage.setup import apply_setup, load_setup_text
from tests.conftest import GROUP, at, demo_setup_text

LEADER = "wxid_lijie"
FRUIT = "#接龙\n周三水果团\n例 3栋502 王姐 西瓜1个\n\n"
MEAT = "#接龙\n周三肉菜团 今晚8点截单\n\n"


def meat_setup_text() -> str:
    return resources.files("bot.demo").joinpath("meat.toml").read_text(encoding="utf-8")


@pytest.fixture
def both(sessions):
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text() + "\n" + meat_setup_text()))
    return sessions


@pytest.fixture
def chat(both, clock, settings):
    return FakeTransport(App(AppContext(both, clock, settings)), clock)


def chain(head: str, *lines: str) -> str:
    return head + "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def orders(sessions, status: str = "ok") -> list[tuple[str, str, str, float]]:
    """(campaign, member, sku, qty) of the items with this status, oldest first."""
    with sessions() as session:
        rows = session.execute(select(OrderItem.campaign_id, OrderItem.member_id, OrderItem.sku, OrderItem.qty)
                               .where(OrderItem.status == status).order_by(OrderItem.id)).all()
    return [(c, m, s, float(q)) for c, m, s, q in rows]


def ask(chat, text: str, when=None) -> str:
    out = chat.private(LEADER, "李姐", text, at=when or at(25, 14))
    return "\n".join(m.text for m in out if m.to == LEADER)


@pytest.fixture
def day(chat):
    """A fruit chain and a meat chain in the same group, copied by different members."""
    chat.group(GROUP, "wxid_wang", "王姐", chain(FRUIT, "3栋502 王姐 西瓜2个"), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_zhang", "张叔", chain(MEAT, "5栋1201 张叔 五花肉2斤"), at=at(25, 9, 10))
    chat.group(GROUP, "wxid_liu", "刘姐", chain(FRUIT, "3栋502 王姐 西瓜2个", "6栋302 刘姐 阳光玫瑰1串"),
               at=at(25, 9, 15))
    chat.group(GROUP, "wxid_wang", "王姐", chain(MEAT, "5栋1201 张叔 五花肉2斤", "3栋502 王姐 排骨1斤 青菜2把"),
               at=at(25, 9, 20))
    chat.wait(timedelta(minutes=5))
    return chat


def test_each_chain_goes_to_the_campaign_its_title_names(day, both) -> None:
    assert orders(both) == [
        ("fruit-1125", "wxid_wang", "XG01", 2), ("meat-1125", "wxid_zhang", "WH01", 2),
        ("fruit-1125", "wxid_liu", "PT01", 1), ("meat-1125", "wxid_wang", "PG01", 1),
        ("meat-1125", "wxid_wang", "QC01", 2)]
    assert orders(both, "unmatched") == []
    # nobody was told “没认出”: every line was read with its own campaign's catalog
    assert not any("没认出" in m.text for m in day.sent)


def test_a_chain_without_a_campaign_title_goes_by_its_products(chat, both) -> None:
    chat.group(GROUP, "wxid_chen", "小陈", chain("#接龙\n今天团购\n\n", "小陈 鸡翅2斤 土豆3斤"), at=at(25, 10))
    chat.group(GROUP, "wxid_sun", "孙阿姨", chain("#接龙\n今天团购\n\n", "小陈 鸡翅2斤 土豆3斤", "孙阿姨 西瓜1个"),
               at=at(25, 10, 5))
    # the chain is the meat campaign's: 孙阿姨's watermelon is not sold there, and she is told so
    assert [(c, m, s) for c, m, s, _q in orders(both)] == [
        ("meat-1125", "wxid_chen", "JC01"), ("meat-1125", "wxid_chen", "TD01")]
    assert [(c, m) for c, m, _s, _q in orders(both, "unmatched")] == [("meat-1125", "wxid_sun")]


def test_deadlines_and_late_lines_are_per_campaign(day, both) -> None:
    out = day.group(GROUP, "wxid_chen", "小陈", chain(MEAT, "5栋1201 张叔 五花肉2斤", "3栋502 王姐 排骨1斤 青菜2把",
                                                      "2栋101 小陈 土豆2斤"), at=at(25, 20, 30))
    fruit = day.group(GROUP, "wxid_chen", "小陈", chain(FRUIT, "3栋502 王姐 西瓜2个", "6栋302 刘姐 阳光玫瑰1串",
                                                        "2栋101 小陈 西瓜1个"), at=at(25, 20, 31))
    assert orders(both, "late") == [("meat-1125", "wxid_chen", "TD01", 2)]
    assert ("fruit-1125", "wxid_chen", "XG01", 1) in orders(both)
    day.wait(timedelta(minutes=1))
    late = [m.text for m in day.sent if "已过截单时间" in m.text]
    assert late == ["@小陈 " + texts.LATE.format(deadline="11月25日20:00", text="2栋101 小陈 土豆2斤")]
    assert not any("已过截单" in m.text for m in fruit)
    assert out is not None


def test_scheduled_posts_are_per_campaign(day, both, chat) -> None:
    app = chat.app
    with both.begin() as session:
        assert broadcasts.run_due_posts(app.ctx, session, app.outbox, at(25, 20)) > 0
    # The late opening posts go out alone (members copy them), the rest paced after them.
    sent = [m for _ in range(6) for m in chat.wait(timedelta(minutes=1))]
    text = "\n".join(m.text for m in sent)
    assert "【周三肉菜团】已截单" in text and "【周三水果团】已截单" not in text  # fruit closes at 22:00
    assert "1. 张叔：五花肉×2斤" in text and "2. 王姐：排骨×1斤、上海青×2把" in text


def test_totals_details_and_unpicked_cover_each_campaign(day) -> None:
    totals = ask(day, "汇总")
    assert texts.TOTALS_HEADER.format(title="周三水果团", groups=GROUP) in totals
    assert texts.TOTALS_HEADER.format(title="周三肉菜团", groups=GROUP) in totals
    assert "五花肉：2斤，64元" in totals and "麒麟西瓜：2个，30元" in totals
    fruit_only = ask(day, "汇总 水果", at(25, 14, 1))
    assert "周三水果团" in fruit_only and "周三肉菜团" not in fruit_only and "五花肉" not in fruit_only
    details = ask(day, "明细 肉菜团", at(25, 14, 2))
    assert details.splitlines() == [texts.DETAILS_HEADER.format(title="周三肉菜团"),
                                    "1. 张叔（5栋1201）：五花肉×2斤，64元", "2. 王姐（3栋502）：排骨×1斤、上海青×2把，46元"]
    unpicked = ask(day, "未取", at(25, 14, 3))
    assert texts.UNPICKED_HEADER.format(title="周三水果团", count=2) in unpicked
    assert texts.UNPICKED_HEADER.format(title="周三肉菜团", count=2) in unpicked
    assert ask(day, "汇总 海鲜团", at(25, 14, 4)).startswith(texts.CAMPAIGN_NOT_FOUND.format(name="海鲜团"))


def test_close_arrival_and_shortage_ask_which_campaign(day, both) -> None:
    which = texts.WHICH_CAMPAIGN.format(count=2, titles="周三肉菜团、周三水果团", example="截单 周三肉菜团")
    assert ask(day, "截单") == which
    assert ask(day, "到货", at(25, 14, 1)).startswith("现在有2个团")
    assert ask(day, "缺货 五花肉 1", at(25, 14, 2)).startswith("现在有2个团")
    assert ask(day, "截单 肉菜", at(25, 14, 3)) == texts.CLOSED.format(count=1)
    # the meat campaign is closed in this group, the fruit one is not
    day.group(GROUP, "wxid_chen", "小陈", chain(MEAT, "5栋1201 张叔 五花肉2斤", "3栋502 王姐 排骨1斤 青菜2把",
                                                "2栋101 小陈 土豆2斤"), at=at(25, 15))
    day.group(GROUP, "wxid_chen", "小陈", chain(FRUIT, "3栋502 王姐 西瓜2个", "6栋302 刘姐 阳光玫瑰1串",
                                                "2栋101 小陈 西瓜1个"), at=at(25, 15, 1))
    assert orders(both, "late") == [("meat-1125", "wxid_chen", "TD01", 2)]
    assert ("fruit-1125", "wxid_chen", "XG01", 1) in orders(both)
    reply = ask(day, "缺货 肉菜 五花肉 1", at(26, 15))
    assert reply.startswith("五花肉缺1斤")
    assert ("meat-1125", "wxid_zhang", "WH01", 1) in orders(both)


def test_a_number_in_two_campaigns_is_asked_about_and_changes_nothing(day, both) -> None:
    reply = ask(day, "核销 1")
    assert reply.splitlines()[0] == texts.AMBIGUOUS_ORDER.format(what="1", count=2)
    assert "周三水果团 1号 王姐（3栋502）：麒麟西瓜×2" in reply and "周三肉菜团 1号 张叔（5栋1201）：五花肉×2斤" in reply
    with both() as session:
        assert session.scalar(select(EntryRow.id).where(EntryRow.picked_up_at.is_not(None))) is None
    assert ask(day, "核销 肉菜 1", at(25, 14, 1)) == texts.PICKED.format(names="1号张叔")
    # 王姐 has an order in each campaign: by name, she is asked about too
    assert ask(day, "核销 王姐", at(25, 14, 2)).startswith(texts.AMBIGUOUS_ORDER.format(what="王姐", count=2))
    assert ask(day, "核销 水果 王姐", at(25, 14, 3)) == texts.PICKED.format(names="1号王姐")


def test_my_order_covers_both_campaigns(day) -> None:
    out = day.group(GROUP, "wxid_wang", "王姐", "我的订单", at=at(25, 12))
    [reply] = [m for m in out if m.mentions == ("wxid_wang",)]
    assert "你在“周三水果团”订了：麒麟西瓜×2" in reply.text and "你在“周三肉菜团”订了：排骨×1斤、上海青×2把" in reply.text


def test_free_text_goes_to_the_campaign_selling_it(day, both) -> None:
    day.group(GROUP, "wxid_sun", "孙阿姨", "+1 五花肉", at=at(25, 12))
    with both() as session:
        chain_row = session.scalar(select(Chain).where(Chain.kind == "free"))
    assert chain_row.campaign_id == "meat-1125"


TIED = "#接龙\n周末团购\n\n"


def test_a_chain_that_fits_both_waits_for_the_leader(chat, both) -> None:
    first = chat.group(GROUP, "wxid_chen", "小陈", chain(TIED, "2栋101 小陈 一份"), at=at(25, 10))
    asked = [m for m in first if m.to == LEADER]
    assert [m.text for m in asked] == [texts.CHAIN_HELD.format(
        group=GROUP, title="周末团购", campaigns="周三肉菜团、周三水果团", example="周三肉菜团")]
    second = chat.group(GROUP, "wxid_sun", "孙阿姨", chain(TIED, "2栋101 小陈 一份", "1栋202 孙阿姨 两份"),
                        at=at(25, 10, 5))
    assert [m for m in second if m.to == LEADER] == []  # asked once
    with both() as session:
        assert session.scalar(select(EntryRow.id)) is None  # nothing guessed
    reply = ask(chat, "归团 肉菜", at(25, 10, 10))
    assert reply == texts.ASSIGNED.format(title="周末团购", campaign="周三肉菜团")
    with both() as session:
        rows = session.execute(select(EntryRow.author_id, EntryRow.order_no, Chain.campaign_id)
                               .join(Chain, Chain.id == EntryRow.chain_id).order_by(EntryRow.id)).all()
    # each line belongs to who wrote it, as if the campaign had been known from the start
    assert [tuple(r) for r in rows] == [("wxid_chen", 1, "meat-1125"), ("wxid_sun", 2, "meat-1125")]
    later = chat.group(GROUP, "wxid_wang", "王姐", chain(TIED, "2栋101 小陈 一份", "1栋202 孙阿姨 两份",
                                                         "3栋502 王姐 五花肉1斤"), at=at(25, 11))
    assert [m for m in later if m.to == LEADER] == []
    assert ("meat-1125", "wxid_wang", "WH01", 1) in orders(both)


def test_a_held_chain_is_released_when_a_later_copy_makes_it_clear(chat, both) -> None:
    chat.group(GROUP, "wxid_chen", "小陈", chain(TIED, "2栋101 小陈 一份"), at=at(25, 10))
    chat.group(GROUP, "wxid_sun", "孙阿姨", chain(TIED, "2栋101 小陈 一份", "1栋202 孙阿姨 西瓜1个"),
               at=at(25, 10, 5))
    with both() as session:
        rows = session.execute(select(EntryRow.author_id, Chain.campaign_id)
                               .join(Chain, Chain.id == EntryRow.chain_id).order_by(EntryRow.id)).all()
        held = session.scalar(select(Chain).where(Chain.kind == "held"))
    assert [tuple(r) for r in rows] == [("wxid_chen", "fruit-1125"), ("wxid_sun", "fruit-1125")]
    assert held is None
    assert ask(chat, "归团 水果", at(25, 10, 10)) == texts.NOTHING_HELD


def test_a_campaign_opening_later_takes_only_chains_from_then_on(sessions, clock, settings) -> None:
    later = meat_setup_text().replace("opens = 2026-11-25T09:00:00", "opens = 2026-11-25T12:00:00")
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text() + "\n" + later))
    chat = FakeTransport(App(AppContext(sessions, clock, settings)), clock)
    chat.group(GROUP, "wxid_wang", "王姐", chain(FRUIT, "3栋502 王姐 西瓜2个"), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_zhang", "张叔", chain(MEAT, "5栋1201 张叔 五花肉2斤"), at=at(25, 12, 30))
    chat.group(GROUP, "wxid_liu", "刘姐", chain(FRUIT, "3栋502 王姐 西瓜2个", "6栋302 刘姐 阳光玫瑰1串"),
               at=at(25, 12, 35))
    assert [(c, m) for c, m, _s, _q in orders(sessions)] == [
        ("fruit-1125", "wxid_wang"), ("meat-1125", "wxid_zhang"), ("fruit-1125", "wxid_liu")]
    with sessions() as session:
        assert session.get(Campaign, "meat-1125").opens == at(25, 12)


def test_the_leader_names_which_held_chain_when_several_wait(chat, both) -> None:
    chat.group(GROUP, "wxid_chen", "小陈", chain(TIED, "2栋101 小陈 一份"), at=at(25, 10))
    chat.group(GROUP, "wxid_sun", "孙阿姨", chain("#接龙\n周日接龙\n\n", "1栋202 孙阿姨 两份"), at=at(25, 10, 5))
    assert ask(chat, "归团 肉菜", at(25, 10, 10)) == texts.HELD_WHICH.format(
        titles="“周末团购”、“周日接龙”", example="周末团购 肉菜")
    assert ask(chat, "归团 周日 海鲜", at(25, 10, 11)) == texts.CAMPAIGN_NOT_FOUND.format(name="海鲜")
    assert ask(chat, "归团 周日 水果", at(25, 10, 12)) == texts.ASSIGNED.format(title="周日接龙", campaign="周三水果团")
    assert ask(chat, "归团 肉菜", at(25, 10, 13)) == texts.ASSIGNED.format(title="周末团购", campaign="周三肉菜团")
    assert ask(chat, "归团 肉菜", at(25, 10, 14)) == texts.NOTHING_HELD
    with both() as session:
        rows = session.execute(select(EntryRow.author_id, Chain.campaign_id)
                               .join(Chain, Chain.id == EntryRow.chain_id).order_by(Chain.campaign_id)).all()
    assert sorted(tuple(r) for r in rows) == [("wxid_chen", "meat-1125"), ("wxid_sun", "fruit-1125")]
