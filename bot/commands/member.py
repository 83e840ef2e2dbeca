"""Member commands (private chat): what anyone may ask the bot."""

from __future__ import annotations

from bot import texts
from bot.commands.registry import Call, command
from bot.handlers.common import items_text, money
from storage.lookup import running_campaigns
from storage.reports import member_orders


@command("我的订单", role="member", usage="我的订单", help="看自己在这一团订了什么", aliases=("查单",), max_args=0)
def my_orders_command(call: Call) -> str:
    lines = []
    for campaign in running_campaigns(call.session, call.at):
        for row in member_orders(call.session, campaign.id, None, member_id=call.msg.sender):
            lines.append(texts.MY_ORDER.format(title=campaign.title, items=items_text(row.items),
                                               amount=money(row.amount),
                                               picked=texts.MY_ORDER_PICKED if row.picked_up else ""))
    return "\n".join(lines) or texts.MY_ORDER_NONE
