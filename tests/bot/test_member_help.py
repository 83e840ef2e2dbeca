"""What a member can ask: 帮助 in the group (an @reply with the campaign and how to order,
once a day), 帮助 and 我的订单 in private."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import texts
from tests.bot.test_group_flow import L1, chain
from tests.conftest import GROUP, at

HOW_TO = [line.format(example=texts.MEMBER_HELP_EXAMPLE.format(seq=12, product="麒麟西瓜1个"))
          for line in texts.MEMBER_HELP_LINES]


def group_replies(chat, user: str, name: str, text: str, when) -> list[str]:
    sent = chat.group(GROUP, user, name, text, at=when) + chat.wait(timedelta(minutes=1))
    return [m.text for m in sent if m.to == GROUP]


@pytest.mark.parametrize("text", ["帮助", "@团购小助手 帮助", "怎么接龙？", "help", "菜单"])
def test_help_in_the_group_answers_the_member(chat, text) -> None:
    [reply] = group_replies(chat, "wxid_sun", "孙阿姨", text, at(25, 10))
    lines = reply.split("\n")
    assert lines[0] == "@孙阿姨 " + texts.MEMBER_HELP_CAMPAIGN.format(
        title="周三水果团", deadline="11月25日22:00", products="麒麟西瓜、阳光玫瑰、砂糖橘、土鸡蛋、猪肉馅、东北大米")
    assert lines[1:] == HOW_TO
    assert "汇总" not in reply


def test_help_in_the_group_is_answered_once_a_day_per_member(chat) -> None:
    assert group_replies(chat, "wxid_sun", "孙阿姨", "帮助", at(25, 10))
    assert not group_replies(chat, "wxid_sun", "孙阿姨", "帮助", at(25, 11))
    assert group_replies(chat, "wxid_wang", "王姐", "帮助", at(25, 11, 5))  # another member
    assert group_replies(chat, "wxid_sun", "孙阿姨", "帮助", at(26, 10))  # the next day


def test_help_after_the_deadline_leaves_the_campaign_out(chat) -> None:
    [reply] = group_replies(chat, "wxid_sun", "孙阿姨", "帮助", at(25, 23))
    assert reply == "@孙阿姨 " + "\n".join(line.replace("麒麟西瓜1个", "西瓜1个") for line in HOW_TO)


@pytest.mark.parametrize("text", ["帮助一下，我朋友也要西瓜", "+1 帮助", "需要帮助吗"])
def test_a_sentence_with_help_in_it_is_not_a_question(chat, text) -> None:
    assert not any(r.startswith("@孙阿姨 " + texts.MEMBER_HELP_CAMPAIGN[:4])
                   for r in group_replies(chat, "wxid_sun", "孙阿姨", text, at(25, 10)))


def test_a_members_help_in_private_lists_what_members_can_do(chat) -> None:
    [reply] = [m.text for m in chat.private("wxid_sun", "孙阿姨", "帮助", at=at(25, 10))]
    lines = reply.split("\n")
    assert lines[0].startswith("这一团是“周三水果团”，11月25日22:00截单，有：麒麟西瓜")
    assert lines[1:5] == HOW_TO
    assert lines[5] == texts.MEMBER_HELP_PRIVATE
    assert "我的订单  看自己在这一团订了什么" in lines and "帮助  看能用的指令" in lines
    assert "汇总" not in reply and "核销" not in reply


def test_my_orders_in_private(chat) -> None:
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    [reply] = [m.text for m in chat.private("wxid_wang", "王姐", "我的订单", at=at(25, 10))]
    assert reply == texts.MY_ORDER.format(title="周三水果团", items="麒麟西瓜×2、阳光玫瑰×1串", amount="55", picked="")
    [none] = [m.text for m in chat.private("wxid_sun", "孙阿姨", "查单", at=at(25, 10, 1))]
    assert none == texts.MY_ORDER_NONE


def test_a_leaders_help_is_the_command_list(chat) -> None:
    [reply] = [m.text for m in chat.private("wxid_lijie", "李姐", "帮助", at=at(25, 10))]
    assert reply.startswith(texts.HELP_HEADER) and "汇总" in reply and "我的订单" in reply
