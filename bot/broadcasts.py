"""Campaign posts, reminders, the close with the final list, pickup notices.

Job bodies are plain functions (tests and the demo call them directly; bot.scheduler runs
them on time). Each post goes through the outbox with a dedupe key
`post:{campaign}:{group}:{kind}`, so a restart, a retry or a leader's manual 开团/截单/到货
never posts the same thing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.common import clock_text, duration_text, items_text, money
from bot.outbox import Outbox
from storage.corrections import close_campaign
from storage.lookup import campaign_groups, campaign_products, campaigns_opened_by
from storage.models import Campaign, Group
from storage.reports import member_count, member_orders

KINDS = ("open", "reminder", "close", "pickup")
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
    if kind == "open" and now >= campaign.deadline:
        return False
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
    lines += [texts.CLOSE_LINE.format(seq=i, member=r.member, items=items_text(r.items))
              for i, r in enumerate(rows, start=1)]
    lines.append(texts.CLOSE_FOOTER.format(
        orders=len(rows), pickup=clock_text(campaign.pickup, tz) if campaign.pickup else "到货后",
        place=campaign.pickup_place or "老地方"))
    return "\n".join(lines)


def pickup_notice(session: Session, campaign: Campaign, group: Group) -> str | None:
    rows = [r for r in member_orders(session, campaign.id, [group.id]) if not r.picked_up]
    if not rows:
        return None
    lines = [texts.PICKUP_HEADER.format(title=campaign.title, place=campaign.pickup_place or "老地方")]
    lines += [texts.PICKUP_LINE.format(member=r.member, items=items_text(r.items)) for r in rows]
    return "\n".join(lines)


def _mentions(session: Session, campaign: Campaign, group: Group) -> tuple[str, ...]:
    return tuple(r.member_id for r in member_orders(session, campaign.id, [group.id]) if not r.picked_up)


def run_due_posts(ctx: AppContext, session: Session, outbox: Outbox, now: datetime) -> int:
    """Queue every post that is due and not yet sent (the scheduler's catch-up on start)."""
    queued = 0
    for campaign in campaigns_opened_by(session, now):
        for group in campaign_groups(session, campaign):
            for due in schedule_of(campaign, ctx.settings):
                if due.at <= now and run_post(ctx, session, outbox, campaign, group, due.kind, due.at):
                    queued += 1
    return queued
