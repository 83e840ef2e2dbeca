"""The transport edge: every platform message becomes a clean `IncomingMessage` here, or is
refused with a one-line reason the transport logs before skipping it.

Every transport calls `clean_message` (wechaty, console, the test fake) or, for the JSON
record format that replay files and the HTTP gateway share, `message_from_record`. What comes
out can always be stored, on SQLite and PostgreSQL alike (D1/X4):
- text, names and ids carry no NUL byte or lone surrogate (each becomes U+FFFD);
- ids (message, chat, sender, account) fit their columns or the message is refused: a cut id
  could name someone else;
- display names (sender name, group topic) are cut to their columns;
- the text and the raw payload are bounded (a real 1,000-member chain is about 40,000
  characters; the native XML parser reads at most 2 MB);
- the time carries a zone and lies between 2000 and 2100;
- `native_chain` needs the raw XML it vouches for (P3: only a transport that received a real
  native 接龙 sets it; a member's typed XML is plain text).

The JSON record format: {"id", "time", "chat", "from", "name", "text"} and, optionally,
"raw", "native", "account", "mentions". `id`, `from`, `text` and `time` are required;
`chat` absent or null is a private message to the bot; `time` is ISO 8601 with a date and a
time of day (without a zone: the platform's); `native` is true only for a recorded native 接龙
and then needs `raw`, its XML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.events import IncomingMessage
from storage.bounds import fit, storable, width
from storage.models import MessageLog

MAX_TEXT_CHARS = 500_000
MAX_RAW_CHARS = 2_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_IDS = {"id": width(MessageLog.message_id), "chat": width(MessageLog.chat_id),
        "from": width(MessageLog.sender_id), "account": width(MessageLog.account)}
_PLATFORM = width(MessageLog.platform)


class RejectedMessage(ValueError):
    """A message the bot cannot take; the text says why, in one line."""


def clean_message(
    platform: str, *, message_id: Any, chat: Any, sender: Any, sender_name: Any, text: Any,
    sent_at: Any, chat_name: Any = None, account: Any = None, raw: Any = None, native_chain: bool = False,
    mentions: Iterable[Any] = (),
) -> IncomingMessage:
    """The message as the app may take it, or RejectedMessage. Field names in the reasons
    are the JSON record's (id, chat, from, name, text, time, raw, account)."""
    if not isinstance(platform, str) or not 0 < len(platform) <= _PLATFORM:
        raise RejectedMessage(f"platform must be a name of at most {_PLATFORM} characters")
    native_chain = native_chain is True
    raw = _optional_text(raw, "raw", MAX_RAW_CHARS)
    if native_chain and raw is None:
        raise RejectedMessage("'native' needs 'raw': the native 接龙 XML it vouches for")
    sender = _id(sender, "from")
    name = sender_name if isinstance(sender_name, str) and sender_name.strip() else sender
    if not isinstance(name, str):
        raise RejectedMessage("'name' must be a string")
    return IncomingMessage(
        platform=platform, message_id=_id(message_id, "id"), chat=_optional_id(chat, "chat"), sender=sender,
        sender_name=fit(name, MessageLog.sender_name), text=_text(text, "text", MAX_TEXT_CHARS),
        sent_at=_time(sent_at), chat_name=_display(chat_name, "chat name", MessageLog.chat_name),
        account=_optional_id(account, "account"), raw=raw, native_chain=native_chain,
        mentions=tuple(m for m in mentions if isinstance(m, str) and 0 < len(m) <= _IDS["from"]),
    )


def message_from_record(platform: str, record: Any, tz: tzinfo) -> IncomingMessage:
    """One message in the JSON record format (see the module docstring)."""
    if not isinstance(record, Mapping):
        raise RejectedMessage("not a JSON object")
    for key in ("id", "time", "from", "text"):
        if record.get(key) in (None, ""):
            raise RejectedMessage(f"missing {key!r}")
    native = record.get("native", False)
    if not isinstance(native, bool):
        raise RejectedMessage("'native' must be true or false")
    mentions = record.get("mentions", [])
    if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
        raise RejectedMessage("'mentions' must be a list of user ids")
    chat = record.get("chat")
    return clean_message(
        platform, message_id=record["id"], chat=chat if chat != "" else None, sender=record["from"],
        sender_name=_name_field(record.get("name")), text=record["text"], sent_at=_iso_time(record["time"], tz),
        chat_name=chat if isinstance(chat, str) else None, account=record.get("account"), raw=record.get("raw"),
        native_chain=native, mentions=mentions,
    )


# --- fields ------------------------------------------------------------------------------


def _id(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise RejectedMessage(f"{key!r} must be a string, not {_kind(value)}")
    value = storable(value)
    if not value.strip():
        raise RejectedMessage(f"{key!r} is empty")
    if len(value) > _IDS[key]:
        raise RejectedMessage(f"{key!r} is longer than {_IDS[key]} characters ({len(value)})")
    return value


def _optional_id(value: Any, key: str) -> str | None:
    return None if value is None else _id(value, key)


def _name_field(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RejectedMessage(f"'name' must be a string, not {_kind(value)}")
    return value


def _display(value: Any, key: str, column) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectedMessage(f"{key!r} must be a string, not {_kind(value)}")
    return fit(value, column)


def _text(value: Any, key: str, limit: int) -> str:
    if not isinstance(value, str):
        raise RejectedMessage(f"{key!r} must be a string, not {_kind(value)}")
    if len(value) > limit:
        raise RejectedMessage(f"{key!r} is longer than {limit:,} characters ({len(value):,})")
    return storable(value)


def _optional_text(value: Any, key: str, limit: int) -> str | None:
    return None if value is None else _text(value, key, limit)


def _time(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise RejectedMessage(f"'time' must be a date and time, not {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise RejectedMessage("'time' has no time zone")
    try:
        in_range = EARLIEST <= value < LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise RejectedMessage(f"'time' {value.isoformat()} is not between {EARLIEST.year} and {LATEST.year}")
    return value


def _iso_time(value: Any, tz: tzinfo) -> datetime:
    if not isinstance(value, str):
        raise RejectedMessage(f"'time' must be an ISO 8601 string like 2026-11-25T10:00:00+08:00, not {_kind(value)}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise RejectedMessage(f"bad time {value!r}") from None
    if "T" not in value and " " not in value.strip():
        raise RejectedMessage(f"bad time {value!r}: a date without a time of day")
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)
