"""Who is who, for transcripts and the console: names where ids would otherwise show
("私聊 李姐", not "私聊 wxid_lijie"), and the people a console user can speak as (/who)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Admin, Chain, EntryRow, Group, Leader, MessageLog
from storage.rooms import groups_named


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: str  # "leader", "admin" or "member"
    groups: tuple[str, ...] = ()  # a leader's groups (names)


def known_names(session: Session) -> dict[str, str]:
    """Names the set-up gives: leaders, named admins, and groups (room id → group name)."""
    names = {chat: name for chat, name in session.execute(select(Group.chat_id, Group.name)) if name}
    names |= {user: name for user, name in session.execute(select(Admin.user_id, Admin.name)) if name}
    names |= dict(session.execute(select(Leader.id, Leader.name)).all())
    return names


def name_of(session: Session, user_id: str) -> str | None:
    """A person's name: a leader's or admin's from the set-up, else the name they last wrote
    a chain line under."""
    leader = session.get(Leader, user_id)
    if leader is not None and leader.name:
        return leader.name
    admin = session.get(Admin, user_id)
    if admin is not None and admin.name:
        return admin.name
    return session.scalar(select(EntryRow.author_name).where(EntryRow.author_id == user_id, EntryRow.author_name != "")
                          .order_by(EntryRow.last_changed.desc()).limit(1))


def leaders_and_admins(session: Session) -> list[Person]:
    people = []
    for leader in session.scalars(select(Leader).where(Leader.active.is_(True)).order_by(Leader.id)):
        groups = tuple(session.scalars(select(Group.name).where(Group.leader_id == leader.id).order_by(Group.id)))
        people.append(Person(leader.id, leader.name, "leader", groups))
    for admin in session.scalars(select(Admin).order_by(Admin.user_id)):
        people.append(Person(admin.user_id, admin.name or name_of(session, admin.user_id) or admin.user_id, "admin"))
    return people


def group_members(session: Session, chat: str, limit: int = 30) -> list[Person]:
    """Members seen in a group (wrote in it, or own a line of its chains), most recent first."""
    named = groups_named(session, chat)  # a room id, the set-up's name or the topic
    group = named[0] if len(named) == 1 else None
    seen: dict[str, tuple] = {}
    chats = {chat} | ({group.chat_id, group.name} if group else set())
    wrote = (select(MessageLog.sender_id, MessageLog.sender_name, func.max(MessageLog.sent_at))
             .where(MessageLog.chat_id.in_(chats)).group_by(MessageLog.sender_id, MessageLog.sender_name))
    for user, name, at in session.execute(wrote):
        if user not in seen or at > seen[user][1]:
            seen[user] = (name or user, at)
    if group is not None:
        own = (select(EntryRow.author_id, EntryRow.author_name, func.max(EntryRow.last_changed))
               .join(Chain, Chain.id == EntryRow.chain_id).where(Chain.group_id == group.id)
               .group_by(EntryRow.author_id, EntryRow.author_name))
        for user, name, at in session.execute(own):
            if user not in seen or at > seen[user][1]:
                seen[user] = (name or user, at)
    special = {p.user_id for p in leaders_and_admins(session)}
    ordered = sorted(((user, name, at) for user, (name, at) in seen.items() if user not in special),
                     key=lambda x: x[2], reverse=True)
    return [Person(user, name, "member") for user, name, _at in ordered[:limit]]
