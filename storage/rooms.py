"""Which group a room is: groups are their room id, never their topic (D4, P2, P1).

A topic is a display name anyone can give any room. A group the set-up names by topic learns
its room id the first time a room with that topic speaks — when exactly one room carries it;
with two or more it does not guess and its leader is asked. From then on only that room is
the group: a rename keeps the group (its chains and orders), and another room with the same
topic is somebody else's. Binding (绑定) names a room the bot has seen, never a typed name,
and never takes a group that has a leader: only a platform admin reassigns one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Group, Leader, MessageLog, Outbox


class RoomEvent(StrEnum):
    LEARNED = "learned"  # a group the set-up named learned its room id
    RENAMED = "renamed"  # the group's room has a new topic: same group
    AMBIGUOUS = "ambiguous"  # several rooms carry the topic of a group that has not learned its room
    LOOKALIKE = "lookalike"  # another room carries the topic of a group that knows its room


@dataclass(frozen=True)
class SeenRoom:
    """A room the bot has heard from, as a leader can recognise it."""

    room_id: str
    topic: str
    speakers: tuple[str, ...]  # a few display names of people who spoke in it


@dataclass
class RoomMatch:
    group: Group | None  # the group this room is, None when it is nobody's (yet)
    event: RoomEvent | None = None
    about: Group | None = None  # the group the event concerns (for AMBIGUOUS/LOOKALIKE: not this room's)
    old_name: str = ""  # RENAMED: the topic before
    rooms: list[SeenRoom] = field(default_factory=list)  # AMBIGUOUS: the candidates


def resolve_room(session: Session, chat: str, topic: str | None) -> RoomMatch:
    """The group a group message's room belongs to, learning and renaming as it goes."""
    group = session.scalar(_BY_CHAT, dict(chat=chat))
    if group is not None and group.room_known:
        if topic and topic != group.name:
            old, group.name = group.name, topic
            session.flush()
            return RoomMatch(group, RoomEvent.RENAMED, group, old_name=old)
        return RoomMatch(group)
    if group is not None:  # the set-up wrote this very id (or, offline, ids are topics)
        _learn(session, group, chat, topic)
        return RoomMatch(group, RoomEvent.LEARNED, group)
    if not topic:
        return RoomMatch(None)
    waiting = list(session.scalars(_UNLEARNED_NAMED, dict(name=topic)))
    if len(waiting) == 1:
        rooms = rooms_with_topic(session, topic, also=chat)
        if len(rooms) == 1:
            _learn(session, waiting[0], chat, topic)
            return RoomMatch(waiting[0], RoomEvent.LEARNED, waiting[0])
        return RoomMatch(None, RoomEvent.AMBIGUOUS, waiting[0], rooms=describe_rooms(session, rooms))
    lookalike = session.scalar(_KNOWN_NAMED, dict(name=topic, chat=chat))
    if lookalike is not None:
        return RoomMatch(None, RoomEvent.LOOKALIKE, lookalike)
    return RoomMatch(None)


_BY_CHAT = select(Group).where(Group.chat_id == bindparam("chat"))
_UNLEARNED_NAMED = (select(Group).where(Group.room_known.is_(False),
                                        or_(Group.setup_name == bindparam("name"), Group.name == bindparam("name")))
                    .order_by(Group.id).limit(2))
_KNOWN_NAMED = (select(Group).where(Group.room_known.is_(True), Group.chat_id != bindparam("chat"),
                                    or_(Group.setup_name == bindparam("name"), Group.name == bindparam("name")))
                .order_by(Group.id).limit(1))


def _learn(session: Session, group: Group, room: str, topic: str | None) -> None:
    """Pin the group to its room. Group posts queued to the set-up name go to the room."""
    if group.chat_id != room:
        session.execute(update(Outbox).where(Outbox.to == group.chat_id, Outbox.is_group.is_(True))
                        .values(to=room))
        group.chat_id = room
    group.room_known = True
    if topic:
        group.name = topic
    session.flush()


def rooms_with_topic(session: Session, topic: str, also: str | None = None) -> list[str]:
    """Rooms the log has heard with this topic that no group has claimed (and `also`)."""
    rooms = list(session.scalars(_ROOMS_WITH_TOPIC, dict(topic=topic)))
    if also is not None and also not in rooms:
        rooms.append(also)
    return sorted(rooms)


_ROOMS_WITH_TOPIC = (
    select(MessageLog.chat_id).where(
        MessageLog.chat_name == bindparam("topic"), MessageLog.chat_id.is_not(None),
        MessageLog.chat_id.not_in(select(Group.chat_id).where(Group.room_known.is_(True))))
    .distinct().limit(20)
)


def describe_rooms(session: Session, rooms: list[str]) -> list[SeenRoom]:
    return [SeenRoom(room, last_topic(session, room) or room, tuple(session.scalars(_SPEAKERS, dict(room=room))))
            for room in rooms]


