"""我的订单 / 查单 in a group: a short @reply with the member's items."""

from __future__ import annotations

import re

from bot import texts
from bot.handlers.common import Turn, items_text, money
from storage.models import Campaign, Group
from storage.reports import member_orders

QUERY_RE = re.compile(r"^\s*(?:@\S+\s+)?(?:我的订单|查单|查一下我的订单|我订了啥|我订了什么)[\s?？!！。]*$")


def is_member_query(text: str) -> bool:
    return bool(QUERY_RE.match(text))


def handle_member_query(turn: Turn, group: Group, campaign: Campaign | None) -> None:
    mention = (turn.msg.sender, turn.msg.sender_name)
    if campaign is None:
        turn.say_group(texts.NO_CAMPAIGN, mention)
        return
    rows = member_orders(turn.session, campaign.id, [group.id], member_id=turn.msg.sender)
    if not rows:
        turn.say_group(texts.MY_ORDER_NONE, mention)
        return
    row = rows[0]
    turn.say_group(texts.MY_ORDER.format(
        title=campaign.title, items=items_text(row.items), amount=money(row.amount),
        picked=texts.MY_ORDER_PICKED if row.picked_up else "",
    ), mention)
