"""storage.rooms on SQLite and PostgreSQL: groups are their room id, never their topic (D4,
P2), and 绑定 binds only rooms the bot has heard and never takes a group that has a leader (P1)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from storage.db import upgrade
from storage.log import record_message
from storage.lookup import group_for_chat
from storage.models import Group, Leader
from storage.models import Outbox as OutboxRow
from storage.rooms import (
    BindOutcome,
    RoomEvent,
    bind_room,
    groups_named,
    reassign_group,
    resolve_room,
)
from tests.storage.helpers import GROUP, LEADER, at, load

T = GROUP  # the set-up names 李姐's group by its topic
ROOM, EVIL, OTHER = "111@chatroom", "999@chatroom", "555@chatroom"
_ids = itertools.count(1)


@pytest.fixture
def db(sessions):
    load(sessions)
    return sessions


def heard(session, room: str, topic: str | None, sender: str = "wxid_wang", name: str = "王姐") -> None:
    """A message from a room reaches the log (the app logs before it routes)."""
    n = next(_ids)
    record_message(session, platform="test", message_id=f"r{n}", chat_id=room, chat_name=topic, sender_id=sender,
                   sender_name=name, text="好", sent_at=at(10, n % 60), received_at=at(10, n % 60))


def speak(session, room: str, topic: str | None, sender: str = "wxid_wang", name: str = "王姐"):
    heard(session, room, topic, sender, name)
    return resolve_room(session, room, topic)


def li_group(session) -> Group:
    return session.scalar(select(Group).where(Group.setup_name == T))


def test_a_set_up_group_learns_its_room_id_and_then_is_matched_by_it_only(db) -> None:
    """D4/P2: the first room with the topic is the group; from then on only that room is."""
    with db.begin() as session:
        first = speak(session, ROOM, T)
        assert first.event is RoomEvent.LEARNED and first.group.leader_id == LEADER
        assert (first.group.chat_id, first.group.name, first.group.room_known) == (ROOM, T, True)
        assert speak(session, ROOM, T).group.id == first.group.id
        impostor = speak(session, EVIL, T, "wxid_evil", "路人")
        assert impostor.group is None
        assert impostor.event is RoomEvent.LOOKALIKE and impostor.about.id == first.group.id
        assert group_for_chat(session, ROOM).id == first.group.id and group_for_chat(session, T) is None


def test_a_rename_keeps_the_group(db) -> None:
    """D4/A11: a renamed room was no group any more, and re-binding it made a second one."""
    with db.begin() as session:
        group = speak(session, ROOM, T).group
        renamed = speak(session, ROOM, T + "🍉")
        assert (renamed.group.id, renamed.event, renamed.old_name) == (group.id, RoomEvent.RENAMED, T)
        assert speak(session, ROOM, T + "🍉").event is None  # told once
        assert bind_room(session, T + "🍉", LEADER, at(11)).outcome is BindOutcome.ALREADY_YOURS
        assert session.scalar(select(func.count(Group.id))) == 2  # 李姐's and 老周's


def test_two_rooms_with_the_topic_before_the_group_learned_its_room_are_not_guessed(db) -> None:
    """P2: while a set-up group has not learned its room, two rooms with its topic: neither is
    it; its leader is asked (with who speaks in each), and binds one by room id."""
    with db.begin() as session:
        heard(session, EVIL, T, "wxid_evil", "路人")
        asked = speak(session, ROOM, T)
        assert asked.group is None and asked.event is RoomEvent.AMBIGUOUS and asked.about.leader_id == LEADER
        assert [(r.room_id, r.speakers) for r in asked.rooms] == [(ROOM, ("王姐",)), (EVIL, ("路人",))]
        assert speak(session, EVIL, T, "wxid_evil", "路人").group is None
        bound = bind_room(session, ROOM, LEADER, at(11))
        assert bound.outcome is BindOutcome.BOUND and bound.group.id == li_group(session).id
        assert li_group(session).chat_id == ROOM
        assert speak(session, ROOM, T).group.id == bound.group.id
        assert speak(session, EVIL, T, "wxid_evil", "路人").event is RoomEvent.LOOKALIKE


def test_binding_by_topic_with_two_rooms_asks_for_the_room_id(db) -> None:
    with db.begin() as session:
        heard(session, EVIL, "新群", "wxid_evil", "路人")
        heard(session, OTHER, "新群")
        result = bind_room(session, "新群", LEADER, at(11))
        assert result.outcome is BindOutcome.AMBIGUOUS and [r.room_id for r in result.rooms] == [OTHER, EVIL]
        assert bind_room(session, OTHER, LEADER, at(11)).outcome is BindOutcome.BOUND


def test_posts_queued_for_a_set_up_name_go_to_the_room_once_it_is_learned(db) -> None:
    """P2: nothing is ever sent to a topic; what waited for the room id follows it."""
    with db.begin() as session:
        session.add(OutboxRow(to=T, is_group=True, text="#接龙 周三水果团", mentions=[], kind="post-open",
                              created_at=at(9)))
        session.add(OutboxRow(to="wxid_li", is_group=False, text="私聊", mentions=[], kind="reply", created_at=at(9)))
        speak(session, ROOM, T)
        assert sorted(session.execute(select(OutboxRow.to, OutboxRow.kind))) == [
            (ROOM, "post-open"), ("wxid_li", "reply")]


def test_bind_never_creates_a_group_out_of_a_typed_name(db) -> None:
    """P1: a typed name the bot has never heard binds nothing."""
    with db.begin() as session:
        assert bind_room(session, "随便一个名字", LEADER, at(11)).outcome is BindOutcome.UNKNOWN
        assert bind_room(session, "翠苑二区邻里群", LEADER, at(11)).outcome is BindOutcome.UNKNOWN
        assert session.scalar(select(func.count(Group.id))) == 2


def test_bind_refuses_a_group_that_has_a_leader(db) -> None:
    """P1/A5: 老周 could take 李姐's group with 绑定 (read its members, delete its orders, earn
    its commission)."""
    with db.begin() as session:
        speak(session, ROOM, T)
        for target in (T, ROOM):
            taken = bind_room(session, target, "wxid_zhou", at(11))
            assert taken.outcome is BindOutcome.TAKEN and taken.group.leader_id == LEADER
        assert li_group(session).leader_id == LEADER


def test_bind_refuses_a_set_up_group_of_another_leader_before_its_room_is_learned(db) -> None:
    with db.begin() as session:
        heard(session, ROOM, T)
        assert bind_room(session, T, "wxid_zhou", at(11)).outcome is BindOutcome.TAKEN
        assert bind_room(session, ROOM, "wxid_zhou", at(11)).outcome is BindOutcome.TAKEN
        assert li_group(session).leader_id == LEADER


def test_a_leader_binds_their_own_room_among_lookalikes_by_its_id(db) -> None:
    """Two rooms share 李姐's set-up topic; 老周 runs one of them: by id, that one is his."""
    with db.begin() as session:
        heard(session, ROOM, T)
        heard(session, OTHER, T, "wxid_ma", "老马")
        result = bind_room(session, OTHER, "wxid_zhou", at(11))
        assert result.outcome is BindOutcome.BOUND and result.group.chat_id == OTHER
        assert li_group(session).leader_id == LEADER and not li_group(session).room_known
        # 李姐's group now learns the one room left with its topic
        assert speak(session, ROOM, T).group.id == li_group(session).id


