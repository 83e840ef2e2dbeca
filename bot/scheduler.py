"""One schedule for any number of bot processes.

Scheduled posts are rows (storage.schedule), planned from the campaigns; every running
process looks for due rows every few seconds (`tick`) and queues them through
bot.broadcasts — each post once, however many processes look (a row is taken FOR UPDATE SKIP
LOCKED and marked done with its post), none lost when a process stops (its rows go back, the
others or the next start take them: that is the failover, within TICK_SECONDS). Posts missed
while everything was down are queued late on the next start (the post says so) or skipped
when too late. Why rows rather than an elected scheduler: docs/sending.md.

APScheduler 3 keeps only each process's own timer, in memory: its job stores "must never be
shared between schedulers", and nothing here shares one. The job body is a plain function.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import broadcasts
from bot.context import AppContext, Settings, load_settings
from bot.outbox import Outbox
from storage.db import open_db

log = logging.getLogger(__name__)
TICK_SECONDS = 10
BATCH = 50  # posts per transaction: other processes take the rest of a large fan-out meanwhile
JOB_ID = "scheduled-posts"


def tick(ctx: AppContext, outbox: Outbox, now: datetime | None = None) -> broadcasts.Drained:
    """Plan if the set-up or the day changed, then queue everything due, a batch per
    transaction. What this process took, with each outcome."""
    now = now or ctx.now()
    with ctx.sessions.begin() as session:
        broadcasts.plan_posts(ctx, session, now)
    done = []
    while True:
        with ctx.sessions.begin() as session:
            drained = broadcasts.drain_due_posts(ctx, session, outbox, now, limit=BATCH)
        done += drained.done
        if drained.taken < BATCH or any(o is broadcasts.PostOutcome.RETRY for _key, o in drained.done):
            return broadcasts.Drained(done)  # all taken (or one raised: it waits for the next tick)


@lru_cache(maxsize=8)
def _context(db_url: str | None) -> AppContext:
    sessions = open_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    return AppContext(sessions, lambda: datetime.now(ZoneInfo(settings.timezone)), settings)


def run_tick_job(db_url: str | None) -> None:
    ctx = _context(db_url)
    queued = tick(ctx, Outbox(ctx)).queued
    if queued:
        log.info("queued %d scheduled posts", queued)


def build_scheduler(settings: Settings) -> BackgroundScheduler:
    """This process's timer: an in-memory job store, a tick that never runs twice at once."""
    return BackgroundScheduler(
        timezone=ZoneInfo(settings.timezone),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": TICK_SECONDS * 3},
    )


def start(db_url: str | None, settings: Settings, now: datetime) -> BackgroundScheduler:
    """Start this process's timer; the first tick runs at once (catching up on missed posts)."""
    scheduler = build_scheduler(settings)
    scheduler.add_job(run_tick_job, IntervalTrigger(seconds=TICK_SECONDS, timezone=ZoneInfo(settings.timezone)),
                      id=JOB_ID, args=[db_url], next_run_time=now, replace_existing=True)
    scheduler.start()
    return scheduler


def stop(scheduler: BackgroundScheduler) -> None:
    scheduler.shutdown(wait=True)
