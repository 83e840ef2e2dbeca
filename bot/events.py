"""What transports hand to the app and what the app hands back. No SDK types here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncomingMessage:
    platform: str  # "wechaty", "console", "replay", "fake"
    message_id: str  # unique per platform: the dedupe key
    chat: str | None  # group id or name; None for a private chat with the bot
    sender: str  # platform user id (wxid_…)
    sender_name: str
    text: str
    sent_at: datetime  # timezone-aware
    chat_name: str | None = None  # the group's display name (topic), when known
    mentions_bot: bool = False


@dataclass(frozen=True)
class OutgoingText:
    to: str  # group id/name when chat is set, else the user id of a private chat
    text: str
    mentions: tuple[str, ...] = ()  # user ids to @ in a group
    is_group: bool = True
