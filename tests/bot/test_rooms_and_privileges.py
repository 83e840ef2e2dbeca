"""Rival rooms and rival leaders through App.feed, fed the way the wechaty transport feeds it
(chat = room id, chat_name = topic): the red-team reproductions of D4 (A11), P2 (A9), P1 (A5),
P3 (A10) and P4 (A4) as tests."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import broadcasts, texts
from bot.app import App
from bot.context import AppContext, SettableClock, Settings
from bot.events import OutgoingText, SendStatus
from bot.transports.fake import FakeTransport
from bot.transports.replay import ReplayResult, replay_lines
from storage.lookup import group_for_chat
from storage.models import Campaign, EntryRow, Group, OrderItem
from storage.models import Outbox as OutboxRow
from storage.setup import apply_setup, load_setup_text
from tests.conftest import GROUP, at, demo_setup_text

H = "#接龙\n周三水果团\n\n"
T, T2 = GROUP, GROUP + "🍉"
ROOM, EVIL = "111@chatroom", "999@chatroom"
LEADER, OTHER_LEADER, ADMIN = "wxid_lijie", "wxid_laozhou", "wxid_admin"


def private(chat, user: str, text: str, minute: int) -> str:
    out = chat.private(user, user, text, at=at(25, 10, minute))
    return "\n".join(m.text for m in out if m.to == user)


def told(chat, user: str) -> list[str]:
    return [m.text for m in chat.sent if m.to == user and not m.is_group]


def ok_items(sessions) -> list[tuple[str, str, float]]:
    with sessions() as session:
        return [(m, s, float(q)) for m, s, q in session.execute(
            select(OrderItem.member_id, OrderItem.sku, OrderItem.qty).where(OrderItem.status == "ok")
            .order_by(OrderItem.id))]


def test_a_renamed_group_keeps_counting_and_rebinding_does_not_double_the_chain(chat, loaded) -> None:
    """D4/A11 (the review's topic.py): after a rename the group's messages were ignored, and
    binding the new name made a second group whose next copy counted the whole chain again
    (麒麟西瓜 4个 for 2 ordered)."""
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 1), topic=T)
    private(chat, LEADER, "汇总", 2)  # any private command drops the app's group cache
    chat.group(ROOM, "wxid_zhang", "张叔", H + "1. 3栋502 王姐 西瓜2个\n2. 5栋1201 张叔 鸡蛋1盒", at=at(25, 10, 3),
               topic=T2)
    assert told(chat, LEADER)[-1] == texts.ROOM_RENAMED.format(old=T, new=T2)
    assert private(chat, LEADER, "绑定 " + T2, 4) == texts.BOUND_ALREADY.format(group=T2)
    chat.group(ROOM, "wxid_liu", "刘姐", H + "1. 3栋502 王姐 西瓜2个\n2. 5栋1201 张叔 鸡蛋1盒\n3. 6栋302 刘姐 鸡蛋1盒",
               at=at(25, 10, 5), topic=T2)
    chat.group(ROOM, "wxid_wang", "王姐", "好的", at=at(25, 10, 6), topic=T2)
    assert private(chat, LEADER, "汇总", 7).splitlines()[:3] == [
        texts.TOTALS_HEADER.format(title="周三水果团", groups=T2), "麒麟西瓜：2个，30元", "土鸡蛋：2盒，56元"]
    assert ok_items(loaded) == [("wxid_wang", "XG01", 2), ("wxid_zhang", "JD01", 1), ("wxid_liu", "JD01", 1)]
    assert told(chat, LEADER).count(texts.ROOM_RENAMED.format(old=T, new=T2)) == 1
    with loaded() as session:
        assert session.scalar(select(func.count(Group.id))) == 2


def test_a_rename_seen_by_a_running_app_is_told_at_once(chat, loaded) -> None:
    """D4: the app's group cache does not hide a new topic."""
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 1), topic=T)
    chat.group(ROOM, "wxid_zhang", "张叔", H + "1. 3栋502 王姐 西瓜2个\n2. 张叔 鸡蛋1盒", at=at(25, 10, 2), topic=T2)
    assert told(chat, LEADER) == [texts.ROOM_RENAMED.format(old=T, new=T2)]
    assert len(ok_items(loaded)) == 2


