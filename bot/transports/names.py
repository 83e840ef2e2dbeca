"""Names instead of ids in what the offline transports print (replay, console, demo):
"[私聊 李姐]", not "[私聊 wxid_lijie]"; a group by its name, not its room id."""

from __future__ import annotations

from bot import texts
from bot.events import IncomingMessage, OutgoingText
from storage.people import known_names, name_of


class NameBook:
    """The set-up's names (leaders, admins, groups), then every sender's latest display name
    as messages go by; an id nobody named is looked up once, else shown as it is."""

    def __init__(self, sessions):
        self._sessions = sessions
        with sessions() as session:
            self._names = known_names(session)

    def learn(self, user: str, name: str) -> None:
        if name and name != user:
            self._names[user] = name

    def saw(self, msg: IncomingMessage) -> None:
        self.learn(msg.sender, msg.sender_name)
        if msg.chat and msg.chat_name:
            self._names.setdefault(msg.chat, msg.chat_name)

    def name(self, user_or_chat: str) -> str:
        name = self._names.get(user_or_chat)
        if name is None:
            with self._sessions() as session:
                name = self._names[user_or_chat] = name_of(session, user_or_chat) or user_or_chat
        return name

    def where(self, out: OutgoingText) -> str:
        """Where a message goes: the group's name, or 私聊 and the person's name."""
        if out.is_group:
            return self.name(out.to)
        return texts.TRANSCRIPT_PRIVATE.format(name=self.name(out.to))
