"""Platform admin commands (private chat): platform totals, procurement, leaders."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot import texts
from bot.commands.registry import Call, command
from bot.events import OutgoingText
from bot.handlers.common import money
from storage.formatting import plain_number
from storage.lookup import (
    active_leaders,
    commission_rate,
    group_for_chat,
    leader_groups,
    leader_of,
    running_campaigns,
)
from storage.models import Campaign, Group, Leader
from storage.rates import record_rate
from storage.reports import campaign_totals, group_totals, product_totals
from storage.rooms import groups_named, last_topic, move_group, reassign_group


def _running(call: Call) -> list[Campaign]:
    return running_campaigns(call.session, call.at)


@command("平台汇总", role="admin", usage="平台汇总", help="所有群的订单和金额", max_args=0)
def platform_totals_command(call: Call) -> str:
    campaigns = _running(call)
    if not campaigns:
        return texts.NO_CAMPAIGN
    lines = []
    for campaign in campaigns:
        orders, gmv = campaign_totals(call.session, campaign.id)
        lines.append(texts.PLATFORM_HEADER.format(title=campaign.title, orders=orders, amount=money(gmv)))
        lines += [texts.PLATFORM_GROUP_LINE.format(group=name, orders=n, amount=money(amount))
                  for _gid, name, n, amount in group_totals(call.session, campaign.id)]
    return "\n".join(lines)


@command("采购单", role="admin", usage="采购单", help="要采购的总数", max_args=0)
def procurement_command(call: Call) -> str:
    campaigns = _running(call)
    if not campaigns:
        return texts.NO_CAMPAIGN
    lines = []
    for campaign in campaigns:
        lines.append(texts.PROCUREMENT_HEADER.format(title=campaign.title))
        totals = [t for t in product_totals(call.session, campaign.id) if t.qty > 0]
        lines += [texts.TOTALS_LINE.format(name=t.name, qty=plain_number(t.qty), unit=t.unit, amount=money(t.amount)) for t in totals]
        if not totals:
            lines.append(texts.EMPTY)
    return "\n".join(lines)


@command("团长列表", role="admin", usage="团长列表", help="所有团长和他们的群", max_args=0)
def leaders_command(call: Call) -> str:
    leaders = active_leaders(call.session)
    if not leaders:
        return texts.LEADERS_NONE
    return "\n".join(texts.LEADERS_LINE.format(
        name=leader.name, id=leader.id, groups="、".join(g.name for g in leader_groups(call.session, leader.id)) or "-",
        rate=f"{plain_number(commission_rate(call.session, leader) * 100)}%") for leader in leaders)


def parse_rate(text: str) -> Decimal | None:
    try:
        rate = Decimal(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except InvalidOperation:
        return None
    return rate if 0 <= rate <= 1 else None


@command("授权团长", role="admin", usage="授权团长 微信号 名字 [佣金比例]", help="让一个人当团长", min_args=2, max_args=3)
def authorise_command(call: Call) -> str:
    user_id, name = call.args[0], call.args[1]
    rate = None
    if len(call.args) == 3:
        rate = parse_rate(call.args[2])
        if rate is None:
            return texts.BAD_RATE
    leader = call.session.get(Leader, user_id) or Leader(id=user_id, name=name)
    leader.name, leader.active = name, True
    if rate is not None:
        leader.commission_rate = rate
    call.session.add(leader)
    call.session.flush()
    record_rate(call.session, user_id, leader.commission_rate, call.at)
    return texts.LEADER_AUTHORISED.format(name=name, id=user_id, rate=f"{plain_number(commission_rate(call.session, leader) * 100)}%")


@command("转交群", role="admin", usage="转交群 群名或群号 团长微信号", help="把一个群交给另一个团长", min_args=2, max_args=2)
def reassign_command(call: Call) -> list[OutgoingText] | str:
    """P1: the one way a group that has a leader changes hands."""
    name, leader_id = call.args
    group = _one_group(call, name)
    if isinstance(group, str):
        return group
    leader = leader_of(call.session, leader_id)
    if leader is None:
        return texts.LEADER_NOT_FOUND.format(id=leader_id)
    previous = reassign_group(call.session, group, leader, call.at)
    out = [OutgoingText(call.msg.sender, texts.REASSIGNED.format(group=group.name, name=leader.name), is_group=False)]
    if previous != leader.id:
        out.append(OutgoingText(leader.id, texts.REASSIGNED_TO_YOU.format(group=group.name), is_group=False))
        if previous is not None:
            out.append(OutgoingText(previous, texts.REASSIGNED_AWAY.format(group=group.name, name=leader.name),
                                    is_group=False))
    return out


@command("改群号", role="admin", usage="改群号 群名或旧群号 新群号", help="一个群认错了群号时，改认另一个",
         min_args=2, max_args=2)
def move_command(call: Call) -> str:
    """P2: a group that learned an impostor's room (it spoke first) is pointed at the real one."""
    name, room = call.args
    group = _one_group(call, name)
    if isinstance(group, str):
        return group
    if last_topic(call.session, room) is None:
        return texts.ROOM_NOT_HEARD.format(room=room)
    if (taken := group_for_chat(call.session, room)) is not None:
        return texts.ROOM_TAKEN.format(room=room, group=taken.name)
    move_group(call.session, group, room)
    return texts.MOVED.format(group=group.name, room=room)


def _one_group(call: Call, name: str) -> Group | str:
    """The group an admin names (room id, set-up name or topic), or why there is not one."""
    groups = groups_named(call.session, name)
    if not groups:
        return texts.GROUP_NOT_FOUND.format(name=name)
    if len(groups) > 1:
        rooms = "\n".join(texts.ROOM_LINE.format(room=g.chat_id, speakers=g.name) for g in groups)
        return texts.GROUP_AMBIGUOUS.format(count=len(groups), name=name, rooms=rooms)
    return groups[0]
