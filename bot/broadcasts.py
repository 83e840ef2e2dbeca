"""Campaign posts, reminders, the close with the final list, pickup notices.

Job bodies are plain functions (tests and the demo call them directly; bot.scheduler runs
them on time). Each post goes through the outbox with a dedupe key
`post:{campaign}:{group}:{kind}`, so a restart, a retry or a leader's manual 开团/截单/到货
never posts the same thing twice.

When they are due is kept as rows (storage.schedule): `plan_posts` writes them from the
campaigns whenever the set-up or the day changes, `run_due_posts` queues what is due — each
post once among any number of processes, late ones after a restart included.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from bot import summaries, texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.common import clock_text, duration_text, items_text, money
from bot.outbox import Outbox
from storage import schedule
from storage.corrections import close_campaign
from storage.db import lock_for_writing
from storage.lookup import campaign_groups, campaign_products, campaigns_with_deadline_after
from storage.models import Campaign, Group
from storage.reports import member_count, member_orders
from storage.revision import setup_revision

log = logging.getLogger(__name__)
KINDS = ("open", "reminder", "close", "pickup")
SUMMARY = "summary"  # the evening summaries: a scheduled row of its own, once a day
MAX_TRIES = 3  # a scheduled post that raised this often is given up (logged), not retried forever
LATE_GRACE = timedelta(minutes=10)  # later than this, a post says it is late
TOO_LATE = timedelta(days=1)  # later than this, a missed post is skipped


@dataclass(frozen=True)
class Due:
    kind: str
    at: datetime


def schedule_of(campaign: Campaign, settings) -> list[Due]:
    """When each post of a campaign is due."""
    out = [Due("open", campaign.opens), Due("reminder", campaign.deadline - settings.reminder_before_deadline),
           Due("close", campaign.deadline)]
    if campaign.pickup is not None:
        out.append(Due("pickup", campaign.pickup))
    return out


def post_key(campaign: Campaign, group: Group, kind: str) -> str:
    return f"post:{campaign.id}:{group.id}:{kind}"


def run_post(ctx: AppContext, session: Session, outbox: Outbox, campaign: Campaign, group: Group, kind: str,
             due_at: datetime | None = None) -> bool:
    """Queue one post for one group. False when it was sent before or no longer makes sense."""
    now = ctx.now()
    due_at = due_at or now
    if kind == "reminder" and now >= campaign.deadline:
        return False  # a reminder after the deadline helps nobody
    if kind == "open" and not campaign.opens <= now < campaign.deadline:
        return False  # never before it opens (P4), nor once orders are closed
    if now - due_at > TOO_LATE:
        return False
    text = build_post(ctx, session, campaign, group, kind)
    if text is None:
        return False
    if now - due_at > LATE_GRACE:
        text = texts.LATE_NOTE + text
    if kind == "close":
        close_campaign(session, campaign.id, [group.id], min(now, campaign.deadline))
    out = OutgoingText(group.chat_id, text, _mentions(session, campaign, group) if kind == "pickup" else ())
    return outbox.enqueue(session, out, kind=f"post-{kind}", dedupe_key=post_key(campaign, group, kind))


def build_post(ctx: AppContext, session: Session, campaign: Campaign, group: Group, kind: str) -> str | None:
    tz = ctx.tz
    if kind == "open":
        return campaign_post(session, campaign, tz)
    if kind == "reminder":
        orders = member_count(session, campaign.id, [group.id])
        return texts.REMINDER.format(lead=duration_text(ctx.settings.reminder_before_deadline),
                                     deadline=clock_text(campaign.deadline, tz)[-5:], orders=orders)
    if kind == "close":
        return final_list(session, campaign, group, tz)
    if kind == "pickup":
        return pickup_notice(session, campaign, group)
    raise ValueError(f"unknown post kind {kind!r}")


def campaign_post(session: Session, campaign: Campaign, tz) -> str:
    products = campaign_products(session, campaign.id)
    lines = [texts.POST_HEADER.format(title=campaign.title)]
    lines += [texts.POST_PRODUCT.format(name=p.name, price=money(p.price), unit=p.unit or "份") for p in products]
    example = f"{products[0].name}1{products[0].unit or '份'}" if products else "西瓜1个"
    footer = texts.POST_FOOTER if campaign.link else texts.POST_FOOTER_NO_LINK
    lines.append("")
    lines.append(footer.format(
        deadline=clock_text(campaign.deadline, tz),
        pickup=clock_text(campaign.pickup, tz) if campaign.pickup else "到货后",
        place=campaign.pickup_place or "老地方", link=campaign.link, example=example,
    ))
    return "\n".join(lines)


def final_list(session: Session, campaign: Campaign, group: Group, tz) -> str:
    rows = member_orders(session, campaign.id, [group.id])
    lines = [texts.CLOSE_HEADER.format(title=campaign.title)]
    lines += [texts.CLOSE_LINE.format(seq=_numbers(r.numbers), member=r.member, items=items_text(r.items))
              for r in rows]
    lines.append(texts.CLOSE_FOOTER.format(
        orders=len(rows), pickup=clock_text(campaign.pickup, tz) if campaign.pickup else "到货后",
        place=campaign.pickup_place or "老地方"))
    return "\n".join(lines)


def pickup_notice(session: Session, campaign: Campaign, group: Group) -> str | None:
    rows = [r for r in member_orders(session, campaign.id, [group.id]) if not r.picked_up]
    if not rows:
        return None
    lines = [texts.PICKUP_HEADER.format(title=campaign.title, place=campaign.pickup_place or "老地方")]
    lines += [texts.PICKUP_LINE.format(seq=_numbers(r.numbers), member=r.member, items=items_text(r.items))
              for r in rows]
    return "\n".join(lines)


def _numbers(numbers: list[int]) -> str:
    """An order's number, as every list and the leader's commands show it."""
    return "、".join(map(str, numbers))


def _mentions(session: Session, campaign: Campaign, group: Group) -> tuple[str, ...]:
    return tuple(r.member_id for r in member_orders(session, campaign.id, [group.id]) if not r.picked_up)


class PostOutcome(StrEnum):
    QUEUED = "queued"
    SKIPPED = "skipped"  # posted before (a leader's 开团), too late, or nothing to say
    RETRY = "retry"  # raised: left due, tried again next time
    FAILED = "failed"  # raised MAX_TRIES times: given up


def run_due_posts(ctx: AppContext, session: Session, outbox: Outbox, now: datetime, *,
                  limit: int | None = None) -> int:
    """Queue every post due at `now` (and the evening summaries once their time has come),
    each once however many processes do this; how many were queued. Plans first if the
    set-up or the day changed (cheap otherwise)."""
    plan_posts(ctx, session, now)
    return drain_due_posts(ctx, session, outbox, now, limit=limit).queued


def plan_posts(ctx: AppContext, session: Session, now: datetime, *, force: bool = False) -> bool:
    """Write the schedule of every campaign still running (and today's summary) as rows, when
    the set-up or the day changed since the last plan (by any process). True if it planned."""
    revision, day = setup_revision(session), now.astimezone(ctx.tz).date()
    if not force and schedule.plan_stamp(session) == (revision, day.isoformat()):
        return False
    if not schedule.try_planning_lock(session):
        return False  # another process is planning this very change
    posts, campaign_ids = planned_posts(ctx, session, now)
    schedule.save_plan(session, posts, campaign_ids, revision, day.isoformat())
    return True


def planned_posts(ctx: AppContext, session: Session, now: datetime) -> tuple[list[schedule.PlannedPost], list[str]]:
    """Every post of every campaign not long past, for each of its groups, and today's summary."""
    posts, campaign_ids = [], []
    for campaign in campaigns_with_deadline_after(session, now - TOO_LATE):
        campaign_ids.append(campaign.id)
        for group in campaign_groups(session, campaign):
            posts += [schedule.PlannedPost(post_key(campaign, group, due.kind), due.kind, campaign.id, group.id, due.at)
                      for due in schedule_of(campaign, ctx.settings)]
    day = now.astimezone(ctx.tz).date()
    hour, minute = (int(x) for x in ctx.settings.evening_summary_at.split(":"))
    summary_at = datetime.combine(day, time(hour, minute), tzinfo=ctx.tz)
    posts.append(schedule.PlannedPost(f"{SUMMARY}:{day.isoformat()}", SUMMARY, None, None, summary_at))
    return posts, campaign_ids


@dataclass(frozen=True)
class Drained:
    done: list[tuple[str, PostOutcome]]  # (key, outcome) of each row this call took

    @property
    def taken(self) -> int:  # a full batch: there may be more
        return len(self.done)

    @property
    def queued(self) -> int:
        return sum(outcome is PostOutcome.QUEUED for _key, outcome in self.done)


def drain_due_posts(ctx: AppContext, session: Session, outbox: Outbox, now: datetime, *,
                    limit: int | None = None) -> Drained:
    """Queue the due posts this transaction can take (others may be posting the rest), each
    marked done with its outcome in the same transaction. A post that raises is rolled back
    alone (a savepoint) and tried again next time, MAX_TRIES at most."""
    lock_for_writing(session)
    done = []
    for post in schedule.take_due_posts(session, now, limit):
        try:
            with session.begin_nested():
                outcome = _run_scheduled(ctx, session, outbox, post, now)
        except Exception as exc:  # noqa: BLE001 - one broken post must not stop the others
            log.exception("scheduled %s failed (try %d of %d)", post.key, post.attempts + 1, MAX_TRIES)
            error = f"{exc.__class__.__name__}: {exc}"
            if post.attempts + 1 >= MAX_TRIES:
                schedule.finish(session, post.id, now, PostOutcome.FAILED, error[:1000])
                done.append((post.key, PostOutcome.FAILED))
            else:
                schedule.failed_try(session, post.id, error)
                done.append((post.key, PostOutcome.RETRY))
            continue
        schedule.finish(session, post.id, now, outcome)
        done.append((post.key, outcome))
        log.info("scheduled %s: %s", post.key, outcome)
    return Drained(done)


def _run_scheduled(ctx: AppContext, session: Session, outbox: Outbox, post: schedule.DuePost,
                   now: datetime) -> PostOutcome:
    if post.kind == SUMMARY:
        if now.astimezone(ctx.tz).date() != post.due_at.astimezone(ctx.tz).date():
            return PostOutcome.SKIPPED  # a day late: that day is over
        return PostOutcome.QUEUED if summaries.run_evening_summaries(ctx, session, outbox) else PostOutcome.SKIPPED
    if outbox.used(session, post.key):
        return PostOutcome.SKIPPED  # a leader posted it by hand, or another process did
    campaign = session.get(Campaign, post.campaign_id) if post.campaign_id else None
    group = session.get(Group, post.group_id) if post.group_id is not None else None
    if campaign is None or group is None:
        return PostOutcome.SKIPPED
    queued = run_post(ctx, session, outbox, campaign, group, post.kind, post.due_at)
    return PostOutcome.QUEUED if queued else PostOutcome.SKIPPED
