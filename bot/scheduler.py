"""Scheduled broadcasts with APScheduler 3 (the only module that imports it).

Jobs live in the same database (SQLAlchemyJobStore), so a restart keeps them; their bodies
are the plain functions of bot.broadcasts and bot.summaries, and every post carries an
outbox dedupe key, so a job that runs twice (a retry, a coalesced misfire) posts once.
A job missed while the bot was down runs when it is back (misfire grace of a day): the
post says it is late, or is skipped when it no longer makes sense.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from bot import broadcasts, summaries
from bot.context import AppContext, Settings, load_settings
from bot.outbox import Outbox
from storage.db import database_url, open_db
from storage.lookup import campaign_groups, campaigns_with_deadline_after
from storage.models import Campaign, Group

log = logging.getLogger(__name__)
MISFIRE_GRACE = 24 * 3600
SYNC_EVERY_MINUTES = 10


def build_scheduler(db_url: str | None, settings: Settings) -> BackgroundScheduler:
    store = SQLAlchemyJobStore(url=database_url(db_url), tablename="scheduled_jobs")
    return BackgroundScheduler(
        jobstores={"default": store},
        timezone=ZoneInfo(settings.timezone),
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
    )


def sync_jobs(scheduler, session: Session, settings: Settings, db_url: str | None, now: datetime) -> int:
    """One job per (campaign, group, post) still ahead, the evening summary and a periodic
    re-sync (new campaigns, newly bound groups). Stable ids: calling this again is harmless."""
    count = 0
    for campaign in campaigns_with_deadline_after(session, now - broadcasts.TOO_LATE):
        for group in campaign_groups(session, campaign):
            for due in broadcasts.schedule_of(campaign, settings):
                if due.at < now:
                    continue
                scheduler.add_job(
                    run_post_job, DateTrigger(run_date=due.at), id=job_id(campaign, group, due.kind),
                    args=[db_url, campaign.id, group.id, due.kind, due.at.isoformat()], replace_existing=True,
                )
                count += 1
    hour, minute = (int(x) for x in settings.evening_summary_at.split(":"))
    scheduler.add_job(run_summary_job, CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.timezone)),
                      id="evening-summary", args=[db_url], replace_existing=True)
    scheduler.add_job(run_sync_job, IntervalTrigger(minutes=SYNC_EVERY_MINUTES), id="sync", args=[db_url],
                      replace_existing=True)
    return count


def job_id(campaign: Campaign, group: Group, kind: str) -> str:
    return f"post:{campaign.id}:{group.id}:{kind}"


@lru_cache(maxsize=8)
def _context(db_url: str | None) -> AppContext:
    sessions = open_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    return AppContext(sessions, lambda: datetime.now(ZoneInfo(settings.timezone)), settings)


def run_post_job(db_url: str | None, campaign_id: str, group_id: int, kind: str, due_iso: str) -> None:
    ctx = _context(db_url)
    with ctx.sessions.begin() as session:
        campaign, group = session.get(Campaign, campaign_id), session.get(Group, group_id)
        if campaign is None or group is None:
            log.warning("post %s for %s/%s: campaign or group is gone", kind, campaign_id, group_id)
            return
        queued = broadcasts.run_post(ctx, session, Outbox(ctx), campaign, group, kind, datetime.fromisoformat(due_iso))
        log.info("post %s for %s in %s: %s", kind, campaign_id, group.name, "queued" if queued else "skipped")


def run_summary_job(db_url: str | None) -> None:
    ctx = _context(db_url)
    with ctx.sessions.begin() as session:
        summaries.run_evening_summaries(ctx, session, Outbox(ctx))


def run_sync_job(db_url: str | None) -> None:
    ctx = _context(db_url)
    scheduler = _running.get(db_url)
    if scheduler is None:
        return
    with ctx.sessions() as session:
        sync_jobs(scheduler, session, ctx.settings, db_url, ctx.now())


_running: dict[str | None, BackgroundScheduler] = {}


def start(db_url: str | None, settings: Settings, now: datetime) -> BackgroundScheduler:
    """Start the scheduler for the live bot: catch up on missed posts, then schedule the rest."""
    ctx = _context(db_url)
    with ctx.sessions.begin() as session:
        broadcasts.run_due_posts(ctx, session, Outbox(ctx), now)
    scheduler = build_scheduler(db_url, settings)
    scheduler.start()
    _running[db_url] = scheduler
    with ctx.sessions() as session:
        sync_jobs(scheduler, session, settings, db_url, now)
    return scheduler


def stop(scheduler: BackgroundScheduler) -> None:
    scheduler.shutdown(wait=True)
    for key, value in list(_running.items()):
        if value is scheduler:
            del _running[key]
