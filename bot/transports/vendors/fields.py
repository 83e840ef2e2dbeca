"""Strict reading of the fields a gateway sends: type, length, no control characters in ids.

Bounds follow the message log's columns (storage/models.py::MessageLog), so nothing a gateway
sends can fail at the database after it was accepted. A name that is too long is cut (a long
nickname must not lose an order); an id or a text that is too long is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.transports.vendors import BadPayload

MAX_ID = 128  # sender, account, mention ids (MessageLog.sender_id, .account)
MAX_MESSAGE_ID = 200
MAX_CHAT = 200
MAX_NAME = 200
MAX_TEXT = 100_000  # far above any WeChat message (a 300-line chain is ~15,000)
MAX_RAW = 1_000_000
MAX_MENTIONS = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def identifier(data: dict, key: str, *, limit: int = MAX_ID, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadPayload(f"missing {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{key!r} must be a string")
    value = str(value).strip()
    if not value or len(value) > limit:
        raise BadPayload(f"{key!r} must be 1 to {limit} characters")
    if _CONTROL.search(value):
        raise BadPayload(f"{key!r} has control characters")
    return value


def name(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{key!r} must be a string")
    value = _CONTROL.sub("", value).strip()
    return value[:MAX_NAME] or None


def text(data: dict, key: str, *, limit: int = MAX_TEXT, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadPayload(f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{key!r} must be a string")
    if len(value) > limit:
        raise BadPayload(f"{key!r} is longer than {limit} characters")
    return value.replace("\x00", "")


def mention_list(data: dict, key: str = "mentions") -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_MENTIONS:
        raise BadPayload(f"{key!r} must be a list of at most {MAX_MENTIONS} user ids")
    return tuple(identifier({key: item}, key) for item in value)


def flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise BadPayload(f"{key!r} must be true or false")
    return value


def timestamp(value: Any, key: str, tz: tzinfo) -> datetime:
    """ISO 8601 (a time without offset is in the platform's time zone) or unix seconds."""
    if isinstance(value, bool) or value is None or value == "":
        raise BadPayload(f"missing {key!r}")
    try:
        if isinstance(value, int | float):
            at = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str) and len(value) <= 40:
            at = datetime.fromisoformat(value.strip())
        else:
            raise ValueError
    except (ValueError, OverflowError, OSError):
        raise BadPayload(f"{key!r} is not an ISO 8601 time or unix seconds: {str(value)[:40]!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    if at < _EARLIEST or at.year > 2100:
        raise BadPayload(f"{key!r} is out of range: {value!r}")
    return at