def test_a_room_bound_by_a_new_leader_is_a_new_group(db) -> None:
    with db.begin() as session:
        heard(session, OTHER, "新小区团购群")
        result = bind_room(session, "新小区团购群", LEADER, at(11))
        assert result.outcome is BindOutcome.BOUND
        assert (result.group.chat_id, result.group.name, result.group.room_known) == (OTHER, "新小区团购群", True)
        assert bind_room(session, OTHER, "wxid_zhou", at(12)).outcome is BindOutcome.TAKEN


def test_an_admin_reassigns_a_group(db) -> None:
    with db.begin() as session:
        speak(session, ROOM, T)
        [group] = groups_named(session, T)
        assert groups_named(session, ROOM) == [group]
        assert reassign_group(session, group, session.get(Leader, "wxid_zhou"), at(12)) == LEADER
        assert (group.leader_id, group.bound_at) == ("wxid_zhou", at(12))


def test_migration_0006_keeps_existing_groups(db_url) -> None:
    """Groups bound by room id before 0006 know their room; groups named by the set-up learn it."""
    engine = create_engine(db_url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO groups (chat_id, name, greeted) VALUES "
                          "('阳光小区3期团购群', '阳光小区3期团购群', false), ('777@chatroom', '新群', false)"))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT chat_id, room_known, setup_name FROM groups ORDER BY id")).all()
        assert "ix_messages_chat_name" in {i["name"] for i in inspect(conn).get_indexes("messages")}
    engine.dispose()
    assert [(c, bool(k), s) for c, k, s in rows] == [("阳光小区3期团购群", False, "阳光小区3期团购群"),
                                                     ("777@chatroom", True, None)]