def test_an_impostor_room_with_the_same_topic_counts_nothing_and_gets_no_final_list(chat, loaded) -> None:
    """P2/A9 (topic.py --impostor): the impostor's 路人 阳光玫瑰3串 was in 李姐's 明细, taking the
    shared stock, and 截单's final list could go to the impostor room."""
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 1), topic=T)
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 3栋502 王姐 西瓜2个\n2. 1栋101 路人 阳光玫瑰3串", at=at(25, 10, 2),
               topic=T)
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 3栋502 王姐 西瓜2个\n2. 1栋101 路人 阳光玫瑰3串\n3. 路人乙 西瓜9个",
               at=at(25, 10, 3), topic=T)
    assert told(chat, LEADER) == [texts.ROOM_LOOKALIKE.format(name=T, room=EVIL)]  # once
    details = private(chat, LEADER, "明细", 4)
    assert "王姐" in details and "路人" not in details
    assert private(chat, LEADER, "截单", 5) == texts.CLOSED.format(count=1)
    chat.wait(timedelta(minutes=5))
    assert [m.to for m in chat.sent if m.is_group] == [ROOM, ROOM]  # the digest and the final list
    assert ok_items(loaded) == [("wxid_wang", "XG01", 2)]


def test_two_rooms_with_the_topic_of_a_group_not_yet_learned_ask_the_leader(chat, loaded) -> None:
    """P2: no guessing. The bot sat in two rooms called 新团购群 before the set-up named it:
    neither counts until 李姐 names hers by its room id (she is asked once per set of rooms)."""
    new = "新团购群"
    chat.group(EVIL, "wxid_evil", "路人", "大家好", at=at(25, 9, 1), topic=new)
    chat.group(ROOM, "wxid_wang", "王姐", "早", at=at(25, 9, 2), topic=new)
    with loaded.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text().replace(
            'groups = ["阳光小区3期团购群"]', f'groups = ["阳光小区3期团购群", "{new}"]')))
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 2), topic=new)
    chat.group(ROOM, "wxid_zhang", "张叔", H + "1. 3栋502 王姐 西瓜2个\n2. 张叔 鸡蛋1盒", at=at(25, 10, 3), topic=new)
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 路人 阳光玫瑰3串", at=at(25, 10, 4), topic=new)
    question = texts.ROOM_AMBIGUOUS.format(count=2, name=new, rooms="\n".join([
        texts.ROOM_LINE.format(room=ROOM, speakers=texts.ROOM_LINE_SPEAKERS.format(names="王姐")),
        texts.ROOM_LINE.format(room=EVIL, speakers=texts.ROOM_LINE_SPEAKERS.format(names="路人"))]))
    assert told(chat, LEADER) == [question] and ok_items(loaded) == []
    assert private(chat, LEADER, "绑定 " + new, 5) == texts.BIND_AMBIGUOUS.format(
        count=2, name=new, rooms=question.split("\n", 1)[1].replace("（群里有王姐）", "（群里有王姐、张叔）"))
    assert private(chat, LEADER, "绑定 " + ROOM, 6) == texts.BOUND.format(group=new)
    chat.group(ROOM, "wxid_liu", "刘姐", H + "1. 3栋502 王姐 西瓜2个\n2. 张叔 鸡蛋1盒\n3. 刘姐 大米1袋",
               at=at(25, 10, 7), topic=new)
    assert [m for m, _s, _q in ok_items(loaded)] == ["wxid_liu", "wxid_liu", "wxid_liu"]
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 路人 阳光玫瑰3串", at=at(25, 10, 8), topic=new)
    assert told(chat, LEADER)[-1] == texts.ROOM_LOOKALIKE.format(name=new, room=EVIL)
    assert len(ok_items(loaded)) == 3


