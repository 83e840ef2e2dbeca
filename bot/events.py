"""What transports hand to the app and what the app hands back. No SDK types here.

The contract every transport keeps (wechaty, HTTP gateway, console, replay, the test fake):
- it turns each platform message into an `IncomingMessage` and calls `App.feed`;
- it delivers each `OutgoingText` the app returns (or `App.flush` yields) and reports how it
  went with `App.report(out, SendResult)`, so the outbox never counts unsent text as sent;
- it says what it can do with `Capabilities` (the app never asks a transport for what it
  cannot do: no images where there are none, no @mentions where they cannot be made).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class IncomingMessage:
    platform: str  # "wechaty", "http", "console", "replay", "fake", …
    message_id: str  # unique per platform: the dedupe key
    chat: str | None  # the group's room id; None for a private chat with the bot
    sender: str  # platform user id (wxid_…)
    sender_name: str
    text: str  # what the message says, as text (for a native 接龙: the chain text)
    sent_at: datetime  # timezone-aware
    chat_name: str | None = None  # the group's display name (topic), when known: never an identity
    account: str | None = None  # the bot account that received it (a platform runs many)
    raw: str | None = None  # the platform's payload as received (XML or JSON), when it has one
    # The transport vouches that this is a real native 接龙 (appmsg type 53) and `raw` holds its
    # XML: only then are the per-entry authors in it trusted (P3: a member can type XML).
    native_chain: bool = False
    mentions: tuple[str, ...] = ()  # user ids @-mentioned in the message

    @property
    def session_key(self) -> str:
        """What one conversation is: a group, or one person's private chat with the bot.
        Messages of one conversation are handled one at a time, in order."""
        return self.chat if self.chat is not None else f"private:{self.sender}"


@dataclass(frozen=True)
class OutgoingText:
    to: str  # the group's room id when is_group, else the user id of a private chat
    text: str
    mentions: tuple[str, ...] = ()  # user ids to @ in a group
    is_group: bool = True
    account: str | None = None  # the bot account that must send it (None: whichever serves `to`)
    image: bytes | None = None  # a PNG to send with the text, on transports that can
    outbox_ids: tuple[int, ...] = ()  # the outbox rows this message delivers (set by the outbox)


class MessageNotRecorded(RuntimeError):
    """The app could not store an incoming message (`App.feed`, `App.accept`): the transport
    must not acknowledge it. `retryable`: the database is unavailable for now — have it
    delivered again (an HTTP gateway answers 503); else it can never be stored (answer 4xx)."""

    def __init__(self, msg: IncomingMessage, reason: str, *, retryable: bool):
        self.platform, self.message_id, self.retryable = msg.platform, msg.message_id, retryable
        super().__init__(f"message {msg.platform}/{msg.message_id} not recorded: {reason}")


class SendStatus(StrEnum):
    SENT = "sent"  # delivered
    RETRY = "retry"  # not delivered, worth trying again (timeout, 5xx, not logged in yet)
    FAILED = "failed"  # will never be delivered as it is (no such room, refused for good)


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    detail: str = ""  # why, in one line, for the log and the operator (never a secret)

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.SENT

    @classmethod
    def sent(cls) -> SendResult:
        return cls(SendStatus.SENT)

    @classmethod
    def retry(cls, detail: str) -> SendResult:
        return cls(SendStatus.RETRY, detail)

    @classmethod
    def failed(cls, detail: str) -> SendResult:
        return cls(SendStatus.FAILED, detail)


@dataclass(frozen=True)
class Capabilities:
    """What a transport can deliver."""

    group_posts: bool = True
    mentions: bool = True
    private_chat: bool = True
    images: bool = False
