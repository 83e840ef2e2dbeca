"""Conversations in a group through App.feed with the fake transport and a fixed clock:
what the bot says (compared with bot/texts.py) and what the database holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import texts
from bot.events import IncomingMessage
from storage.db import open_db
from storage.models import EntryRow, MessageLog, OrderItem
from storage.setup import apply_setup, load_setup_text
from tests.conftest import GROUP, at, demo_setup_text

HEAD = "#接龙\n周三水果团\n例 3栋502 王姐 西瓜1个\n\n"
L1 = "1. 3栋502 王姐 麒麟西瓜2个 阳光玫瑰一串"
L2_ZHANG = "2. 5栋1201 张叔 砂糖橘1箱"
L2_LIU = "2. 6栋302 刘姐 土鸡蛋2盒"


def chain(*lines: str) -> str:
    return HEAD + "\n".join(lines)


def items(sessions, status: str = "ok") -> list[tuple[str, str, float]]:
    with sessions() as session:
        rows = session.execute(
            select(OrderItem.member_id, OrderItem.sku, OrderItem.qty).where(OrderItem.status == status)
            .order_by(OrderItem.id)).all()
    return [(m, s, float(q)) for m, s, q in rows]


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_concurrent_copies_keep_both_orders(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_zhang", "张叔", chain(L1, L2_ZHANG), at=at(25, 9, 12))
    chat.group(GROUP, "wxid_liu", "刘姐", chain(L1, L2_LIU), at=at(25, 9, 12, 20))  # same version copied
    chat.group(GROUP, "wxid_chen", "小陈", chain(L1, L2_LIU, "3. 小陈 西瓜1个"), at=at(25, 9, 20))
    assert items(loaded) == [("wxid_wang", "XG01", 2), ("wxid_wang", "PT01", 1), ("wxid_zhang", "JZ01", 1),
                             ("wxid_liu", "JD01", 2), ("wxid_chen", "XG01", 1)]
    with loaded() as session:
        zhang = session.scalar(select(EntryRow).where(EntryRow.author_id == "wxid_zhang"))
    assert zhang.missing and zhang.status == "ok"  # lost from later copies, still counted


def test_member_edits_own_line(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1.replace("2个", "3个")), at=at(25, 9, 30))
    assert items(loaded) == [("wxid_wang", "XG01", 3), ("wxid_wang", "PT01", 1)]


def test_someone_else_changing_a_line_goes_to_review(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    out = chat.group(GROUP, "wxid_zhang", "张叔", chain(L1.replace("2个", "9个"), L2_ZHANG), at=at(25, 9, 30))
    assert items(loaded) == [("wxid_wang", "XG01", 2), ("wxid_wang", "PT01", 1), ("wxid_zhang", "JZ01", 1)]
    assert any(texts.REVIEW.split("：")[0] in m.text and "@张叔" in m.text for m in out)


def test_cancellation_by_the_author(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1 + " 取消"), at=at(25, 9, 40))
    assert items(loaded) == []
    assert [s for _, s, _ in items(loaded, "cancelled")] == ["XG01", "PT01"]


def test_unknown_product_gets_one_mention(chat, loaded) -> None:
    line = "2. 2栋101 小陈 鸭蛋1盒"
    out = chat.group(GROUP, "wxid_chen", "小陈", chain(L1, line), at=at(25, 9, 20))
    mention = [m for m in out if m.mentions == ("wxid_chen",)]
    assert len(mention) == 1 and "鸭蛋1盒" in mention[0].text and "土鸡蛋" in mention[0].text
    # the next copies repeat the line: no second mention
    chat.wait(timedelta(minutes=5))
    later = chat.group(GROUP, "wxid_zhao", "赵哥", chain(L1, line, "3. 赵哥 西瓜1个"), at=at(25, 9, 40))
    assert not any("鸭蛋" in m.text for m in later)


def test_late_line_is_kept_but_not_counted(chat, loaded) -> None:
    out = chat.group(GROUP, "wxid_sun", "孙阿姨", chain("1. 孙阿姨 西瓜1个"), at=at(25, 22, 10))
    assert items(loaded) == []
    assert items(loaded, "late") == [("wxid_sun", "XG01", 1)]
    assert any("已过截单时间" in m.text for m in out)


def test_waitlist_and_promotion(chat, loaded) -> None:
    # 阳光玫瑰 has stock 3 in the demo set-up
    chat.group(GROUP, "wxid_zhao", "赵哥", chain("1. 赵哥 阳光玫瑰3串"), at=at(25, 10))
    out = chat.group(GROUP, "wxid_zhou", "小周", chain("1. 赵哥 阳光玫瑰3串", "2. 小周 阳光玫瑰1串"), at=at(25, 10, 30))
    assert items(loaded, "waitlist") == [("wxid_zhou", "PT01", 1)]
    assert any("候补" in m.text for m in out)
    chat.group(GROUP, "wxid_zhao", "赵哥", chain("1. 赵哥 阳光玫瑰3串 取消", "2. 小周 阳光玫瑰1串"), at=at(25, 11))
    assert items(loaded) == [("wxid_zhou", "PT01", 1)]


def test_redelivery_changes_nothing(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5), message_id="same")
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1, "2. 王姐 西瓜1个"), at=at(25, 9, 6), message_id="same")
    assert count(loaded, MessageLog) == 1
    assert items(loaded) == [("wxid_wang", "XG01", 2), ("wxid_wang", "PT01", 1)]


def test_unbound_group_gets_no_replies_but_is_logged(chat, loaded) -> None:
    out = chat.group("别的群", "wxid_x", "路人", chain("1. 路人 鸭蛋1盒"), at=at(25, 9))
    assert out == [] and count(loaded, MessageLog) == 1 and count(loaded, EntryRow) == 0


def test_bot_ignores_itself(chat, loaded, settings) -> None:
    assert chat.group(GROUP, settings.bot_id, "小助手", chain(L1), at=at(25, 9)) == []
    assert count(loaded, MessageLog) == 0


def test_member_query(chat, loaded) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.wait(timedelta(minutes=5))
    out = chat.group(GROUP, "wxid_wang", "王姐", "我的订单", at=at(25, 12))
    assert [m.text for m in out] == ["@王姐 " + texts.MY_ORDER.format(
        title="周三水果团", items="麒麟西瓜×2、阳光玫瑰×1串", amount="55", picked="")]
    out = chat.group(GROUP, "wxid_nobody", "路人甲", "查单", at=at(25, 12, 0, 5))
    assert out == []  # rate limit: within 30 s of the last message, held back…
    held = chat.wait(timedelta(seconds=31))
    assert [m.text for m in held] == ["@路人甲 " + texts.MY_ORDER_NONE]  # …and sent, not dropped


def test_rate_limit_merges_instead_of_dropping(chat, loaded, settings) -> None:
    chat.group(GROUP, "wxid_a", "甲", chain("1. 甲 鸭蛋1盒"), at=at(25, 9, 0, 0))
    out = chat.group(GROUP, "wxid_b", "乙", chain("1. 甲 鸭蛋1盒", "2. 乙 鹅蛋1盒"), at=at(25, 9, 0, 5))
    assert out == []
    out = chat.group(GROUP, "wxid_c", "丙", chain("1. 甲 鸭蛋1盒", "2. 乙 鹅蛋1盒", "3. 丙 哈密瓜1个"), at=at(25, 9, 0, 10))
    assert out == []
    merged = chat.wait(timedelta(seconds=30))
    assert len(merged) == 1 and "@乙" in merged[0].text and "@丙" in merged[0].text
    assert set(merged[0].mentions) == {"wxid_b", "wxid_c"}


def test_hourly_cap(app, chat, loaded, settings) -> None:
    sent = 0
    for minute in range(0, 60, 1):
        out = chat.group(GROUP, f"wxid_{minute}", f"人{minute}", chain(f"1. 人{minute} 鸭蛋{minute + 1}盒"),
                         at=at(25, 9, minute))
        sent += len(out)
    assert sent == settings.group_max_per_hour


def test_free_text_order_is_noted_for_review(chat, loaded) -> None:
    out = chat.group(GROUP, "wxid_sun", "孙阿姨", "+1 西瓜", at=at(25, 12, 5))
    assert [m.text for m in out] == ["@孙阿姨 " + texts.FREE_ORDER.format(items="麒麟西瓜×1")]
    assert items(loaded) == [] and items(loaded, "review") == [("wxid_sun", "XG01", 1)]


def test_chat_noise_is_silent(chat, loaded) -> None:
    for text in ("好的谢谢", "明天几点到？", "[强][强]", "收到"):
        assert chat.group(GROUP, "wxid_x", "路人", text, at=at(25, 13)) == []


def test_a_failing_handler_keeps_the_message(app, chat, loaded, monkeypatch) -> None:
    import bot.app as app_module

    def boom(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(app_module, "handle_chain", boom)
    out = chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9))
    # Nothing in the group; the platform admin is told, in private, once.
    assert [(m.to, m.is_group) for m in out] == [("wxid_admin", False)]
    assert "RuntimeError: parser bug" in out[0].text and "jielong retry" in out[0].text
    assert count(loaded, MessageLog) == 1 and count(loaded, EntryRow) == 0
    with loaded() as session:
        kept = session.scalars(select(MessageLog)).one()
    assert (kept.state, kept.attempts, kept.failed_reason) == ("failed", 1, "RuntimeError: parser bug")


def test_feed_accepts_any_text(app, loaded) -> None:
    for n, text in enumerate(["", "\x00\x01", "#接龙\n" + "1. " * 5000, "😀" * 1000, "<msg><appmsg><type>53"]):
        app.feed(IncomingMessage("fake", f"odd{n}", GROUP, "wxid_x", "x", text, at(25, 9, n)))
    assert count(loaded, MessageLog) == 5


def test_invited_into_a_bound_group_greets_once(app, chat, loaded) -> None:
    first = app.joined("room9@chatroom", GROUP)
    assert [m.text for m in first] == [texts.GREETING]
    chat.wait(timedelta(minutes=5))
    assert app.joined("room9@chatroom", GROUP) == []
    assert app.joined("room8@chatroom", "没人管的群") == []


def test_a_set_up_loaded_by_another_process_applies_to_the_next_message(chat, loaded, db_url) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    changed = demo_setup_text().replace("price = 15", "price = 18").replace(
        '[[campaigns.products]]\nsku = "JZ01"',
        '[[campaigns.products]]\nsku = "MT01"\nname = "水蜜桃"\nprice = 20\nunit = "斤"\n\n'
        '[[campaigns.products]]\nsku = "JZ01"', 1)
    other = open_db(db_url)  # `jielong load` in another process, seconds later
    with other.begin() as session:
        apply_setup(session, load_setup_text(changed), at=at(25, 9, 5, 10))
    other.kw["bind"].dispose()
    chat.group(GROUP, "wxid_chen", "小陈", chain(L1, "2. 小陈 水蜜桃2斤 西瓜1个"), at=at(25, 9, 5, 30))
    with loaded() as session:
        rows = session.execute(select(OrderItem.member_id, OrderItem.sku, OrderItem.unit_price)
                               .where(OrderItem.sku.in_(("XG01", "MT01"))).order_by(OrderItem.id)).all()
    assert [(m, s, float(p)) for m, s, p in rows] == [
        ("wxid_wang", "XG01", 15), ("wxid_chen", "MT01", 20), ("wxid_chen", "XG01", 18)]
