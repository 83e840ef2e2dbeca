"""The evening summaries: one to each leader, one to each platform admin, once a day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.common import items_text, money
from bot.outbox import Outbox
from storage.lookup import active_leaders, admins, leader_groups
from storage.models import Leader
from storage.outbox import failed_sends, recipient_name
from storage.reports import (
    campaigns_between,
    entries_needing_review,
    group_totals,
    leader_statement,
    member_count,
    missing_entry_count,
    product_totals,
)


def day_bounds(ctx: AppContext, now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(ctx.tz)
    start = datetime.combine(local.date(), time(0), tzinfo=ctx.tz)
    return start, start + timedelta(days=1)


def run_evening_summaries(ctx: AppContext, session: Session, outbox: Outbox) -> int:
    """Queue today's summaries; each person gets at most one per day."""
    now = ctx.now()
    start, end = day_bounds(ctx, now)
    day = start.date().isoformat()
    sent = 0
    for leader in active_leaders(session):
        text = leader_summary(session, leader, start, end)
        if text and outbox.enqueue(session, OutgoingText(leader.id, text, is_group=False), kind="summary",
                                   dedupe_key=f"summary:{day}:{leader.id}"):
            sent += 1
    admin_text = admin_summary(session, start, end)
    for admin in admins(session):
        if outbox.enqueue(session, OutgoingText(admin.user_id, admin_text, is_group=False), kind="summary",
                          dedupe_key=f"summary:{day}:{admin.user_id}"):
            sent += 1
    return sent


def leader_summary(session: Session, leader: Leader, start: datetime, end: datetime) -> str | None:
    groups = [g.id for g in leader_groups(session, leader.id)]
    if not groups:
        return None
    statement = leader_statement(session, leader.id, start, end)
    lines = []
    review = 0
    for campaign in campaigns_between(session, start, end):
        totals = product_totals(session, campaign.id, groups)
        amount = sum((t.amount for t in totals), start=0)
        orders = member_count(session, campaign.id, groups)
        if orders:
            lines.append(texts.SUMMARY_CAMPAIGN_LINE.format(title=campaign.title, orders=orders, amount=money(amount)))
        review += len(entries_needing_review(session, campaign.id, groups))
    text = texts.SUMMARY_LEADER.format(
        date=f"{start.month}月{start.day}日", campaigns="\n".join(lines) or texts.SUMMARY_NOTHING,
        orders=statement.orders, gmv=money(statement.gmv), commission=money(statement.commission))
    if not lines and not statement.orders and not review:
        return None  # nothing happened: say nothing
    if review:
        text += "\n" + texts.SUMMARY_LEADER_REVIEW.format(count=review)
    return text


def admin_summary(session: Session, start: datetime, end: datetime) -> str:
    lines, orders_total, gmv_total, review, missing = [], 0, 0, 0, 0
    for campaign in campaigns_between(session, start, end):
        for _gid, name, orders, gmv in group_totals(session, campaign.id):
            lines.append(f"【{campaign.title}】{name}：{orders}单，{money(gmv)}元")
            orders_total += orders
            gmv_total += gmv
        totals = [t for t in product_totals(session, campaign.id) if t.qty > 0]
        if totals:
            lines.append(texts.SUMMARY_ADMIN_PROCUREMENT.format(items=items_text((t.name, t.qty, t.unit) for t in totals)))
        review += len(entries_needing_review(session, campaign.id))
        missing += missing_entry_count(session, campaign.id)
    text = texts.SUMMARY_ADMIN.format(date=f"{start.month}月{start.day}日", lines="\n".join(lines) or texts.SUMMARY_NOTHING,
                                      orders=orders_total, gmv=money(gmv_total))
    if review or missing:
        text += "\n" + texts.SUMMARY_ADMIN_ANOMALY.format(count=review, missing=missing)
    failed = failed_sends(session, start, end)
    if failed:
        names = dict.fromkeys(recipient_name(session, f.to, f.is_group) for f in failed)
        where = "、".join(list(names)[:3]) + ("…" if len(names) > 3 else "")
        text += "\n" + texts.SUMMARY_ADMIN_SEND_FAILED.format(count=len(failed), where=where)
    return text
