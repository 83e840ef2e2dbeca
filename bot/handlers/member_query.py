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


def handle_member_query(turn: Turn, group: Group, campaigns: list[Campaign]) -> None:
    """One @reply covering the member's orders in each of the group's current campaigns."""
    mention = (turn.msg.sender, turn.msg.sender_name)
    if not campaigns:
        turn.say_group(texts.NO_CAMPAIGN, mention)
        return
    lines = []
    for campaign in campaigns:
        rows = member_orders(turn.session, campaign.id, [group.id], member_id=turn.msg.sender)
        if rows:
            row = rows[0]
            lines.append(texts.MY_ORDER.format(
                title=campaign.title, items=items_text(row.items), amount=money(row.amount),
                picked=texts.MY_ORDER_PICKED if row.picked_up else ""))
    turn.say_group("\n".join(lines) or texts.MY_ORDER_NONE, mention)
