"""The evening summaries: one to each leader, one to each platform admin, once a day.

The platform's summary stays short at any size (totals, the top groups, a few campaigns, the
anomalies) and carries a picture of the day's sales by product and by group; the rest is in
the dashboard and the exports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.common import money
from bot.outbox import Outbox
from storage.dashboard import (
    GroupSales,
    Page,
    ProductSales,
    Scope,
    Totals,
    campaign_ids_between,
    campaign_summaries,
    missing_count,
    sales_by_group,
    sales_by_product,
    status_counts,
    totals,
    unsent_count,
)
from storage.formatting import plain_number
from storage.lookup import active_leaders, admins, leader_groups
from storage.models import ItemStatus, Leader
from storage.outbox import failed_sends, recipient_name
from storage.reports import (
    campaigns_between,
    entries_needing_review,
    leader_statement,
    member_count,
    product_totals,
)

log = logging.getLogger(__name__)
TOP_GROUPS = 5  # groups named in the platform's summary
TOP_CAMPAIGNS = 3  # campaigns named in the platform's summary
PICTURE_BARS = 8  # bars per chart in the picture, the rest in one
UNSENT_AFTER = timedelta(minutes=10)  # younger unsent messages are just waiting for their turn


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
        key = f"summary:{day}:{leader.id}"
        if outbox.used(session, key):
            continue  # a job run twice (a retry, a second process) builds nothing again
        text = leader_summary(session, leader, start, end)
        if text and outbox.enqueue(session, OutgoingText(leader.id, text, is_group=False), kind="summary",
                                   dedupe_key=key):
            sent += 1
    waiting = [a for a in admins(session) if not outbox.used(session, f"summary:{day}:{a.user_id}")]
    if waiting:
        sales = day_sales(session, start, end)
        text = admin_summary(session, start, end, now, sales)
        picture = day_picture(session, start, end, sales)
        for admin in waiting:
            if outbox.enqueue(session, OutgoingText(admin.user_id, text, is_group=False, image=picture),
                              kind="summary", dedupe_key=f"summary:{day}:{admin.user_id}"):
                sent += 1
    return sent


def _date(start: datetime) -> str:
    return f"{start.month}月{start.day}日"


def leader_summary(session: Session, leader: Leader, start: datetime, end: datetime) -> str | None:
    groups = [g.id for g in leader_groups(session, leader.id)]
    if not groups:
        return None
    statement = leader_statement(session, leader.id, start, end)
    campaigns = []
    review = 0
    for campaign in campaigns_between(session, start, end):
        amount = sum((t.amount for t in product_totals(session, campaign.id, groups)), start=0)
        orders = member_count(session, campaign.id, groups)
        if orders:
            campaigns.append((campaign.title, orders, amount))
        review += len(entries_needing_review(session, campaign.id, groups))
    if not campaigns and not statement.orders and not review:
        return None  # nothing happened: say nothing
    if len(campaigns) == 1 and campaigns[0][2] == statement.gmv:
        # The campaign's whole sales are today's: its line says everything once.
        title, orders, amount = campaigns[0]
        text = texts.SUMMARY_LEADER_ONE.format(date=_date(start), title=title, orders=orders, amount=money(amount),
                                               commission=money(statement.commission))
    else:
        lines = [texts.SUMMARY_CAMPAIGN_LINE.format(title=t, orders=n, amount=money(a)) for t, n, a in campaigns]
        text = texts.SUMMARY_LEADER.format(
            date=_date(start), campaigns="\n".join(lines) or texts.SUMMARY_NOTHING,
            orders=statement.orders, gmv=money(statement.gmv), commission=money(statement.commission))
    if review:
        text += "\n" + texts.SUMMARY_LEADER_REVIEW.format(count=review)
    return text


@dataclass
class DaySales:
    """What the platform's summary and its picture say about one day (read once for both)."""

    totals: Totals
    groups: Page[GroupSales]  # the largest first, PICTURE_BARS of them
    products: Page[ProductSales]


def day_sales(session: Session, start: datetime, end: datetime) -> DaySales:
    scope = Scope(start=start, end=end)
    day = totals(session, scope, members=False)
    if not day.orders:
        return DaySales(day, Page([], 0), Page([], 0))
    return DaySales(day, sales_by_group(session, scope, limit=PICTURE_BARS),
                    sales_by_product(session, scope, limit=PICTURE_BARS))


