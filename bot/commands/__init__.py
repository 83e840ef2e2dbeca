"""Private-chat commands: the registry, the grammar, and dispatch."""

from __future__ import annotations

from sqlalchemy.orm import Session

import bot.commands.admin  # noqa: F401  (registers the admin commands)
import bot.commands.leader  # noqa: F401  (registers the leader commands)
import bot.commands.member  # noqa: F401  (registers the member commands)
from bot import texts
from bot.commands.grammar import parse_command
from bot.commands.registry import REGISTRY, Call, CommandSpec, specs
from bot.context import AppContext
from bot.events import IncomingMessage, OutgoingText
from bot.outbox import Outbox
from storage.lookup import current_campaign, is_admin, leader_groups, leader_of

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
    if len(call.args) < spec.min_args or (spec.max_args is not None and len(call.args) > spec.max_args):
        return [_reply(msg, texts.USAGE.format(usage=spec.usage))]
    if spec.needs_campaign:
        call.campaign = current_campaign(session, [g.id for g in call.groups], msg.sent_at)
        if call.campaign is None:
            return [_reply(msg, texts.NO_CAMPAIGN)]
    result = spec.handler(call)
    if result is None:
        return []
    if isinstance(result, str):
        return [_reply(msg, result)] if result else []
    return result


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
