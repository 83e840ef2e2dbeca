"""`storage.seen`: the groups, people and roles the message log shows (SQLite and PostgreSQL),
and `jielong who`, which prints them for the set-up file."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main
from storage.log import record_message
from storage.seen import seen_chats, seen_people
from storage.setup import apply_setup, load_setup_text
from tests.storage.helpers import SETUP, at

ROOM = "1234567@chatroom"


def _log(session, n: int, chat: str | None, sender: str, name: str, chat_name: str | None = None,
         minute: int = 0) -> None:
    record_message(session, platform="http", message_id=f"m{n}", chat_id=chat, chat_name=chat_name, sender_id=sender,
                   sender_name=name, text="hi", sent_at=at(10, minute), received_at=at(10, minute))


def _history(session) -> None:
    apply_setup(session, load_setup_text(SETUP))
    _log(session, 1, ROOM, "wxid_wang", "王姐", "新团购群", minute=1)
    _log(session, 2, ROOM, "wxid_wang", "王姐姐", "阳光三期", minute=5)  # renamed: the latest name wins
    _log(session, 3, ROOM, "wxid_li", "李姐", "阳光三期", minute=3)
    _log(session, 4, "阳光小区3期团购群", "wxid_zhang", "张叔", "阳光小区3期团购群", minute=2)
    _log(session, 5, None, "wxid_li", "李姐", minute=6)
    _log(session, 6, None, "wxid_admin", "平台", minute=7)
    _log(session, 7, None, "wxid_li", "李姐", minute=8)


def test_groups_people_and_roles_from_the_log(sessions) -> None:
    with sessions.begin() as session:
        _history(session)
    with sessions() as session:
        chats = seen_chats(session)
        assert [(c.chat_id, c.name, c.messages, c.people) for c in chats] == [
            (ROOM, "阳光三期", 3, 2), ("阳光小区3期团购群", "阳光小区3期团购群", 1, 1)]
        assert chats[0].leader_id is None and chats[1].leader_id == "wxid_li"  # bound by the set-up
        assert chats[0].last_at == at(10, 5)
        members = seen_people(session, ROOM)
        assert [(p.user_id, p.name, p.messages, p.role) for p in members] == [
            ("wxid_wang", "王姐姐", 2, ""), ("wxid_li", "李姐", 1, "leader")]
        private = seen_people(session, private=True)
        assert [(p.user_id, p.messages, p.role, p.chat_id) for p in private] == [
            ("wxid_li", 2, "leader", None), ("wxid_admin", 1, "admin", None)]
        assert seen_people(session, "nowhere@chatroom") == []


def test_an_empty_log_is_empty(sessions) -> None:
    with sessions() as session:
        assert seen_chats(session) == [] and seen_people(session, private=True) == []


def test_who_prints_the_ids_for_the_set_up(db_url, sessions) -> None:
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    result = CliRunner().invoke(main, ["who", "--db", db_url])
    assert result.exit_code == 0 and "no messages yet" in result.output
    with sessions.begin() as session:
        _history(session)
    result = CliRunner().invoke(main, ["who", "--db", db_url, "--members"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Groups (2)"
    assert lines[1].startswith(f"  {ROOM}  阳光三期  3 messages from 2 people, last 2026-11-24 10:05  not bound")
    assert "    wxid_li  李姐  1 messages, last 2026-11-24 10:03  leader" in lines
    assert any(line.endswith("leader wxid_li") for line in lines)
    assert "Private chats with the bot (2)" in lines
    data = json.loads(CliRunner().invoke(main, ["who", "--db", db_url, "--json", "--members"]).output)
    assert data["groups"][0]["id"] == ROOM and data["groups"][0]["members"][0]["id"] == "wxid_wang"
    assert data["private"][1] == {"id": "wxid_admin", "name": "平台", "messages": 1,
                                  "last": "2026-11-24 10:07", "role": "admin"}


def test_who_on_an_unreachable_database_is_one_line() -> None:
    result = CliRunner().invoke(main, ["who", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and "database" in result.output
