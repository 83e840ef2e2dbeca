"""The set-up's [settings] reach every part that uses them: the outbox's pacing, the digest,
the reminder's lead and text, the evening summary's time, the time zone."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from bot import broadcasts, texts
from bot.app import App
from bot.context import AppContext, Settings, load_settings
from bot.events import OutgoingText
from bot.transports.fake import FakeTransport
from storage.lookup import group_for_chat
from storage.models import Campaign
from storage.schedule import scheduled_posts
from storage.settings import SETTINGS, defaults
from storage.setup import apply_setup, load_setup_text
from tests.bot.test_group_flow import L1, L2_ZHANG, chain
from tests.conftest import GROUP, at, demo_setup_text

TUNED = demo_setup_text() + """
[settings]
group_min_interval = "2m"
group_max_per_hour = 3
digest_interval = "0"
evening_summary_at = "20:45"
reminder_before_deadline = "1h30m"
send_give_up_after = "20m"
"""


# Not for the set-up file: the bot's own id (a command-line option) and two fine-grained knobs
# of the code (how much pacing is spread at random, the pauses between database retries).
NOT_IN_THE_SET_UP = {"bot_id", "send_jitter", "retry_delays"}


def test_the_bot_defaults_are_the_documented_defaults() -> None:
    settings = Settings()
    assert {f.name: getattr(settings, f.name) for f in fields(Settings) if f.name not in NOT_IN_THE_SET_UP} == defaults()
    assert {spec.key for spec in SETTINGS} == {f.name for f in fields(Settings)} - NOT_IN_THE_SET_UP


@pytest.fixture
def tuned(sessions, clock):
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(TUNED))
    with sessions() as session:
        settings = load_settings(session, bot_id="wxid_bot")
    return App(AppContext(sessions, clock, settings))


def test_load_settings_reads_the_set_up(tuned) -> None:
    s = tuned.ctx.settings
    assert (s.group_min_interval, s.group_max_per_hour, s.digest_interval, s.evening_summary_at,
            s.reminder_before_deadline, s.send_give_up_after, s.bot_id) == (
        timedelta(minutes=2), 3, timedelta(0), "20:45", timedelta(hours=1, minutes=30), timedelta(minutes=20),
        "wxid_bot")


def test_pacing_follows_the_settings(tuned, clock) -> None:
    chat = FakeTransport(tuned, clock)
    first = chat.group(GROUP, "wxid_wang", "王姐", chain(L1, "2. 小李 鸭蛋1盒"), at=at(25, 9, 5))
    assert [m.to for m in first] == [GROUP]  # the problem reply; no digest (digest_interval = 0)
    assert not chat.group(GROUP, "wxid_x", "小徐", chain(L1, "2. 小李 鸭蛋1盒", "3. 小徐 鹅蛋1个"), at=at(25, 9, 6))
    assert not chat.wait(timedelta(seconds=50))  # 1 min 50 s after the first: still held (2 min)
    assert [m.to for m in chat.wait(timedelta(seconds=15))] == [GROUP]
    assert not any(m.text.startswith("接龙已有") for m in chat.sent)


def test_reminder_goes_out_at_the_tuned_lead_and_says_it(tuned, clock) -> None:
    with tuned.ctx.sessions() as session:
        campaign = session.get(Campaign, "fruit-1125")
        due = {d.kind: d.at for d in broadcasts.schedule_of(campaign, tuned.ctx.settings)}
    assert due["reminder"] == at(25, 20, 30)
    chat = FakeTransport(tuned, clock)
    chat.group(GROUP, "wxid_zhang", "张叔", chain(L1, L2_ZHANG), at=at(25, 9, 12))
    clock.set(at(25, 20, 30))
    with tuned.ctx.sessions.begin() as session:
        assert broadcasts.run_due_posts(tuned.ctx, session, tuned.outbox, clock()) >= 1
    # the late opening post goes out alone first (members copy it), the reminder after it
    posted = [m.text for _ in range(3) for m in chat.wait(timedelta(minutes=1)) if m.to == GROUP]
    assert texts.REMINDER.format(lead="1小时30分钟", deadline="22:00", orders=1) in "\n\n".join(posted)


def test_the_evening_summary_runs_at_the_tuned_time(tuned) -> None:
    with tuned.ctx.sessions.begin() as session:
        assert broadcasts.plan_posts(tuned.ctx, session, at(25, 8))
    with tuned.ctx.sessions() as session:
        due = {post.kind: post.due_at for post in scheduled_posts(session)}
    assert due["summary"] == at(25, 20, 45)
    assert due["reminder"] == at(25, 20, 30)


def test_a_group_post_is_held_by_the_tuned_hourly_cap(tuned, clock) -> None:
    chat = FakeTransport(tuned, clock)
    sent = 0
    for minute in range(0, 50, 3):
        clock.set(at(25, 10, minute))
        with tuned.ctx.sessions.begin() as session:
            group = group_for_chat(session, GROUP)
            tuned.outbox.enqueue(session, OutgoingText(group.chat_id, f"第{minute}分钟"), kind="test")
        sent += len(chat.wait(timedelta(0)))
    assert sent == 3  # group_max_per_hour = 3