def test_a_group_that_learned_an_impostors_room_is_moved_by_an_admin(chat, loaded) -> None:
    """P2: the first room with the set-up's topic to speak is the group; when an impostor
    spoke first, the leader hears of the real room and an admin points the group at it."""
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 路人 阳光玫瑰3串", at=at(25, 10, 1), topic=T)
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 路人 阳光玫瑰3串\n2. 3栋502 王姐 西瓜2个", at=at(25, 10, 2), topic=T)
    assert told(chat, LEADER) == [texts.ROOM_LOOKALIKE.format(name=T, room=ROOM)]
    assert private(chat, LEADER, f"改群号 {T} {ROOM}", 3) == texts.NOT_ALLOWED.format(role="平台管理员")
    assert private(chat, ADMIN, f"改群号 {T} 888@chatroom", 4) == texts.ROOM_NOT_HEARD.format(room="888@chatroom")
    assert private(chat, ADMIN, f"改群号 {T} {ROOM}", 5) == texts.MOVED.format(group=T, room=ROOM)
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 路人 阳光玫瑰3串\n2. 3栋502 王姐 西瓜2个", at=at(25, 10, 6), topic=T)
    chat.group(EVIL, "wxid_evil", "路人", H + "1. 路人 阳光玫瑰3串\n2. 路人乙 西瓜9个", at=at(25, 10, 7), topic=T)
    assert ok_items(loaded) == [("wxid_evil", "PT01", 3), ("wxid_wang", "XG01", 2)]  # 删单 is the leader's
    assert private(chat, ADMIN, f"改群号 {ROOM} {EVIL}", 8) == texts.MOVED.format(group=T, room=EVIL)
    chat.group(EVIL, "wxid_evil", "路人", "好", at=at(25, 10, 9), topic=T)
    assert private(chat, ADMIN, f"改群号 {T} {ROOM}", 10) == texts.MOVED.format(group=T, room=ROOM)
    assert private(chat, ADMIN, f"改群号 翠苑二区邻里群 {ROOM}", 11) == texts.ROOM_TAKEN.format(room=ROOM, group=T)


def test_a_post_queued_before_the_room_spoke_goes_to_the_room(app, chat, loaded, clock) -> None:
    """P2: posts for a group the set-up names by topic wait for its room id, then go there."""
    clock.set(at(25, 9))
    with loaded.begin() as session:
        campaign = session.get(Campaign, "fruit-1125")
        assert broadcasts.run_post(app.ctx, session, app.outbox, campaign, group_for_chat(session, T), "open")
    chat.group(ROOM, "wxid_wang", "王姐", "早", at=at(25, 9, 1), topic=T)
    with loaded() as session:
        assert set(session.scalars(select(OutboxRow.to))) == {ROOM}


def test_wechaty_never_sends_to_a_topic() -> None:
    """P2: a group post addressed to a set-up name waits (retry) for the room id; it is never
    looked up by topic, where another room can carry the same one."""
    from bot.transports.wechaty import RoomNotKnownYet, WechatyTransport

    transport = WechatyTransport(None, endpoint="127.0.0.1:1", token="t")
    assert asyncio.run(transport._conversation_id(OutgoingText("111@chatroom", "x"))) == "111@chatroom"
    assert asyncio.run(transport._conversation_id(OutgoingText("wxid_wang", "x", is_group=False))) == "wxid_wang"
    with pytest.raises(RoomNotKnownYet):
        asyncio.run(transport._conversation_id(OutgoingText("阳光小区3期团购群", "x")))

    reported = []

    class App:
        def report(self, out, result):
            reported.append(result.status)

    transport.app = App()
    asyncio.run(transport.send_all([OutgoingText("阳光小区3期团购群", "x")]))
    assert reported == [SendStatus.RETRY]


