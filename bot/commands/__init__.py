"""Private-chat commands: the registry, the grammar, and dispatch."""

from __future__ import annotations

from sqlalchemy.orm import Session

import bot.commands.admin  # noqa: F401  (registers the admin commands)
import bot.commands.leader  # noqa: F401  (registers the leader commands)
import bot.commands.member  # noqa: F401  (registers the member commands)
import bot.commands.orders  # noqa: F401  (registers the commands on single orders)
from bot import texts
from bot.campaigns import CampaignNames
from bot.commands.arguments import Words
from bot.commands.grammar import parse_command
from bot.commands.registry import ANY, ONE, REGISTRY, Call, CommandSpec, specs
from bot.context import AppContext
from bot.events import IncomingMessage, OutgoingText
from bot.outbox import Outbox
from storage.lookup import current_campaigns, is_admin, leader_groups, leader_of
from storage.models import Campaign

__all__ = ["REGISTRY", "Call", "CommandSpec", "dispatch", "specs"]


def dispatch(ctx: AppContext, msg: IncomingMessage, session: Session, outbox: Outbox) -> list[OutgoingText]:
    """Run a private message as a command and return the replies (to the sender unless the
    command addresses groups itself)."""
    parsed = parse_command(msg.text, list(REGISTRY))
    if parsed is None:
        return [_reply(msg, texts.UNKNOWN_COMMAND)]
    spec = REGISTRY[parsed.word]
    caller = leader_of(session, msg.sender)
    call = Call(ctx, session, outbox, msg, parsed.args, parsed.rest, caller,
                leader_groups(session, caller.id) if caller else [], is_admin(session, msg.sender))
    refusal = _refusal(spec, call)
    if refusal is not None:
        return [_reply(msg, refusal)]
    call.words = Words(parsed.rest)
    if spec.campaign:
        answer = _choose_campaigns(spec, call)
        if answer is not None:
            return [_reply(msg, answer)]
    elif not _arity_fits(spec, len(call.words)):
        return [_reply(msg, texts.USAGE.format(usage=spec.usage))]
    result = spec.handler(call)
    if result is None:
        return []
    if isinstance(result, str):
        return [_reply(msg, result)] if result else []
    return result


def _choose_campaigns(spec: CommandSpec, call: Call) -> str | None:
    """Take a campaign name in front of the arguments, when one is there and the command's
    own arguments still fit after it; else the leader's current campaigns. A reply when
    there is none, the name names none, or the command needs one and several run."""
    current = current_campaigns(call.session, [g.id for g in call.groups], call.at)
    words = call.words
    first = words.peek()
    named = CampaignNames(current).named(first.text) if first is not None else None
    if named is not None and _arity_fits(spec, len(words) - 1):
        words.take()
        call.campaigns = [named]
    elif not _arity_fits(spec, len(words)):
        if spec.campaign != ANY and first is not None and _arity_fits(spec, len(words) - 1):
            return texts.CAMPAIGN_NOT_FOUND.format(name=first.text) + _current_names(current)
        return texts.USAGE.format(usage=spec.usage)
    elif not current:
        return texts.NO_CAMPAIGN
    elif spec.campaign == ONE and len(current) > 1:
        return texts.WHICH_CAMPAIGN.format(count=len(current), titles="、".join(c.title for c in current),
                                           example=f"{spec.name} {current[0].title}")
    else:
        call.campaigns = current
    call.campaign = call.campaigns[0]
    return None


def _current_names(current: list[Campaign]) -> str:
    return texts.CURRENT_CAMPAIGNS.format(titles="、".join(c.title for c in current)) if current else ""


def _arity_fits(spec: CommandSpec, count: int) -> bool:
    return count >= spec.min_args and (spec.max_args is None or count <= spec.max_args)


def _refusal(spec: CommandSpec, call: Call) -> str | None:
    if spec.role == "admin" and not call.is_admin:
        return texts.NOT_ALLOWED.format(role=texts.ROLE_NAMES["admin"])
    if spec.role == "leader":
        if call.leader is None:
            return texts.NOT_ALLOWED.format(role=texts.ROLE_NAMES["leader"])
        if not call.groups and spec.name != "绑定":
            return texts.NO_GROUPS
    return None


def _reply(msg: IncomingMessage, text: str) -> OutgoingText:
    return OutgoingText(msg.sender, text, is_group=False)
