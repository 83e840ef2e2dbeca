"""Private-chat commands through App.feed: every command, refusals, usage lines, leader
isolation, and the generated help."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import texts
from bot.commands import specs
from storage.models import Adjustment, EntryEvent, EntryRow, Leader, OrderItem
from tests.bot.test_group_flow import L1, L2_LIU, L2_ZHANG, chain
from tests.conftest import GROUP, at

LEADER, OTHER_LEADER, ADMIN = "wxid_lijie", "wxid_laozhou", "wxid_admin"


@pytest.fixture
def orders(chat):
    """Three members ordered in 李姐's group on the 25th morning."""
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_zhang", "张叔", chain(L1, L2_ZHANG), at=at(25, 9, 12))
    chat.group(GROUP, "wxid_liu", "刘姐", chain(L1, L2_ZHANG, L2_LIU.replace("2.", "3.")), at=at(25, 9, 20))
    chat.wait(timedelta(minutes=5))
    return chat


def ask(chat, user: str, text: str, minute: int = 0) -> str:
    out = chat.private(user, user, text, at=at(25, 14, minute))
    return "\n".join(m.text for m in out if m.to == user)


def test_help_lists_what_the_caller_may_use(chat) -> None:
    leader_help = ask(chat, LEADER, "帮助")
    member_help = ask(chat, "wxid_wang", "帮助")
    admin_help = ask(chat, ADMIN, "帮助")
    assert "汇总" in leader_help and "平台汇总" not in leader_help
    assert "汇总" not in member_help and "帮助" in member_help
    assert "平台汇总" in admin_help


def test_every_command_is_documented() -> None:
    for spec in specs():
        assert spec.usage.startswith(spec.name) and spec.help, spec.name


def test_totals(orders) -> None:
    reply = ask(orders, LEADER, "汇总")
    assert reply.splitlines() == [
        texts.TOTALS_HEADER.format(title="周三水果团", groups=GROUP),
        "麒麟西瓜：2个，30元", "阳光玫瑰：1串，25元", "砂糖橘：1箱，30元", "土鸡蛋：2盒，56元",
        texts.TOTALS_FOOTER.format(orders=3, amount="141"),
    ]


def test_details(orders) -> None:
    reply = ask(orders, LEADER, "明细")
    assert "1. 王姐（3栋502）：麒麟西瓜×2、阳光玫瑰×1串，55元" in reply
    assert "张叔（5栋1201）：砂糖橘×1箱，30元" in reply


def test_members_and_other_leaders_are_refused(orders) -> None:
    assert ask(orders, "wxid_wang", "汇总") == texts.NOT_ALLOWED.format(role="团长")
    assert ask(orders, "wxid_wang", "平台汇总") == texts.NOT_ALLOWED.format(role="平台管理员")
    assert ask(orders, LEADER, "平台汇总") == texts.NOT_ALLOWED.format(role="平台管理员")


def test_a_leader_only_sees_their_own_groups(orders) -> None:
    reply = ask(orders, OTHER_LEADER, "汇总")
    assert "翠苑二区邻里群" in reply and "麒麟西瓜" not in reply
    assert ask(orders, OTHER_LEADER, "核销 1") == texts.PICK_NOT_FOUND.format(what="1")


def test_wrong_arguments_get_the_usage_line(orders) -> None:
    assert ask(orders, LEADER, "改单") == texts.USAGE.format(usage="改单 [团名] [群名] 订单号 新内容")
    assert ask(orders, LEADER, "缺货 西瓜") == texts.USAGE.format(usage="缺货 [团名] 商品 数量")
    assert ask(orders, LEADER, "截单 现在 马上") == texts.USAGE.format(usage="截单 [团名]")


def test_unknown_text_gets_a_hint(chat) -> None:
    assert ask(chat, "wxid_wang", "你好") == texts.UNKNOWN_COMMAND


def test_pickup_by_number_and_by_name(orders, loaded) -> None:
    assert ask(orders, LEADER, "核销 1 刘姐") == texts.PICKED.format(names="1号王姐、3号刘姐")
    reply = ask(orders, LEADER, "未取", 1)
    assert reply.splitlines() == [texts.UNPICKED_HEADER.format(title="周三水果团", count=1), "2. 张叔：砂糖橘×1箱"]
    assert ask(orders, LEADER, "核销 99", 2) == texts.PICK_NOT_FOUND.format(what="99")