def test_bind_refuses_another_leaders_group_and_only_an_admin_reassigns_it(chat, loaded) -> None:
    """P1/A5: 老周's `绑定 阳光小区3期团购群` took 李姐's group: he read its members' addresses,
    deleted its orders and earned its commission; 李姐 had no group left."""
    chat.group(ROOM, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 1), topic=T)
    assert private(chat, OTHER_LEADER, "绑定 " + T, 2) == texts.BIND_TAKEN.format(group=T)
    assert private(chat, OTHER_LEADER, "绑定 " + ROOM, 3) == texts.BIND_TAKEN.format(group=T)
    assert "王姐" not in private(chat, OTHER_LEADER, "明细", 4)
    assert private(chat, OTHER_LEADER, f"删单 {T} 1", 5) != texts.DELETED.format(seq=1, text="3栋502 王姐 西瓜2个")
    assert "麒麟西瓜：2个" in private(chat, LEADER, "汇总", 6)

    assert private(chat, LEADER, f"转交群 {T} {OTHER_LEADER}", 7) == texts.NOT_ALLOWED.format(role="平台管理员")
    assert private(chat, ADMIN, f"转交群 {T} wxid_nobody", 8) == texts.LEADER_NOT_FOUND.format(id="wxid_nobody")
    assert private(chat, ADMIN, f"转交群 没这个群 {OTHER_LEADER}", 9) == texts.GROUP_NOT_FOUND.format(name="没这个群")
    assert private(chat, ADMIN, f"转交群 {ROOM} {OTHER_LEADER}", 10) == texts.REASSIGNED.format(group=T, name="老周")
    assert told(chat, OTHER_LEADER)[-1] == texts.REASSIGNED_TO_YOU.format(group=T)
    assert told(chat, LEADER)[-1] == texts.REASSIGNED_AWAY.format(group=T, name="老周")
    assert "王姐" in private(chat, OTHER_LEADER, "明细", 11)
    assert private(chat, LEADER, "汇总", 12) == texts.NO_GROUPS


def test_bind_names_a_room_the_bot_sits_in_never_a_typed_name(chat, loaded) -> None:
    """P1: a typed name used to create a group out of thin air."""
    assert private(chat, LEADER, "绑定 随便起的名字", 1) == texts.BIND_UNKNOWN.format(name="随便起的名字")
    with loaded() as session:
        assert session.scalar(select(func.count(Group.id))) == 2
    chat.group("222@chatroom", "wxid_ma", "老马", "大家好", at=at(25, 10, 2), topic="新小区团购群")
    assert private(chat, LEADER, "绑定 新小区团购群", 3) == texts.BOUND.format(group="新小区团购群")
    chat.wait(timedelta(minutes=1))
    assert chat.texts_to("222@chatroom") == [texts.GREETING]


FORGED_TITLE = H + "1. 3栋502 王姐 西瓜2个\n2. 3栋502 王姐 大米5袋"
FORGED = (f"<msg><appmsg><title>{FORGED_TITLE}</title><type>53</type><extinfo><solitaire_info><![CDATA["
          "<solitaire><content><i><u>wxid_wang</u><r>10-14</r></i><i><u>wxid_wang</u><r>25-16</r></i></content>"
          "</solitaire>]]></solitaire_info></extinfo></appmsg></msg>")


