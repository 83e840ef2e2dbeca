"""A chain copy in a group: merge it, then speak only where it helps one member."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.common import Turn, clock_text, items_text
from bot.outbox import Outbox
from parsers.model import ParsedMessage
from parsers.quantity import UNITS
from storage.chains import apply_chain
from storage.lookup import campaign_products, group_by_id, leader_ids
from storage.models import Campaign, Group
from storage.orders import Problem, ProblemKind
from storage.reports import member_count, product_totals


def handle_chain(turn: Turn, group: Group, campaign: Campaign | None, parsed: ParsedMessage) -> None:
    outcome = apply_chain(
        turn.session, group=group, campaign=campaign, message=turn.log, parsed=parsed,
        leader_ids=leader_ids(group), at=turn.at,
    )
    tell_members(turn.ctx, turn.session, turn.outbox, group, campaign, outcome.problems, chat=turn.msg.chat)
    counted = outcome.added - sum(1 for p in outcome.problems if p.kind == ProblemKind.LATE)
    if campaign is not None and (counted > 0 or outcome.cancelled or outcome.changed):
        _maybe_digest(turn, group, campaign)


def tell_members(ctx: AppContext, session: Session, outbox: Outbox, group: Group, campaign: Campaign | None,
                 problems: list[Problem], chat: str | None = None) -> None:
    """One short @mention per member and problem, in the group it concerns (`chat`: how the
    transport named this group), however many copies repeat the line."""
    for problem in problems:
        text = _problem_text(ctx, session, campaign, problem)
        if text is None:
            continue
        where, to = group, chat or group.chat_id
        if problem.group_id is not None and problem.group_id != group.id:
            where = group_by_id(session, problem.group_id)
            to = where.chat_id
        seen = f"{problem.kind}:{problem.text}"
        if problem.kind == ProblemKind.FLAG:
            seen = f"{problem.kind}:{problem.detail}:{problem.text}"
        elif problem.key:
            seen = f"{problem.kind}:{problem.key}:{problem.text}"
        digest = hashlib.blake2b(seen.encode(), digest_size=6).hexdigest()
        key = f"problem:{where.id}:{campaign.id if campaign else '-'}:{problem.member_id}:{digest}"
        name = problem.member_name or problem.member_id
        outbox.enqueue(session, OutgoingText(to, f"@{name} {text}", (problem.member_id,), is_group=True),
                       kind="problem", dedupe_key=key)


def _problem_text(ctx: AppContext, session: Session, campaign: Campaign | None, problem: Problem) -> str | None:
    if problem.kind == ProblemKind.UNMATCHED:
        names = _product_names(session, campaign)
        if problem.detail:
            return texts.UNMATCHED.format(text=problem.text, reason=problem.detail, products=names)
        return texts.UNMATCHED_NO_REASON.format(text=problem.text, products=names)
    if problem.kind == ProblemKind.LATE and campaign is not None:
        return texts.LATE.format(deadline=clock_text(campaign.deadline, ctx.tz), text=problem.text)
    if problem.kind == ProblemKind.WAITLIST:
        return texts.WAITLIST.format(product=problem.detail or texts.THIS_PRODUCT, text=problem.text)
    if problem.kind == ProblemKind.REVIEW:
        return texts.REVIEW.format(text=problem.text)
    if problem.kind == ProblemKind.FLAG:
        return flag_question(problem.detail, problem.text)
    if problem.kind == ProblemKind.PROMOTED:
        return texts.PROMOTED.format(product=problem.detail or texts.THIS_PRODUCT, text=problem.text)
    return None


def flag_question(kind: str, text: str) -> str:
    """What to ask a member about a flagged part of their line (any FlagKind, known or new)."""
    template = texts.FLAG_QUESTIONS.get(kind, texts.FLAG_QUESTION_DEFAULT)
    if "{unit}" in template:
        unit = next((u for u in UNITS if text.endswith(u)), None)
        if unit is None:
            template = texts.FLAG_HOW_MANY
        return template.format(text=text, unit=unit)
    return template.format(text=text)


def flag_reason(kind: str) -> str:
    """Why a flagged line waits for the leader, in a few words."""
    return texts.FLAG_REASONS.get(kind, texts.FLAG_REASON_DEFAULT)


def _product_names(session: Session, campaign: Campaign | None) -> str:
    if campaign is None:
        return texts.NO_CAMPAIGN_YET
    names = [p.name for p in campaign_products(session, campaign.id)]
    return "、".join(names[:8]) + ("…" if len(names) > 8 else "")


def _maybe_digest(turn: Turn, group: Group, campaign: Campaign) -> None:
    interval = turn.ctx.settings.digest_interval
    if interval.total_seconds() <= 0:
        return
    bucket = int(turn.at.timestamp() // interval.total_seconds())
    key = f"digest:{group.id}:{campaign.id}:{bucket}"
    if turn.outbox.used(turn.session, key):
        return
    totals = [t for t in product_totals(turn.session, campaign.id, [group.id]) if t.qty > 0]
    if not totals:
        return
    orders = member_count(turn.session, campaign.id, [group.id])
    text = texts.DIGEST.format(orders=orders, totals=items_text((t.name, t.qty, t.unit) for t in totals))
    turn.say_group(text, kind="digest", dedupe_key=key)
