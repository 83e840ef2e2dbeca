"""Who is who (storage.people) and opening a database that must hold a set-up
(storage.db.open_existing), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from storage.db import DatabaseNotReady, display_url, open_db, open_existing, sqlite_file
from storage.log import message_count, record_message
from storage.models import Admin
from storage.people import group_members, known_names, leaders_and_admins, name_of
from tests.storage.helpers import GROUP, GROUP2, Feed, at, line, load


def test_names_from_the_set_up_and_the_chains(sessions):
    load(sessions)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    with sessions.begin() as session:
        session.merge(Admin(user_id="wxid_admin", name="平台小王"))
    with sessions() as session:
        names = known_names(session)
        assert names["wxid_li"] == "李姐" and names["wxid_admin"] == "平台小王" and names[GROUP] == GROUP
        assert name_of(session, "wxid_zhou") == "老周"
        assert name_of(session, "wxid_wang") == "王姐"  # from the line they wrote
        assert name_of(session, "wxid_nobody") is None


def test_who_is_in_a_group(sessions):
    load(sessions)
    feed = Feed(sessions)
    feed.chain("wxid_wang", [line(1, "王姐", ("XG01", 1))], at(10))
    feed.chain("wxid_zhang", [line(1, "王姐", ("XG01", 1)), line(2, "张叔", ("JZ01", 1))], at(11))
    Feed(sessions, GROUP2, prefix="g2-").chain("wxid_qian", [line(1, "钱姨", ("XG01", 4))], at(11))
    with sessions.begin() as session:
        record_message(session, platform="t", message_id="chat-1", chat_id=GROUP, chat_name=GROUP,
                       sender_id="wxid_chat", sender_name="闲聊", text="西瓜甜吗", sent_at=at(12), received_at=at(12))
    with sessions() as session:
        people = leaders_and_admins(session)
        assert [(p.user_id, p.role, p.groups) for p in people] == [
            ("wxid_li", "leader", (GROUP,)), ("wxid_zhou", "leader", (GROUP2,)), ("wxid_admin", "admin", ())]
        members = group_members(session, GROUP)
        assert [m.user_id for m in members][:3] == ["wxid_chat", "wxid_zhang", "wxid_wang"]
        assert "wxid_qian" not in {m.user_id for m in members}
        assert [m.user_id for m in group_members(session, GROUP2)] == ["wxid_qian"]
        assert group_members(session, "没有这个群") == []


def test_open_existing_refuses_what_has_no_set_up(db_url):
    open_db(db_url).kw["bind"].dispose()  # the schema, but no set-up
    with pytest.raises(DatabaseNotReady, match="holds no set-up"):
        open_existing(db_url)


def test_open_existing_opens_a_set_up_database(sessions, db_url):
    load(sessions)
    opened = open_existing(db_url)
    with opened() as session:
        assert message_count(session) == 0
    opened.kw["bind"].dispose()


def test_open_existing_never_creates_a_sqlite_file(tmp_path):
    path = tmp_path / "none.db"
    with pytest.raises(DatabaseNotReady, match="does not exist"):
        open_existing(f"sqlite:///{path}")
    assert not path.exists()
    assert sqlite_file(f"sqlite:///{path}") == path
    assert sqlite_file("sqlite://") is None and sqlite_file("postgresql://u@h/db") is None


def test_display_url_hides_the_password():
    assert display_url("postgresql://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
    assert display_url("sqlite:///x.db") == "sqlite:///x.db"
