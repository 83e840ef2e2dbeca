"""Scheduled posts and evening summaries: texts, exactly-once, and the missed-post policy.
Job bodies are called directly with a fixed clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import broadcasts, summaries, texts
from storage.lookup import group_for_chat
from storage.models import Campaign
from tests.bot.test_group_flow import L1, L2_ZHANG, chain
from tests.conftest import GROUP, at


def post(app, kind: str, due=None) -> bool:
    with app.ctx.sessions.begin() as session:
        campaign = session.get(Campaign, "fruit-1125")
        group = group_for_chat(session, GROUP)
        return broadcasts.run_post(app.ctx, session, app.outbox, campaign, group, kind, due)


@pytest.fixture
def ordered(chat):
    chat.group(GROUP, "wxid_wang", "王姐", chain(L1), at=at(25, 9, 5))
    chat.group(GROUP, "wxid_zhang", "张叔", chain(L1, L2_ZHANG), at=at(25, 9, 12))
    chat.wait(timedelta(minutes=5))
    return chat


def group_posts(chat) -> list[str]:
    return [m.text for m in chat.wait(timedelta(minutes=1)) if m.to == GROUP]


def test_campaign_post(app, chat, clock) -> None:
    clock.set(at(25, 9))
    assert post(app, "open", at(25, 9))
    [text] = group_posts(chat)
    assert text.startswith("#接龙\n周三水果团\n麒麟西瓜 15元/个\n阳光玫瑰 25元/串")
    assert "11月25日22:00截单，11月26日16:00在3栋门口自提" in text
    assert "https://example.com/c/fruit-1125" in text and text.endswith("1. ")


def test_each_post_goes_out_once(app, chat, clock) -> None:
    clock.set(at(25, 9))
    assert post(app, "open", at(25, 9))
    assert not post(app, "open", at(25, 9))  # a retried job, a restart, the leader's 开团
    assert len(group_posts(chat)) == 1


def test_reminder_and_close(app, ordered, clock) -> None:
    clock.set(at(25, 21))
    assert post(app, "reminder", at(25, 21))
    assert group_posts(ordered) == [texts.REMINDER.format(lead="1小时", deadline="22:00", orders=2)]
    clock.set(at(25, 22))
    assert post(app, "close", at(25, 22))
    [final] = group_posts(ordered)
    assert final.splitlines()[:3] == [texts.CLOSE_HEADER.format(title="周三水果团"), "1. 王姐：麒麟西瓜×2、阳光玫瑰×1串",
                                      "2. 张叔：砂糖橘×1箱"]


def test_pickup_notice_mentions_everyone_not_yet_picked_up(app, ordered, clock) -> None:
    clock.set(at(26, 16))
    assert post(app, "pickup", at(26, 16))
    [notice] = ordered.wait(timedelta(minutes=1))
    assert notice.text.splitlines() == [texts.PICKUP_HEADER.format(title="周三水果团", place="3栋门口"),
                                        "1. @王姐 麒麟西瓜×2、阳光玫瑰×1串", "2. @张叔 砂糖橘×1箱"]
    assert set(notice.mentions) == {"wxid_wang", "wxid_zhang"}


def test_missed_posts(app, ordered, clock) -> None:
    clock.set(at(25, 22, 30))  # the bot was down at 21:00 and 22:00
    assert not post(app, "reminder", at(25, 21))  # a reminder after the deadline helps nobody
    assert post(app, "close", at(25, 22))
    [late_close] = group_posts(ordered)
    assert late_close.startswith(texts.LATE_NOTE)
    clock.set(at(28, 9))
    assert not post(app, "pickup", at(26, 16))  # days late: skipped


def test_catch_up_queues_what_is_due(app, ordered, clock) -> None:
    clock.set(at(25, 21, 5))
    with app.ctx.sessions.begin() as session:
        queued = broadcasts.run_due_posts(app.ctx, session, app.outbox, clock())
    assert queued == 4  # open (late) and reminder, in both bound groups (the campaign runs everywhere)

def test_evening_summaries(app, ordered, clock) -> None:
    clock.set(at(25, 21, 30))
    with app.ctx.sessions.begin() as session:
        sent = summaries.run_evening_summaries(app.ctx, session, app.outbox)
    assert sent == 2  # 李姐 and the admin; 老周 had no orders: nothing to say
    out = ordered.wait(timedelta(minutes=1))
    leader = next(m.text for m in out if m.to == "wxid_lijie")
    assert leader == "今日小结（11月25日）\n【周三水果团】2单，85元，佣金约10.2元"  # said once, not twice
    admin = next(m.text for m in out if m.to == "wxid_admin")
    assert "今日2单，销售额85元，1个群下了单" in admin and "1. 阳光小区3期团购群（李姐）2单，85元" in admin
    with app.ctx.sessions.begin() as session:
        assert summaries.run_evening_summaries(app.ctx, session, app.outbox) == 0  # once a day