_SPEAKERS = (select(MessageLog.sender_name).where(MessageLog.chat_id == bindparam("room"))
             .group_by(MessageLog.sender_name).order_by(func.min(MessageLog.id)).limit(3))


def last_topic(session: Session, room: str) -> str | None:
    """The topic a room had in its latest message; None when the bot never heard it."""
    return session.scalar(_LAST_TOPIC, dict(room=room))


_LAST_TOPIC = (select(func.coalesce(MessageLog.chat_name, MessageLog.chat_id)).where(MessageLog.chat_id == bindparam("room"))
               .order_by(MessageLog.sent_at.desc(), MessageLog.id.desc()).limit(1))


# --- binding ---------------------------------------------------------------------------------


class BindOutcome(StrEnum):
    BOUND = "bound"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"  # another leader runs it: only an admin reassigns
    UNKNOWN = "unknown"  # the bot has not heard this room or topic
    AMBIGUOUS = "ambiguous"  # several rooms carry this topic: bind by room id


@dataclass
class BindResult:
    outcome: BindOutcome
    group: Group | None = None
    rooms: list[SeenRoom] = field(default_factory=list)


def bind_room(session: Session, target: str, leader_id: str, at: datetime) -> BindResult:
    """A leader's 绑定: `target` is a room id the bot has heard, or a topic exactly one such
    room carries. Creates a group only for a room the bot has heard, never for a typed name."""
    known = session.scalar(_BY_CHAT, dict(chat=target))
    if known is not None and known.room_known:
        return _claim(session, known, leader_id, at)
    topic = last_topic(session, target)
    if topic is not None:  # a room id from the log
        return _bind_heard_room(session, target, topic, leader_id, at, by_id=True)
    rooms = rooms_with_topic(session, target)
    named = list(session.scalars(_KNOWN_NAMED, dict(name=target, chat="")))
    if len(rooms) + len(named) > 1:
        heard = describe_rooms(session, rooms) + [SeenRoom(g.chat_id, g.name, ()) for g in named]
        return BindResult(BindOutcome.AMBIGUOUS, rooms=heard)
    if named:
        return _claim(session, named[0], leader_id, at)
    if rooms:
        return _bind_heard_room(session, rooms[0], target, leader_id, at, by_id=False)
    return BindResult(BindOutcome.UNKNOWN)


def _bind_heard_room(session: Session, room: str, topic: str, leader_id: str, at: datetime,
                     by_id: bool) -> BindResult:
    group = _set_up_group_for(session, room, topic)
    if group is not None and group.leader_id not in (None, leader_id):
        # Another leader's set-up group carries this topic: the room is theirs when it is the
        # only room with it. A leader naming one of several such rooms by id binds that one alone.
        if not (by_id and len(rooms_with_topic(session, topic, also=room)) > 1):
            return BindResult(BindOutcome.TAKEN, group)
        group = None
    if group is None:
        group = Group(chat_id=room, name=topic, room_known=True)
        session.add(group)
        session.flush()
    elif not group.room_known:
        _learn(session, group, room, topic)
        if group.leader_id == leader_id:
            return BindResult(BindOutcome.BOUND, group)  # the leader told which room their group is
    return _claim(session, group, leader_id, at)


def _set_up_group_for(session: Session, room: str, topic: str) -> Group | None:
    """The group (named by the set-up, its room not learned yet) this room would be."""
    written = session.scalar(_BY_CHAT, dict(chat=room))
    if written is not None:
        return written
    waiting = list(session.scalars(_UNLEARNED_NAMED, dict(name=topic)))
    return waiting[0] if len(waiting) == 1 else None


def _claim(session: Session, group: Group, leader_id: str, at: datetime) -> BindResult:
    if group.leader_id == leader_id:
        return BindResult(BindOutcome.ALREADY_YOURS, group)
    if group.leader_id is not None:
        return BindResult(BindOutcome.TAKEN, group)
    group.leader_id, group.bound_at = leader_id, at
    session.flush()
    return BindResult(BindOutcome.BOUND, group)


def groups_named(session: Session, name: str) -> list[Group]:
    """Groups a person may mean by this: its room id, its set-up name or its topic."""
    return list(session.scalars(select(Group).where(
        or_(Group.chat_id == name, Group.setup_name == name, Group.name == name)).order_by(Group.id)))


def move_group(session: Session, group: Group, room: str) -> None:
    """An admin says which room a group really is (it learned an impostor's room that spoke
    first): its chains, orders and queued posts stay with it; the old room is nobody's."""
    _learn(session, group, room, last_topic(session, room))


def reassign_group(session: Session, group: Group, leader: Leader, at: datetime) -> str | None:
    """An admin hands a group to another leader; the previous leader's id (None: it had none)."""
    previous = group.leader_id
    group.leader_id, group.bound_at = leader.id, at
    session.flush()
    return previous