def admin_summary(session: Session, start: datetime, end: datetime, now: datetime | None = None,
                  sales: DaySales | None = None) -> str:
    """Totals of the day, the top groups, the largest campaigns running, the anomalies: a
    dozen lines whether the platform has one group or ten thousand."""
    sales = sales or day_sales(session, start, end)
    day = sales.totals
    lines = [texts.SUMMARY_ADMIN.format(date=_date(start))]
    if day.orders:
        lines.append(texts.SUMMARY_ADMIN_TOTALS.format(orders=day.orders, gmv=money(day.gmv), groups=day.groups))
        lines += _top_groups(sales)
    else:
        lines.append(texts.SUMMARY_NOTHING)
    campaign_ids = campaign_ids_between(session, start, end)
    lines += _campaign_lines(session, campaign_ids, day)
    statuses = status_counts(session, campaign_ids)
    review = statuses[ItemStatus.UNMATCHED] + statuses[ItemStatus.REVIEW]
    anomalies = [text.format(count=count) for text, count in (
        (texts.SUMMARY_ANOMALY_REVIEW, review),
        (texts.SUMMARY_ANOMALY_MISSING, missing_count(session, campaign_ids))) if count]
    if anomalies:
        lines.append(texts.SUMMARY_ADMIN_ANOMALY.format(items="，".join(anomalies)))
    unsent = unsent_count(session, (now or end) - UNSENT_AFTER)
    if unsent:
        lines.append(texts.SUMMARY_ADMIN_UNSENT.format(count=unsent))
    failed = failed_sends(session, start, end)
    if failed:
        names = dict.fromkeys(recipient_name(session, f.to, f.is_group) for f in failed)
        where = "、".join(list(names)[:3]) + ("…" if len(names) > 3 else "")
        lines.append(texts.SUMMARY_ADMIN_SEND_FAILED.format(count=len(failed), where=where))
    if day.groups > TOP_GROUPS or len(campaign_ids) > TOP_CAMPAIGNS:
        lines.append(texts.SUMMARY_ADMIN_MORE)
    return "\n".join(lines)


def _top_groups(sales: DaySales) -> list[str]:
    top = sales.groups.rows[:TOP_GROUPS]
    header = (texts.SUMMARY_ADMIN_TOP.format(count=len(top)) if sales.totals.groups > TOP_GROUPS
              else texts.SUMMARY_ADMIN_GROUPS)
    return [header] + [
        texts.SUMMARY_ADMIN_TOP_LINE.format(rank=rank, group=row.group, leader=row.leader or "—", orders=row.orders,
                                            gmv=money(row.gmv))
        for rank, row in enumerate(top, start=1)
    ]


def _campaign_lines(session: Session, campaign_ids: list[str], day: Totals) -> list[str]:
    """The largest campaigns taking orders today, with their totals so far; none when the one
    campaign's totals are today's (the totals line said it already)."""
    if not campaign_ids:
        return []
    page = campaign_summaries(session, TOP_CAMPAIGNS, ids=campaign_ids, by_gmv=True)
    shown = [c for c in page.rows if c.orders]
    if len(campaign_ids) == 1 and shown and (shown[0].orders, shown[0].gmv) == (day.orders, day.gmv):
        return []
    lines = [texts.SUMMARY_ADMIN_CAMPAIGN.format(title=c.title, orders=c.orders, gmv=money(c.gmv)) for c in shown]
    if page.total > len(shown) and shown:
        lines.append(texts.SUMMARY_ADMIN_MORE_CAMPAIGNS.format(count=page.total - len(shown)))
    return lines


_font_warned = False


def day_picture(session: Session, start: datetime, end: datetime, sales: DaySales | None = None) -> bytes | None:
    """The day's sales by product and by group as a PNG; None when nothing was sold, or when
    no chart can be drawn (no CJK font: logged once, the text goes alone)."""
    global _font_warned
    sales = sales or day_sales(session, start, end)
    day, products, groups = sales.totals, sales.products, sales.groups
    if not day.orders:
        return None
    from bot import charts  # matplotlib loads when the first picture is drawn, not at start-up

    try:
        product_bars = charts.top_bars(
            [(p.name, p.gmv, texts.PICTURE_PRODUCT_AMOUNT.format(qty=plain_number(p.qty), unit=p.unit,
                                                                 amount=money(p.gmv))) for p in products.rows],
            day.gmv, products.total, PICTURE_BARS, texts.PICTURE_OTHERS, _amount_text)
        group_bars = charts.top_bars([(g.group, g.gmv, _amount_text(g.gmv)) for g in groups.rows],
                                     day.gmv, groups.total, PICTURE_BARS, texts.PICTURE_OTHERS, _amount_text)
        title = texts.PICTURE_TITLE.format(date=_date(start), gmv=money(day.gmv), orders=day.orders)
        return charts.sales_picture(title, (texts.PICTURE_BY_PRODUCT, product_bars),
                                    (texts.PICTURE_BY_GROUP, group_bars), texts.PICTURE_EMPTY)
    except charts.ChartFontMissing as exc:
        if not _font_warned:
            _font_warned = True
            log.error("evening summary goes without its picture: %s", exc)
    except Exception:  # a picture is a bonus: the summary goes out without it
        log.exception("evening summary goes without its picture")
    return None


def _amount_text(amount) -> str:
    return texts.PICTURE_AMOUNT.format(amount=money(amount))
