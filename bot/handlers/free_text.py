"""Free text in a group: "+1 西瓜", "@团长 我的西瓜改成3个" — recorded for the leader."""

from __future__ import annotations

from bot import texts
from bot.handlers.common import Turn, items_text
from parsers.model import ParsedMessage
from storage.chains import apply_free_order
from storage.models import Campaign, Group


def handle_free_order(turn: Turn, group: Group, campaign: Campaign | None, parsed: ParsedMessage) -> None:
    if campaign is None or not (parsed.order or parsed.order_unmatched):
        return
    apply_free_order(turn.session, group=group, campaign=campaign, message=turn.log,
                            items=parsed.order or [], unmatched=parsed.order_unmatched or [], at=turn.at)
    if parsed.order:
        items = items_text((i.name, i.qty, i.unit) for i in parsed.order)
        turn.say_group(texts.FREE_ORDER.format(items=items), (turn.msg.sender, turn.msg.sender_name))