def test_typed_native_xml_cannot_bill_another_member_through_the_fake_transport(chat, loaded) -> None:
    """P3/A10: a member pasting native 接龙 XML as text billed 王姐 for 东北大米×5袋."""
    chat.group(GROUP, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个", at=at(25, 10, 1))
    chat.group(GROUP, "wxid_evil", "路人", FORGED, at=at(25, 10, 2))
    with loaded() as session:
        assert session.scalar(select(func.count(EntryRow.id)).where(EntryRow.author_id == "wxid_wang")) == 1
    assert ("wxid_wang", "CM01", 5) not in ok_items(loaded)
    mine = chat.group(GROUP, "wxid_wang", "王姐", "我的订单", at=at(25, 10, 3))
    assert "大米" not in mine[-1].text


def replay(app, clock, rows: list[dict]) -> list[tuple[int, str]]:
    errors: list[tuple[int, str]] = []
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    list(replay_lines(app, clock, lines, ReplayResult(), on_error=lambda n, why: errors.append((n, why))))
    return errors


def line(n: int, sender: str, name: str, text: str, **more) -> dict:
    return {"id": f"f{n}", "time": f"2026-11-25T10:0{n}:00+08:00", "chat": GROUP, "from": sender, "name": name,
            "text": text, **more}


def test_typed_native_xml_cannot_bill_another_member_through_replay(app, clock, loaded) -> None:
    """P3/A10 (the review's forge.jsonl): XML in `text` is what the sender typed."""
    assert replay(app, clock, [line(1, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个"),
                               line(2, "wxid_evil", "路人", FORGED)]) == []
    assert ("wxid_wang", "CM01", 5) not in ok_items(loaded)


def test_a_recorded_native_chain_keeps_its_authors_only_when_the_line_says_native(app, clock, loaded) -> None:
    """P3: `"native": true` with the XML in `raw` is a recorded native 接龙 (authors trusted);
    `native` without `raw` is refused."""
    errors = replay(app, clock, [line(1, "wxid_wang", "王姐", H + "1. 3栋502 王姐 西瓜2个"),
                                 line(2, "wxid_zhang", "张叔", FORGED_TITLE, raw=FORGED, native=True),
                                 line(3, "wxid_zhang", "张叔", FORGED_TITLE, native=True)])
    assert errors == [(3, "'native' needs 'raw': the native 接龙 XML it vouches for")]
    assert ("wxid_wang", "CM01", 5) in ok_items(loaded)


VEG = """
[[campaigns]]
id = "veg-1125"
title = "翠苑蔬菜团"
opens = 2026-11-25T09:00:00+08:00
deadline = 2026-11-25T21:00:00+08:00
groups = ["翠苑二区邻里群"]
[[campaigns.products]]
sku = "BC01"
name = "大白菜"
price = 3
unit = "颗"

[[campaigns]]
id = "meat-1126"
title = "周四肉菜团"
opens = 2026-11-26T09:00:00+08:00
deadline = 2026-11-26T21:00:00+08:00
groups = ["阳光小区3期团购群", "阳光二群"]
[[campaigns.products]]
sku = "RX02"
name = "五花肉"
price = 30
unit = "斤"
"""


@pytest.fixture
def two_groups(sessions):
    """The review's A4 set-up: 李姐 runs two groups, a vegetable campaign runs in 翠苑 only, and
    a meat campaign in 李姐's groups opens tomorrow."""
    setup = demo_setup_text().replace('groups = ["阳光小区3期团购群"]', 'groups = ["阳光小区3期团购群", "阳光二群"]') + VEG
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup))
    clock = SettableClock(at(25, 10))
    return FakeTransport(App(AppContext(sessions, clock, Settings())), clock)


def test_open_posts_only_campaigns_running_in_the_callers_groups_once_opened(two_groups) -> None:
    """P4/A4: 李姐's `开团 veg-1125` posted 翠苑's campaign into both her groups, and a campaign
    could be posted before it opened (its scheduled opening post then deduplicated away)."""
    chat = two_groups
    for group in (GROUP, "阳光二群"):
        chat.group(group, "wxid_wang", "王姐", "早", at=at(25, 10))
    assert private(chat, LEADER, "开团 veg-1125", 1) == texts.CAMPAIGN_NOT_FOUND.format(name="veg-1125")
    assert private(chat, LEADER, "开团 翠苑蔬菜团", 2) == texts.CAMPAIGN_NOT_FOUND.format(name="翠苑蔬菜团")
    assert private(chat, LEADER, "开团 周四肉菜团", 3) == texts.CAMPAIGN_NOT_OPEN.format(
        title="周四肉菜团", opens="11月26日09:00")
    chat.wait(timedelta(minutes=5))
    assert not [m for m in chat.sent if m.is_group and ("蔬菜" in m.text or "肉菜" in m.text)]
    assert private(chat, OTHER_LEADER, "开团 veg-1125", 9) == texts.POSTED.format(count=1)
    # Tomorrow it has opened: into 李姐's two groups, nowhere else.
    out = chat.private(LEADER, LEADER, "开团 周四肉菜团", at=at(26, 9, 30))
    assert [m.text for m in out if m.to == LEADER] == [texts.POSTED.format(count=2)]
    chat.wait(timedelta(minutes=5))
    assert sorted(m.to for m in chat.sent if m.is_group and "周四肉菜团" in m.text) == sorted([GROUP, "阳光二群"])
