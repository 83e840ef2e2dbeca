"""The schedule as rows: what is planned (every post of every group, the day's summary), kept
in step with the set-up, and queued once when due — missed posts caught up or skipped, a
leader's manual post not repeated, a post that raises retried then given up. Each process's
timer is one in-memory APScheduler job (no shared job store)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import inspect, select

from bot import broadcasts, scheduler, texts
from bot.broadcasts import PostOutcome
from bot.context import Settings
from storage.lookup import group_for_chat
from storage.models import Outbox as OutboxRow
from storage.schedule import scheduled_posts
from storage.setup import apply_setup, load_setup_text
from tests.bot.test_group_flow import L1, chain
from tests.conftest import GROUP, TZ, at, demo_setup_text
from tests.storage.helpers import bound_group

OTHER = "翠苑二区邻里群"
POSTS = ("open", "reminder", "close", "pickup")


def plan(app, now: datetime) -> bool:
    with app.ctx.sessions.begin() as session:
        return broadcasts.plan_posts(app.ctx, session, now)


def planned(app) -> dict[str, tuple[datetime, str | None]]:
    with app.ctx.sessions() as session:
        return {p.key: (p.due_at.astimezone(TZ), p.outcome) for p in scheduled_posts(session)}


def tick(app, clock, now: datetime) -> dict[str, PostOutcome]:
    clock.set(now)
    return dict(scheduler.tick(app.ctx, app.outbox, now).done)


def outbox_keys(app) -> list[str]:
    with app.ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.dedupe_key.like("post:%"))
                                    .order_by(OutboxRow.id)))


def reload(app, text: str) -> None:
    with app.ctx.sessions.begin() as session:
        apply_setup(session, load_setup_text(text))


def group_ids(app) -> tuple[int, int]:
    with app.ctx.sessions() as session:
        return group_for_chat(session, GROUP).id, group_for_chat(session, OTHER).id


def test_the_plan_holds_every_post_of_every_group_and_the_days_summary(app) -> None:
    assert plan(app, at(25, 8))
    mine, other = group_ids(app)
    rows = planned(app)
    assert set(rows) == {f"post:fruit-1125:{g}:{k}" for g in (mine, other) for k in POSTS} | {"summary:2026-11-25"}
    assert rows[f"post:fruit-1125:{mine}:open"] == (at(25, 9), None)
    assert rows[f"post:fruit-1125:{mine}:reminder"] == (at(25, 21), None)
    assert rows[f"post:fruit-1125:{other}:pickup"] == (at(26, 16), None)
    assert rows["summary:2026-11-25"] == (at(25, 21, 30), None)


def test_it_plans_again_only_when_the_setup_or_the_day_changed(app) -> None:
    assert plan(app, at(25, 8)) and not plan(app, at(25, 20))
    reload(app, demo_setup_text().replace("deadline = 2026-11-25T22:00", "deadline = 2026-11-25T23:00"))
    assert plan(app, at(25, 20))
    mine, _ = group_ids(app)
    assert planned(app)[f"post:fruit-1125:{mine}:close"][0] == at(25, 23)  # moved with the deadline
    assert plan(app, at(26, 8)) and "summary:2026-11-26" in planned(app)


def test_a_group_taken_out_of_a_campaign_loses_its_posts_not_its_history(app, clock) -> None:
    tick(app, clock, at(25, 9))  # the open posts went out
    only_mine = demo_setup_text().replace('link = "https://example.com/c/fruit-1125"',
                                          f'link = "https://example.com/c/fruit-1125"\ngroups = ["{GROUP}"]')
    reload(app, only_mine)
    plan(app, at(25, 10))
    _, other = group_ids(app)
    rows = planned(app)
    assert rows[f"post:fruit-1125:{other}:open"][1] == PostOutcome.QUEUED  # done: history stays
    assert f"post:fruit-1125:{other}:reminder" not in rows


def test_each_post_is_queued_once_when_due(app, chat, clock) -> None:
    mine, other = group_ids(app)
    assert tick(app, clock, at(25, 8, 59)) == {}
    assert tick(app, clock, at(25, 9)) == {f"post:fruit-1125:{g}:open": PostOutcome.QUEUED for g in (mine, other)}
    assert tick(app, clock, at(25, 9, 0, 10)) == {}
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    assert tick(app, clock, at(25, 21)) == {f"post:fruit-1125:{g}:reminder": PostOutcome.QUEUED for g in (mine, other)}
    assert tick(app, clock, at(25, 21, 30)) == {"summary:2026-11-25": PostOutcome.QUEUED}
    assert tick(app, clock, at(25, 22)) == {f"post:fruit-1125:{g}:close": PostOutcome.QUEUED for g in (mine, other)}
    assert tick(app, clock, at(26, 16)) == {f"post:fruit-1125:{mine}:pickup": PostOutcome.QUEUED,
                                            f"post:fruit-1125:{other}:pickup": PostOutcome.SKIPPED}  # no orders there
    assert len(outbox_keys(app)) == len(set(outbox_keys(app))) == 7


def test_posts_missed_while_down_are_caught_up_late_or_skipped(app, clock) -> None:
    mine, _ = group_ids(app)
    done = tick(app, clock, at(25, 22, 30))  # down all day: the first tick after a restart
    assert done[f"post:fruit-1125:{mine}:open"] is PostOutcome.SKIPPED  # after the deadline: no use
    assert done[f"post:fruit-1125:{mine}:reminder"] is PostOutcome.SKIPPED
    assert done[f"post:fruit-1125:{mine}:close"] is PostOutcome.QUEUED
    assert done["summary:2026-11-25"] is PostOutcome.QUEUED  # the same evening: still useful
    with app.ctx.sessions() as session:
        close = session.scalar(select(OutboxRow.text).where(OutboxRow.dedupe_key == f"post:fruit-1125:{mine}:close"))
    assert close.startswith(texts.LATE_NOTE)
    assert tick(app, clock, at(28, 9))[f"post:fruit-1125:{mine}:pickup"] is PostOutcome.SKIPPED  # days late


def test_a_summary_a_day_late_is_skipped(app, clock) -> None:
    plan(app, at(25, 8))
    done = tick(app, clock, at(26, 8))
    assert done["summary:2026-11-25"] is PostOutcome.SKIPPED and "summary:2026-11-26" not in done


def test_a_leaders_own_post_is_not_posted_again(app, chat, clock) -> None:
    chat.private("wxid_lijie", "李姐", "开团", at=at(25, 9))
    mine, other = group_ids(app)
    done = tick(app, clock, at(25, 9, 1))
    assert done == {f"post:fruit-1125:{mine}:open": PostOutcome.SKIPPED,
                    f"post:fruit-1125:{other}:open": PostOutcome.QUEUED}


def test_a_post_that_raises_is_tried_again_then_given_up_the_others_go_out(app, clock, monkeypatch, caplog) -> None:
    mine, other = group_ids(app)
    build = broadcasts.build_post

    def broken_for_mine(ctx, session, campaign, group, kind):
        if group.id == mine:
            raise RuntimeError("template broken")
        return build(ctx, session, campaign, group, kind)

    monkeypatch.setattr(broadcasts, "build_post", broken_for_mine)
    first = tick(app, clock, at(25, 9))
    assert first == {f"post:fruit-1125:{mine}:open": PostOutcome.RETRY, f"post:fruit-1125:{other}:open": PostOutcome.QUEUED}
    assert tick(app, clock, at(25, 9, 0, 10)) == {f"post:fruit-1125:{mine}:open": PostOutcome.RETRY}
    assert tick(app, clock, at(25, 9, 0, 20)) == {f"post:fruit-1125:{mine}:open": PostOutcome.FAILED}
    assert tick(app, clock, at(25, 9, 0, 30)) == {}
    assert "template broken" in caplog.text


def test_a_large_fan_out_is_queued_in_batches(app, clock) -> None:
    with app.ctx.sessions.begin() as session:
        for n in range(scheduler.BATCH + 7):
            bound_group(session, f"room{n}@chatroom", f"楼{n}群", "wxid_lijie", at(25, 8))
    done = tick(app, clock, at(25, 9))
    assert len(done) == scheduler.BATCH + 9 and set(done.values()) == {PostOutcome.QUEUED}


def test_each_process_runs_one_timer_in_memory_and_shares_no_job_store(sessions, db_url) -> None:
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text().replace("2026-11-2", "2099-11-2")))
    timer = scheduler.start(db_url, Settings(), datetime.now(TZ))  # the first tick at once: it plans
    try:
        [job] = timer.get_jobs()
        assert job.id == scheduler.JOB_ID and job.trigger.interval == timedelta(seconds=scheduler.TICK_SECONDS)
        assert type(timer._jobstores["default"]).__name__ == "MemoryJobStore"
        deadline = time.monotonic() + 10
        while not _planned_kinds(sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop(timer)
    assert _planned_kinds(sessions) == set(POSTS)
    assert "scheduled_jobs" not in inspect(sessions.kw["bind"]).get_table_names()


def _planned_kinds(sessions) -> set[str]:
    with sessions() as session:
        return {p.key.split(":")[-1] for p in scheduled_posts(session) if p.key.startswith("post:")}

