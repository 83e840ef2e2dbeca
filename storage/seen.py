"""Who the bot has seen, from the message log: the ids an operator needs for the set-up file.

A gateway names groups by room id (`…@chatroom`) and people by user id (`wxid_…`); display
names change and repeat. `jielong who` prints these so the set-up can name groups and leaders
by id. Names shown are the latest the log holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Admin, Group, Leader, MessageLog


@dataclass(frozen=True)
class SeenChat:
    chat_id: str
    name: str  # the latest group name the log holds ("" when the transport gave none)
    messages: int
    people: int
    last_at: datetime
    leader_id: str | None  # the leader the group is bound to, if any


@dataclass(frozen=True)
class SeenPerson:
    user_id: str
    name: str
    chat_id: str | None  # None: in private chat with the bot
    messages: int
    last_at: datetime
    role: str  # "admin", "leader" or "" (a member)


def seen_chats(session: Session) -> list[SeenChat]:
    """Every group the log has messages from, busiest first."""
    log = MessageLog
    rows = session.execute(
        select(log.chat_id, func.count(log.id), func.count(func.distinct(log.sender_id)), func.max(log.sent_at))
        .where(log.chat_id.is_not(None)).group_by(log.chat_id)
    ).all()
    names = _latest(session, log.chat_id, log.chat_name, log.chat_id.is_not(None))
    leaders = dict(session.execute(select(Group.chat_id, Group.leader_id)).all())
    chats = [SeenChat(chat, names.get(chat) or "", n, people, last, leaders.get(chat))
             for chat, n, people, last in rows]
    return sorted(chats, key=lambda c: (-c.messages, c.chat_id))


def seen_people(session: Session, chat_id: str | None = None, *, private: bool = False) -> list[SeenPerson]:
    """The people who wrote in `chat_id` (or, with `private`, to the bot directly), busiest first."""
    log = MessageLog
    where = log.chat_id.is_(None) if private else log.chat_id == chat_id
    rows = session.execute(
        select(log.sender_id, func.count(log.id), func.max(log.sent_at)).where(where).group_by(log.sender_id)
    ).all()
    names = _latest(session, log.sender_id, log.sender_name, where)
    admins = set(session.scalars(select(Admin.user_id)))
    leaders = set(session.scalars(select(Leader.id)))
    people = [SeenPerson(user, names.get(user) or "", None if private else chat_id, n, last,
                         "admin" if user in admins else "leader" if user in leaders else "")
              for user, n, last in rows]
    return sorted(people, key=lambda p: (-p.messages, p.user_id))


def _latest(session: Session, key, name, where) -> dict[str, str]:
    """key → the name it carried in its latest message."""
    latest: dict[str, tuple[datetime, str]] = {}
    rows = session.execute(select(key, name, func.max(MessageLog.sent_at)).where(where).group_by(key, name))
    for k, n, at in rows:
        if n and (k not in latest or at > latest[k][0]):
            latest[k] = (at, n)
    return {k: n for k, (_at, n) in latest.items()}
