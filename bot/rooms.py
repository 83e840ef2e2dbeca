"""Which group a room is (storage.rooms decides), and the one short private line a leader
gets when that needs them: their group was renamed, several rooms carry its topic, or another
room looks like it. Each is said once (deduplicated through the outbox)."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from bot import texts
from bot.events import OutgoingText
from bot.outbox import Outbox
from storage.models import Group
from storage.rooms import RoomEvent, RoomMatch, SeenRoom, resolve_room


def group_of_room(session: Session, outbox: Outbox, chat: str, topic: str | None) -> Group | None:
    """The group of a group message's room (None: nobody's), telling its leader what changed."""
    match = resolve_room(session, chat, topic)
    notice = _notice(match, chat, topic)
    leader = match.about.leader_id if match.about is not None else None
    if notice is not None and leader is not None:
        text, key = notice
        outbox.enqueue(session, OutgoingText(leader, text, is_group=False), kind="room",
                       dedupe_key=f"room:{match.event}:{match.about.id}:{_digest(key)}")
    return match.group


def _notice(match: RoomMatch, chat: str, topic: str | None) -> tuple[str, str] | None:
    """What to tell the leader, and what makes it the same notice as one sent before."""
    if match.event is RoomEvent.RENAMED:
        return texts.ROOM_RENAMED.format(old=match.old_name, new=topic), topic or ""
    if match.event is RoomEvent.AMBIGUOUS:
        return (texts.ROOM_AMBIGUOUS.format(count=len(match.rooms), name=topic, rooms=rooms_text(match.rooms)),
                "|".join(r.room_id for r in match.rooms))
    if match.event is RoomEvent.LOOKALIKE:
        return texts.ROOM_LOOKALIKE.format(name=topic, room=chat), chat
    return None


def rooms_text(rooms: list[SeenRoom]) -> str:
    """One line a room, the way a leader tells their own group from another: who speaks in it."""
    return "\n".join(texts.ROOM_LINE.format(
        room=r.room_id,
        speakers=texts.ROOM_LINE_SPEAKERS.format(names="、".join(r.speakers)) if r.speakers else texts.ROOM_LINE_NOBODY)
        for r in rooms)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
