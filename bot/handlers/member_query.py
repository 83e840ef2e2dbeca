"""A member's questions in a group: 我的订单 / 查单 (a short @reply with their items) and
帮助 (what a member can do, with the campaign running in the group)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from bot import texts
from bot.handlers.common import Turn, clock_text, items_text, money
from storage.lookup import campaign_products
from storage.models import Campaign, Group
from storage.reports import member_orders

QUERY_RE = re.compile(r"^\s*(?:@\S+\s+)?(?:我的订单|查单|查一下我的订单|我订了啥|我订了什么)[\s?？!！。]*$")
HELP_RE = re.compile(r"^\s*(?:@\S+\s+)?(?:帮助|help|菜单|怎么接龙|怎么下单|怎么订)[\s?？!！。]*$", re.I)


def is_member_query(text: str) -> bool:
    return bool(QUERY_RE.match(text) or HELP_RE.match(text))


def handle_member_query(turn: Turn, group: Group, campaigns: list[Campaign]) -> None:
    """One @reply covering the member's orders in each of the group's current campaigns."""
    mention = (turn.msg.sender, turn.msg.sender_name)
    if HELP_RE.match(turn.msg.text):
        # Once a day per member: a group is never flooded with the same instructions.
        day = turn.at.astimezone(turn.ctx.tz).date().isoformat()
        turn.say_group(member_help(turn.session, campaigns, turn.at, turn.ctx.tz), mention, kind="help",
                       dedupe_key=f"help:{group.id}:{turn.msg.sender}:{day}")
        return
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


def member_help(session: Session, campaigns: list[Campaign], at: datetime, tz) -> str:
    """What a member can do, with each campaign taking orders now (its deadline and products)."""
    lines = []
    example = "西瓜1个"
    for campaign in (c for c in campaigns if at < c.deadline):
        products = campaign_products(session, campaign.id)
        if products and example == "西瓜1个":
            example = f"{products[0].name}1{products[0].unit or '份'}"
        names = "、".join(p.name for p in products[:8]) + ("…" if len(products) > 8 else "")
        lines.append(texts.MEMBER_HELP_CAMPAIGN.format(title=campaign.title, deadline=clock_text(campaign.deadline, tz),
                                                       products=names or "-"))
    example_line = texts.MEMBER_HELP_EXAMPLE.format(seq=12, product=example)
    lines += [line.format(example=example_line) for line in texts.MEMBER_HELP_LINES]
    return "\n".join(lines)
