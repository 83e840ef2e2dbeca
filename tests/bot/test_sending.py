"""Sends that are never lost: the transport reports each send and the outbox acts on it —
retries with backoff, gives up after the limit and tells the admins once, tries again a send
that was never reported. Merging, images, capabilities, pacing per group and per account, and
which bot account sends what. Through App.feed/flush with a transport that fails on purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from sqlalchemy import select

from bot import broadcasts, summaries, texts
from bot import outbox as outbox_module
from bot.app import App
from bot.context import AppContext
from bot.events import Capabilities, OutgoingText, SendResult
from bot.outbox import Pace
from bot.transports.fake import FakeTransport
from storage import outbox as store
from storage.lookup import group_for_chat
from storage.models import Campaign, Group
from storage.models import Outbox as OutboxRow
from tests.bot.test_group_flow import L1, chain
from tests.conftest import GROUP, at
from tests.storage.helpers import bound_group

ADMIN, LEADER = "wxid_admin", "wxid_lijie"
OTHER_GROUP = "翠苑二区邻里群"


def rows(app) -> list[OutboxRow]:
    with app.ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def queue(app, message: OutgoingText, kind: str = "reply", key: str | None = None) -> None:
    with app.ctx.sessions.begin() as session:
        assert app.outbox.enqueue(session, message, kind=kind, dedupe_key=key)


def post(app, kind: str, chat: str = GROUP) -> bool:
    with app.ctx.sessions.begin() as session:
        campaign = session.get(Campaign, "fruit-1125")
        return broadcasts.run_post(app.ctx, session, app.outbox, campaign, group_for_chat(session, chat), kind)


@pytest.fixture
def morning(clock):
    clock.set(at(25, 10))
    return clock


# --- reports -------------------------------------------------------------------------------------

def test_nothing_counts_as_sent_until_the_transport_says_so(app, morning) -> None:
    queue(app, OutgoingText(LEADER, "好的", is_group=False))
    [taken] = app.flush()
    [row] = rows(app)
    assert row.sent_at is None and row.claimed_by is not None  # claimed, not sent
    assert app.flush() == []  # nor handed out twice
    app.report(taken, SendResult.sent())
    [row] = rows(app)
    assert row.sent_at == morning() and row.claimed_by is None


def test_a_failing_send_is_retried_with_backoff_and_delivered_once(chat, morning) -> None:
    chat.fail_next(2)
    assert chat.private(LEADER, "李姐", "汇总") == []  # tried: the gateway answered 502
    assert chat.wait(timedelta(seconds=4)) == []  # backing off (5 s)
    assert chat.wait(timedelta(seconds=1)) == []  # tried again: 502 again
    assert chat.wait(timedelta(seconds=9)) == []  # backing off (10 s)
    [summary] = chat.wait(timedelta(seconds=1))
    assert summary.to == LEADER and "汇总" in summary.text
    assert [m.text for m in chat.tried] == [summary.text] * 3
    assert chat.wait(timedelta(minutes=30)) == []  # once
    [row] = rows(chat.app)
    assert (row.attempts, row.last_error, row.failed_at) == (2, "gateway answered 502", None)


def test_a_send_never_reported_is_sent_again_when_its_claim_expires(chat, morning) -> None:
    """The process died between taking a message and reporting it: at-least-once."""
    chat.time_out_next()
    chat.private(LEADER, "李姐", "汇总")
    assert len(chat.tried) == 1 and chat.sent == []
    assert chat.wait(timedelta(minutes=1)) == []  # still claimed by the silent send
    [again] = chat.wait(timedelta(minutes=1, seconds=1))
    assert again.text == chat.tried[0].text
    [row] = rows(chat.app)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == store.UNREPORTED


def test_a_send_failing_past_the_limit_is_given_up_and_the_admins_told_once(chat, app, morning) -> None:
    chat.break_down(SendResult.retry("gateway timed out"), to=GROUP)
    post(app, "reminder")
    for _ in range(12):  # ten minutes of retries, with backoff
        chat.wait(timedelta(minutes=1))
    group_rows = [r for r in rows(app) if r.to == GROUP]
    assert [r.failed_at is not None for r in group_rows] == [True]
    assert group_rows[0].sent_at is None and group_rows[0].attempts >= 6
    [alert] = [m for m in chat.sent if m.to == ADMIN]
    assert alert.text == texts.SEND_FAILED_ALERT.format(
        where=texts.SEND_FAILED_GROUP.format(name=GROUP), what="截单提醒", reason="gateway timed out")
    assert chat.wait(timedelta(minutes=5)) == []  # given up: never tried again
    queue(app, OutgoingText(GROUP, "另一条"))  # a second failure the same day, same group: no second alert
    for _ in range(12):
        chat.wait(timedelta(minutes=1))
    assert len([m for m in chat.sent if m.to == ADMIN]) == 1
    assert len([r for r in rows(app) if r.failed_at is not None]) == 2


def test_a_refused_send_is_given_up_at_once(chat, app, morning) -> None:
    chat.refuse_next("no room 阳光小区3期团购群")
    post(app, "reminder")
    assert chat.wait(timedelta(seconds=1)) == []
    [failed] = [r for r in rows(app) if r.to == GROUP]
    assert failed.failed_at is not None and failed.attempts == 1
    [alert] = chat.wait(timedelta(seconds=1))
    assert alert.to == ADMIN and "no room" in alert.text


def test_an_account_failing_in_many_groups_is_one_alert_and_all_are_counted(app, clock, morning) -> None:
    with app.ctx.sessions.begin() as session:
        for n in range(4):
            bound_group(session, f"room{n}@chatroom", f"楼{n}群", LEADER, clock()).account = "bot-banned"
    transport = FakeTransport(app, clock)
    for n in range(4):
        transport.break_down(SendResult.failed("account blocked"), to=f"room{n}@chatroom")
        post(app, "reminder", f"room{n}@chatroom")
    for _ in range(10):
        transport.wait(timedelta(seconds=31))
    [alert] = [m for m in transport.sent if m.to == ADMIN]
    assert "楼0群" in alert.text
    with app.ctx.sessions() as session:
        failed = store.failed_sends(session, *summaries.day_bounds(app.ctx, clock()))
        summary = summaries.admin_summary(session, *summaries.day_bounds(app.ctx, clock()))
    assert [(f.account, f.kind) for f in failed] == [("bot-banned", "post-reminder")] * 4
    assert texts.SUMMARY_ADMIN_SEND_FAILED.format(count=4, where="楼0群、楼1群、楼2群…") in summary


def test_an_alert_that_cannot_be_sent_is_not_alerted_about(chat, app, morning, caplog) -> None:
    chat.break_down(SendResult.failed("blocked"))
    post(app, "reminder")
    for _ in range(5):
        chat.wait(timedelta(minutes=1))
    kinds = [(r.kind, r.failed_at is not None) for r in rows(app)]
    assert kinds == [("post-reminder", True), ("alert", True)]
    assert "gave up sending alert" in caplog.text


def test_the_evening_summary_counts_failed_sends(chat, app, morning) -> None:
    chat.refuse_next("no such room")
    post(app, "reminder")
    chat.wait(timedelta(seconds=1))
    with app.ctx.sessions() as session:
        start, end = summaries.day_bounds(app.ctx, app.ctx.now())
        text = summaries.admin_summary(session, start, end)
    assert texts.SUMMARY_ADMIN_SEND_FAILED.format(count=1, where=GROUP) in text


# --- merging, images, capabilities -------------------------------------------------------------------

def test_held_messages_merge_with_each_other_never_into_the_open_template(chat, app, morning) -> None:
    queue(app, OutgoingText(GROUP, "第一条"))
    assert [m.text for m in chat.wait(timedelta(0))] == ["第一条"]
    assert post(app, "open")
    queue(app, OutgoingText(GROUP, "第二条"))
    queue(app, OutgoingText(GROUP, "第三条"))
    assert chat.wait(timedelta(seconds=10)) == []  # the group's 30 s
    [template] = chat.wait(timedelta(seconds=30))
    assert template.text.startswith("#接龙\n周三水果团") and template.text.endswith("1. ")  # alone
    [merged] = chat.wait(timedelta(seconds=30))
    assert merged.text == "第二条\n\n第三条"


def test_the_template_waits_for_older_messages_and_goes_alone(chat, app, morning) -> None:
    chat.wait(timedelta(0))
    queue(app, OutgoingText(GROUP, "早到的一条"))
    queue(app, OutgoingText(GROUP, "早到的两条"))
    post(app, "open")
    queue(app, OutgoingText(GROUP, "晚到的"))
    sent = [m.text for m in (chat.wait(timedelta(0)) + chat.wait(timedelta(seconds=30))
                             + chat.wait(timedelta(seconds=30)))]
    assert sent[0] == "早到的一条\n\n早到的两条"
    assert sent[1].startswith("#接龙") and sent[2] == "晚到的"


def test_an_image_goes_with_its_text_alone(chat, app, morning) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
    queue(app, OutgoingText(GROUP, "今天的销量", image=png), kind="summary")
    queue(app, OutgoingText(GROUP, "另一条"))
    [picture] = chat.wait(timedelta(0))
    assert (picture.text, picture.image) == ("今天的销量", png)
    [other] = chat.wait(timedelta(seconds=30))
    assert (other.text, other.image) == ("另一条", None)


def test_a_transport_without_images_gets_the_text_alone(app, clock, morning) -> None:
    plain = FakeTransport(app, clock, capabilities=Capabilities(images=False))
    queue(app, OutgoingText(ADMIN, "今日小结", is_group=False, image=b"\x89PNG...."), kind="summary")
    [summary] = plain.wait(timedelta(0))
    assert (summary.text, summary.image) == ("今日小结", None)
    [row] = rows(app)
    assert row.sent_at is not None and row.image == b"\x89PNG...."  # kept for a transport that can


def test_a_transport_is_handed_only_what_it_can_deliver(app, clock, morning) -> None:
    private_only = FakeTransport(app, clock, capabilities=Capabilities(group_posts=False, mentions=False))
    queue(app, OutgoingText(GROUP, "@王姐 收到", ("wxid_wang",)))
    queue(app, OutgoingText(LEADER, "好的", is_group=False))
    assert [m.to for m in private_only.wait(timedelta(0))] == [LEADER]
    groups_only = FakeTransport(app, clock, capabilities=Capabilities(private_chat=False, mentions=False))
    [group_message] = groups_only.wait(timedelta(0))
    assert (group_message.to, group_message.mentions) == (GROUP, ())  # the text still names her


# --- pacing -------------------------------------------------------------------------------------------

def test_a_group_gets_at_most_its_hourly_share(chat, app, morning, settings) -> None:
    times = []
    for n in range(settings.group_max_per_hour + 3):
        queue(app, OutgoingText(GROUP, f"第{n}条"))
        for _ in range(2):
            sent = chat.wait(timedelta(seconds=31))
            times += [morning()] * len(sent)
    assert len(times) == settings.group_max_per_hour  # in the first hour (46 × 31 s < 1 h)…
    assert all(b - a >= settings.group_min_interval for a, b in zip(times, times[1:], strict=False))
    chat.wait(timedelta(hours=1))
    assert [m.text for m in chat.sent[-1:]][0].endswith(f"第{settings.group_max_per_hour + 2}条")  # …the rest merged


def test_posts_to_many_groups_of_one_account_are_spread_not_burst(app, clock, morning, settings) -> None:
    with app.ctx.sessions.begin() as session:
        for n in range(12):
            group = bound_group(session, f"room{n}@chatroom", f"楼{n}群", LEADER, clock())
            group.account = "bot-a"
    transport = FakeTransport(app, clock)
    for n in range(12):
        post(app, "open", f"room{n}@chatroom")
    outbox_module._rng.seed(1125)
    times = []
    for _ in range(480):
        times += [clock()] * len(transport.wait(timedelta(seconds=0.25)))
    assert len(times) == 12 and len(set(m.to for m in transport.sent)) == 12
    assert times[:settings.account_burst] == [times[0]] * settings.account_burst  # a few at once
    gaps = [(b - a).total_seconds() for a, b in zip(times[settings.account_burst - 1:],
                                                    times[settings.account_burst:], strict=False)]
    assert min(gaps) >= settings.account_min_interval.total_seconds()  # then one per slot
    assert max(gaps) <= settings.account_min_interval.total_seconds() * (1 + settings.send_jitter) + 0.25
    assert len(set(gaps)) > 1  # jittered: not a machine's metronome
    assert all(m.account == "bot-a" for m in transport.sent)


def test_accounts_are_paced_apart(app, clock, morning) -> None:
    transport = FakeTransport(app, clock)
    for n in range(6):
        queue(app, OutgoingText(f"wxid_a{n}", "好的", is_group=False, account="bot-a"))
        queue(app, OutgoingText(f"wxid_b{n}", "好的", is_group=False, account="bot-b"))
    first = transport.wait(timedelta(0))
    assert sorted(m.account for m in first) == ["bot-a"] * 3 + ["bot-b"] * 3


# --- which account sends -------------------------------------------------------------------------------

def test_replies_go_from_the_account_that_heard_and_posts_from_the_groups(app, clock, morning) -> None:
    transport = FakeTransport(app, clock, account="bot-a")
    [reply] = transport.group(GROUP, "wxid_wang", "王姐", "我的订单")
    assert reply.account == "bot-a"
    with app.ctx.sessions() as session:
        assert session.scalar(select(Group.account).where(Group.chat_id == GROUP)) == "bot-a"
    [answer] = transport.private(LEADER, "李姐", "汇总", account="bot-b", at=at(25, 10, 5))
    assert answer.account == "bot-b"
    post(app, "reminder")
    [reminder] = transport.wait(timedelta(minutes=1))
    assert reminder.to == GROUP and reminder.account == "bot-a"
    queue(app, OutgoingText(LEADER, "今日小结", is_group=False), kind="summary")  # not a reply
    [summary] = transport.wait(timedelta(minutes=1))
    assert summary.account == "bot-b"  # where 李姐 last wrote in private


def test_a_process_sends_only_for_the_accounts_it_serves(loaded, clock, settings, morning) -> None:
    a = FakeTransport(App(AppContext(loaded, clock, settings)), clock, accounts=frozenset({"bot-a"}))
    b = FakeTransport(App(AppContext(loaded, clock, settings)), clock, accounts=frozenset({"bot-b"}))
    a.group(GROUP, "wxid_wang", "王姐", chain(L1), account="bot-a")
    b.group(OTHER_GROUP, "wxid_sun", "孙阿姨", "我的订单", account="bot-b")
    post(a.app, "reminder", GROUP)
    post(b.app, "reminder", OTHER_GROUP)
    assert [m.to for m in b.wait(timedelta(minutes=1))] == [OTHER_GROUP]
    assert [m.to for m in a.wait(timedelta(seconds=1))] == [GROUP]
    queue(a.app, OutgoingText(LEADER, "没有账号的消息", is_group=False))
    assert [m.to for m in b.wait(timedelta(seconds=1))] == [LEADER]  # anyone may send it
    assert [m.to for m in a.app.flush(accounts=["bot-b"])] == []  # nothing left for bot-b


# --- the pace itself ------------------------------------------------------------------------------------

@settings_(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=20), min_size=1, max_size=80),
       st.integers(min_value=1, max_value=5), st.floats(min_value=0, max_value=1))
def test_a_pace_never_lets_more_through_than_its_burst_and_rate(steps, burst, jitter) -> None:
    """Whenever the sender looks (any times at all), what the pace lets through keeps the
    cell rate bound: between any two sends i < j, j − i ≤ burst − 1 + (t_j − t_i) / interval."""
    pace = Pace(timedelta(seconds=3), burst, jitter=jitter)
    budget, now, sent = store.Budget("account:a"), at(25, 10), []
    for step in steps:
        now += timedelta(seconds=step)
        while pace.allows(budget, now):
            pace.spend(budget, now)
            sent.append(now)
    for i, first in enumerate(sent):
        for j in range(i + 1, len(sent)):
            assert j - i <= burst - 1 + (sent[j] - first).total_seconds() / 3 + 1e-9


@settings_(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=400), min_size=1, max_size=120))
def test_a_groups_pace_keeps_its_interval_and_its_hourly_cap(steps) -> None:
    pace = Pace(timedelta(seconds=30), 1, 20)
    budget, now, sent = store.Budget("group:g"), at(25, 10), []
    for step in steps:
        now += timedelta(seconds=step)
        if pace.allows(budget, now):
            pace.spend(budget, now)
            sent.append(now)
    assert all(b - a >= timedelta(seconds=30) for a, b in zip(sent, sent[1:], strict=False))
    assert all(sum(1 for t in sent if first <= t < first + timedelta(hours=1)) <= 20 for first in sent)