def test_leader_edit_and_delete_keep_history(orders, loaded) -> None:
    assert ask(orders, LEADER, "改单 2 5栋1201 张叔 砂糖橘2箱") == texts.EDITED.format(seq=2, text="5栋1201 张叔 砂糖橘2箱")
    assert ask(orders, LEADER, "删单 3", 1).startswith("已删3号")
    with loaded() as session:
        zhang = session.scalar(select(EntryRow).where(EntryRow.author_id == "wxid_zhang"))
        qty = session.scalar(select(OrderItem.qty).where(OrderItem.entry_id == zhang.id, OrderItem.status == "ok"))
        kinds = set(session.scalars(select(EntryEvent.kind)))
        liu = session.scalar(select(EntryRow).where(EntryRow.author_id == "wxid_liu"))
    assert float(qty) == 2 and {"leader_edit", "leader_delete"} <= kinds and liu.status == "cancelled"
    # the next copy of the chain still carries the old line: the leader's change stands
    orders.group(GROUP, "wxid_chen", "小陈", chain(L1, L2_ZHANG, L2_LIU.replace("2.", "3."), "4. 小陈 西瓜1个"),
                 at=at(25, 15))
    with loaded() as session:
        assert float(session.scalar(select(func_sum()).where(OrderItem.entry_id == zhang.id,
                                                             OrderItem.status == "ok"))) == 2


def func_sum():
    from sqlalchemy import func

    return func.sum(OrderItem.qty)


def test_shortage_cuts_the_last_orders_and_tells_them(orders, loaded) -> None:
    out = orders.private(LEADER, "李姐", "缺货 西瓜 1", at=at(26, 15))
    to_group = [m for m in out if m.to == GROUP]
    assert len(to_group) == 1 and "@王姐" in to_group[0].text and "退15元" in to_group[0].text
    with loaded() as session:
        assert [float(a.amount) for a in session.scalars(select(Adjustment))] == [-15.0]


def test_commission(orders) -> None:
    reply = ask(orders, LEADER, "佣金")
    assert reply == texts.COMMISSION.format(month="11月", orders=3, gmv="141", rate="12%", commission="16.92", adjust="")
    assert ask(orders, LEADER, "佣金 13", 1) == texts.USAGE.format(usage="佣金 [月份，如 11 或 2026-11]")


def test_open_close_and_arrival_post_once(orders) -> None:
    assert ask(orders, LEADER, "开团") == texts.POSTED.format(count=1)
    assert ask(orders, LEADER, "开团", 1) == texts.POSTED.format(count=0)  # already posted
    orders.wait(timedelta(minutes=5))
    assert sum(t.startswith("#接龙\n周三水果团") for t in orders.texts_to(GROUP)) == 1
    assert ask(orders, LEADER, "截单", 10) == texts.CLOSED.format(count=1)
    late = orders.group(GROUP, "wxid_x", "迟到", chain(L1, "2. 迟到 西瓜1个"), at=at(25, 14, 20))
    assert late == [] or all("截单" in m.text or "已过" in m.text for m in late)
    assert ask(orders, LEADER, "到货", 30) == texts.ARRIVED.format(count=1)


def test_bind_greets_the_group_once(chat, loaded) -> None:
    chat.group("新小区团购群", "wxid_wang", "王姐", "大家好", at=at(25, 13))  # the bot sits in it
    assert ask(chat, LEADER, "绑定 新小区团购群") == texts.BOUND.format(group="新小区团购群")
    ask(chat, LEADER, "绑定 新小区团购群", 5)
    chat.wait(timedelta(minutes=1))
    assert chat.texts_to("新小区团购群") == [texts.GREETING]


def test_admin_commands(orders, loaded) -> None:
    assert ask(orders, ADMIN, "平台汇总").startswith(texts.PLATFORM_HEADER.format(title="周三水果团", orders=3, amount="141"))
    assert "麒麟西瓜：2个，30元" in ask(orders, ADMIN, "采购单", 1)
    assert "李姐（wxid_lijie）：阳光小区3期团购群，佣金12%" in ask(orders, ADMIN, "团长列表", 2)
    assert ask(orders, ADMIN, "授权团长 wxid_new 新团长 8%", 3) == texts.LEADER_AUTHORISED.format(
        name="新团长", id="wxid_new", rate="8%")
    assert ask(orders, ADMIN, "授权团长 wxid_new 新团长 abc", 4) == texts.BAD_RATE
    with loaded() as session:
        assert float(session.get(Leader, "wxid_new").commission_rate) == 0.08
