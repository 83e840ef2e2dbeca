"""The outbox's exactly-once keys: a key queues one message, also when two writers queue it
at the same moment."""

from __future__ import annotations

import threading

from sqlalchemy import select

from bot.context import AppContext
from bot.events import OutgoingText
from bot.outbox import Outbox
from storage.db import open_db
from storage.models import Outbox as OutboxRow
from tests.conftest import GROUP, wait_for_a_lock_wait

REMINDER = OutgoingText(GROUP, "还有1小时截单，要的抓紧接龙哦", is_group=True)


def _queued(sessions) -> list[tuple[str | None, str]]:
    with sessions() as session:
        rows = session.execute(select(OutboxRow.dedupe_key, OutboxRow.text).order_by(OutboxRow.id))
        return [tuple(row) for row in rows]


def test_a_key_queues_one_message_and_unkeyed_messages_all_queue(app) -> None:
    with app.ctx.sessions.begin() as session:
        assert app.outbox.enqueue(session, REMINDER, kind="post-reminder", dedupe_key="reminder:1")
        assert not app.outbox.enqueue(session, REMINDER, kind="post-reminder", dedupe_key="reminder:1")
        assert app.outbox.enqueue(session, OutgoingText("wxid_li", "好的"))
        assert app.outbox.enqueue(session, OutgoingText("wxid_li", "好的"))
    with app.ctx.sessions.begin() as session:
        assert not app.outbox.enqueue(session, REMINDER, kind="post-reminder", dedupe_key="reminder:1")
    assert _queued(app.ctx.sessions) == [("reminder:1", REMINDER.text), (None, "好的"), (None, "好的")]


def test_two_writers_queueing_the_same_key_at_once_queue_it_once(pg_url, clock, settings) -> None:
    """A scheduled reminder and a second bot process (or a retried job) at the same moment on
    PostgreSQL: the second waits for the first, queues nothing and its transaction goes on."""
    sessions = open_db(pg_url)
    outbox = Outbox(AppContext(sessions, clock, settings))
    answers: list[bool] = []
    failures: list[BaseException] = []

    def queue_it_again() -> None:
        try:
            with sessions.begin() as session:
                answers.append(outbox.enqueue(session, REMINDER, dedupe_key="reminder:race"))
                outbox.enqueue(session, OutgoingText("wxid_li", "收到"))  # the rest of its work
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            failures.append(exc)

    with sessions.begin() as session:
        assert outbox.enqueue(session, REMINDER, dedupe_key="reminder:race")  # not committed yet
        second = threading.Thread(target=queue_it_again)
        second.start()
        wait_for_a_lock_wait(sessions)
    second.join(30)
    assert (failures, answers) == ([], [False])
    assert _queued(sessions) == [("reminder:race", REMINDER.text), (None, "收到")]
    sessions.kw["bind"].dispose()
