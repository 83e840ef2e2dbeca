"""The outbox's statements on SQLite and PostgreSQL: claims are atomic and conditional, only
the owner of a claim can release it, due rows are filtered by account (the group's learned one
included), budgets shared and skipped while another process spends them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import sessionmaker

from storage import outbox as store
from storage.db import make_engine, open_db, upgrade
from storage.log import record_message
from storage.models import Group
from storage.models import Outbox as OutboxRow
from storage.setup import apply_setup, load_setup_text
from tests.storage.helpers import GROUP, GROUP2, SETUP, TZ

T0 = datetime(2026, 11, 25, 9, tzinfo=TZ)


@pytest.fixture
def db(sessions):
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    return sessions


def queue(db, to: str, text: str = "好的", *, is_group: bool = False, account: str | None = None,
          at: datetime = T0, kind: str = "reply", image: bytes | None = None) -> int:
    with db.begin() as session:
        assert store.enqueue(session, to=to, is_group=is_group, text=text, mentions=(), kind=kind,
                             created_at=at, account=account, image=image)
        return session.scalar(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1))


def due(db, now: datetime = T0, **kw) -> list[store.DueRow]:
    with db.begin() as session:
        return store.due_rows(session, now, **kw)


def claim(db, ids, owner: str = "p1", now: datetime = T0, ttl: timedelta = timedelta(minutes=2)):
    with db.begin() as session:
        return store.claim(session, ids, owner, now, now + ttl)


def row(db, row_id: int) -> OutboxRow:
    with db() as session:
        return session.get(OutboxRow, row_id)


def test_a_claimed_row_is_not_claimed_again_until_its_claim_expires(db) -> None:
    first = queue(db, "wxid_li")
    assert set(claim(db, [first], "p1")) == {first}
    assert claim(db, [first], "p2") == {}  # another process asks for the same row
    assert due(db) == []  # nor is it due
    later = T0 + timedelta(minutes=3)  # p1 died mid-send: its claim expired
    [expired] = due(db, later)
    assert expired.claimed_until is not None and expired.first_failed_at is None
    assert set(claim(db, [first], "p2", later)) == {first}
    taken = row(db, first)
    assert (taken.claimed_by, taken.attempts, taken.last_error) == ("p2", 1, store.UNREPORTED)
    assert taken.first_failed_at == later  # failing from when it was noticed


def test_sent_is_marked_only_by_a_report_and_stays(db) -> None:
    first = queue(db, "wxid_li")
    claim(db, [first])
    assert row(db, first).sent_at is None
    with db.begin() as session:
        assert store.mark_sent(session, [first], T0) == 1
        assert store.mark_sent(session, [first], T0 + timedelta(seconds=1)) == 0  # a second report
    assert row(db, first).sent_at == T0 and row(db, first).claimed_by is None
    assert due(db, T0 + timedelta(hours=1)) == []


def test_only_the_claims_owner_releases_it_and_a_backoff_holds_it(db) -> None:
    first = queue(db, "wxid_li")
    claim(db, [first], "p1")
    with db.begin() as session:
        assert store.record_failure(session, [first], "p2", T0, "not mine") == []
        [failure] = store.record_failure(session, [first], "p1", T0, "gateway answered 502")
        store.defer(session, {first: T0 + timedelta(seconds=5)})
    assert (failure.attempts, failure.failing_since) == (1, T0)
    assert due(db, T0 + timedelta(seconds=4)) == []
    assert [r.id for r in due(db, T0 + timedelta(seconds=5))] == [first]
    claim(db, [first], "p1", T0 + timedelta(seconds=5))
    with db.begin() as session:
        [again] = store.record_failure(session, [first], "p1", T0 + timedelta(seconds=6), "502 again")
    assert (again.attempts, again.failing_since) == (2, T0)  # failing since the first failure


def test_failed_rows_are_never_due_and_are_listed_for_their_day(db) -> None:
    first, second = queue(db, GROUP, is_group=True, kind="post-close"), queue(db, "wxid_li")
    with db.begin() as session:
        [failed] = store.mark_failed(session, [first], T0, "no such room")
        assert store.mark_failed(session, [first], T0) == []  # already given up
    assert (failed.to, failed.kind, failed.last_error) == (GROUP, "post-close", "no such room")
    assert [r.id for r in due(db)] == [second]
    with db() as session:
        assert [f.id for f in store.failed_sends(session, T0, T0 + timedelta(days=1))] == [first]
        assert store.failed_sends(session, T0 + timedelta(seconds=1), T0 + timedelta(days=1)) == []
        assert store.pending_count(session) == 1
        assert store.recipient_name(session, GROUP, True) == GROUP
        assert store.recipient_name(session, "wxid_li", False) == "李姐"
        assert store.recipient_name(session, "wxid_nobody", False) == "wxid_nobody"
    with db.begin() as session:  # it went out after all (a late report): sent, no longer failed
        store.mark_sent(session, [first], T0 + timedelta(minutes=1))
    assert row(db, first).failed_at is None


def test_due_rows_for_an_account_include_the_groups_learned_account_and_unrouted_rows(db) -> None:
    with db.begin() as session:
        group = session.scalar(select(Group).where(Group.chat_id == GROUP))
        store.note_group_account(session, group.id, "bot-a")
    post_a = queue(db, GROUP, is_group=True)  # no account of its own: the group's
    post_b = queue(db, GROUP2, is_group=True, account="bot-b")
    unrouted = queue(db, "wxid_li")
    reply_b = queue(db, "wxid_zhou", account="bot-b")
    assert {r.id: r.account for r in due(db)} == {post_a: "bot-a", post_b: "bot-b", unrouted: None, reply_b: "bot-b"}
    assert [r.id for r in due(db, accounts=["bot-a"])] == [post_a, unrouted]
    assert [r.id for r in due(db, accounts=["bot-b"])] == [post_b, unrouted, reply_b]
    assert [r.id for r in due(db, groups=False)] == [unrouted, reply_b]
    assert [r.id for r in due(db, private=False)] == [post_a, post_b]
    assert [r.id for r in due(db, limit=1)] == [post_a]


def test_learning_a_groups_account_keeps_the_setup_revision(db) -> None:
    from storage.revision import setup_revision

    with db() as session:
        before = setup_revision(session)
    with db.begin() as session:
        group = session.scalar(select(Group).where(Group.chat_id == GROUP))
        store.note_group_account(session, group.id, "bot-a")
        store.note_group_account(session, group.id, "bot-a")
    with db() as session:
        assert setup_revision(session) == before
        assert session.scalar(select(Group.account).where(Group.chat_id == GROUP)) == "bot-a"


def test_a_private_message_goes_from_the_account_the_person_last_wrote_to(db) -> None:
    def heard(n: int, account: str | None, chat: str | None = None) -> None:
        with db.begin() as session:
            record_message(session, platform="t", message_id=f"m{n}", chat_id=chat, chat_name=chat,
                           sender_id="wxid_li", sender_name="李姐", text="汇总", sent_at=T0, received_at=T0,
                           account=account)

    with db() as session:
        assert store.private_account(session, "wxid_li") is None
    heard(1, "bot-a")
    heard(2, "bot-c", chat=GROUP)  # a group message says nothing about private chats
    heard(3, None)
    with db() as session:
        assert store.private_account(session, "wxid_li") == "bot-a"
    heard(4, "bot-b")
    with db() as session:
        assert store.private_account(session, "wxid_li") == "bot-b"


def test_images_come_back_with_the_claim_only(db) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    first = queue(db, "wxid_admin", "今日小结", image=png, kind="summary")
    [pending] = due(db)
    assert pending.has_image
    assert claim(db, [first]) == {first: png}


def test_budgets_are_created_once_and_saved(db) -> None:
    with db.begin() as session:
        budgets = store.budgets(session, ["group:g1", "account:a"])
        assert set(budgets) == {"group:g1", "account:a"} and budgets["account:a"].tat is None
        budgets["account:a"].tat, budgets["account:a"].recent = T0, [T0.timestamp()]
        store.save_budgets(session, [budgets["account:a"]])
    with db.begin() as session:
        again = store.budgets(session, ["account:a"])
    assert (again["account:a"].tat, again["account:a"].recent) == (T0, [T0.timestamp()])


def test_a_budget_another_process_is_spending_is_skipped(pg_url) -> None:
    """PostgreSQL: while one process decides about a scope's budget, another does not wait
    for it and does not spend it: the scope is busy for this round."""
    first, second = open_db(pg_url), open_db(pg_url)
    with first.begin() as session:
        store.budgets(session, ["account:a"])  # exists
    with first.begin() as holder:
        assert set(store.budgets(holder, ["account:a", "group:g"])) == {"account:a", "group:g"}
        done = threading.Event()
        seen: list[set[str]] = []

        def other() -> None:
            with second.begin() as session:
                seen.append(set(store.budgets(session, ["account:a", "group:h"])))
            done.set()

        threading.Thread(target=other).start()
        assert done.wait(10)  # it did not wait for the holder
    assert seen == [{"group:h"}]
    for maker in (first, second):
        maker.kw["bind"].dispose()


def test_the_migration_keeps_what_was_queued_and_drops_the_shared_job_table(db_url) -> None:
    """A database of the previous schema: its unsent messages stay due, its sent ones sent,
    and APScheduler's shared job table goes (its jobs are planned again as rows)."""
    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        insert = text('INSERT INTO outbox (dedupe_key, "to", is_group, text, mentions, kind, created_at, sent_at) '
                      "VALUES (:key, 'wxid_li', :group, '好的', '[]', 'reply', :at, :sent)")
        connection.execute(insert, {"key": "old:sent", "group": False, "at": T0, "sent": T0})
        connection.execute(insert, {"key": "old:due", "group": False, "at": T0, "sent": None})
        connection.execute(text("CREATE TABLE scheduled_jobs (id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT, "
                                "job_state BYTEA)" if engine.dialect.name == "postgresql" else
                                "CREATE TABLE scheduled_jobs (id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT, "
                                "job_state BLOB)"))
    upgrade(engine)
    assert "scheduled_jobs" not in inspect(engine).get_table_names()
    sessions = sessionmaker(engine)
    with sessions() as session:
        assert [r.id for r in store.due_rows(session, T0)] == [
            session.scalar(select(OutboxRow.id).where(OutboxRow.dedupe_key == "old:due"))]
        assert store.dedupe_key_used(session, "old:sent")
    engine.dispose()


def test_bookkeeping_commits_without_waiting_for_the_disk_only_where_asked(pg_url) -> None:
    from storage.db import commit_without_waiting

    sessions = open_db(pg_url)
    with sessions.begin() as session:
        commit_without_waiting(session)
        assert session.scalar(text("SHOW synchronous_commit")) == "off"
    with sessions.begin() as session:  # the next transaction is durable again
        assert session.scalar(text("SHOW synchronous_commit")) == "on"
    sessions.kw["bind"].dispose()
