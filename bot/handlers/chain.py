"""A chain copy in a group: merge it, then speak only where it helps one member."""

from __future__ import annotations

import hashlib

from bot import texts
from bot.handlers.common import Turn, clock_text, items_text
from parsers.model import ParsedMessage
from storage.chains import apply_chain
from storage.lookup import campaign_products, leader_ids
from storage.models import Campaign, Group
from storage.orders import Problem, ProblemKind
from storage.reports import member_count, product_totals


def handle_chain(turn: Turn, group: Group, campaign: Campaign | None, parsed: ParsedMessage) -> None:
    outcome = apply_chain(
        turn.session, group=group, campaign=campaign, message=turn.log, parsed=parsed,
        leader_ids=leader_ids(group), at=turn.at,
    )
    for problem in outcome.problems:
        _tell_member(turn, group, campaign, problem)
    counted = outcome.added - sum(1 for p in outcome.problems if p.kind == ProblemKind.LATE)
    if campaign is not None and (counted > 0 or outcome.cancelled or outcome.changed):
        _maybe_digest(turn, group, campaign)


def _tell_member(turn: Turn, group: Group, campaign: Campaign | None, problem: Problem) -> None:
    text = _problem_text(turn, campaign, problem)
    if text is None:
        return
    # One mention per member and problem, however many copies repeat the line.
    digest = hashlib.blake2b(f"{problem.kind}:{problem.text}".encode(), digest_size=6).hexdigest()
    key = f"problem:{group.id}:{campaign.id if campaign else '-'}:{problem.member_id}:{digest}"
    turn.say_group(text, (problem.member_id, problem.member_name or problem.member_id), kind="problem",
                   dedupe_key=key)


def _problem_text(turn: Turn, campaign: Campaign | None, problem: Problem) -> str | None:
    if problem.kind == ProblemKind.UNMATCHED:
        names = _product_names(turn, campaign)
        if problem.detail:
            return texts.UNMATCHED.format(text=problem.text, reason=problem.detail, products=names)
        return texts.UNMATCHED_NO_REASON.format(text=problem.text, products=names)
    if problem.kind == ProblemKind.LATE and campaign is not None:
        return texts.LATE.format(deadline=clock_text(campaign.deadline, turn.ctx.tz), text=problem.text)
    if problem.kind == ProblemKind.WAITLIST:
        return texts.WAITLIST.format(product=problem.detail or texts.THIS_PRODUCT, text=problem.text)
    if problem.kind == ProblemKind.REVIEW:
        return texts.REVIEW.format(text=problem.text)
    return None


def _product_names(turn: Turn, campaign: Campaign | None) -> str:
    if campaign is None:
        return texts.NO_CAMPAIGN_YET
    names = [p.name for p in campaign_products(turn.session, campaign.id)]
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
