"""Replay: a recorded conversation (JSONL) fed through the same App the live bot uses.

One object a line: {"id", "time", "chat", "from", "name", "text"}; chat absent or null is a
private message to the bot. A bad line is reported with its number and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from bot.app import App
from bot.context import SettableClock
from bot.events import IncomingMessage, MessageNotRecorded, OutgoingText, SendResult

PLATFORM = "replay"


class ReplayLineError(ValueError):
    pass


@dataclass
class ReplayResult:
    fed: int = 0
    skipped: int = 0


def message_from_json(line: str, tz) -> IncomingMessage:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ReplayLineError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ReplayLineError("not a JSON object")
    for key in ("id", "time", "from", "text"):
        if key not in data or data[key] in (None, ""):
            raise ReplayLineError(f"missing {key!r}")
    if not isinstance(data["text"], str):
        raise ReplayLineError("'text' must be a string")
    try:
        sent_at = datetime.fromisoformat(str(data["time"]))
    except ValueError:
        raise ReplayLineError(f"bad time {data['time']!r}") from None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=tz)
    chat = data.get("chat")
    return IncomingMessage(
        platform=PLATFORM, message_id=str(data["id"]), chat=str(chat) if chat else None,
        sender=str(data["from"]), sender_name=str(data.get("name") or data["from"]), text=data["text"],
        sent_at=sent_at, chat_name=str(chat) if chat else None,
    )


def replay_lines(app: App, clock: SettableClock, lines: Iterable[str], result: ReplayResult,
                 on_error=None) -> Iterator[OutgoingText]:
    """Feed each line; yield what the bot sends. The clock follows the messages' times."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            msg = message_from_json(line, app.ctx.tz)
        except ReplayLineError as exc:
            result.skipped += 1
            if on_error:
                on_error(number, str(exc))
            continue
        clock.set(msg.sent_at)
        try:
            replies = app.feed(msg)
        except MessageNotRecorded as exc:
            if exc.retryable:  # the database is down: stop here, a rerun goes on from this line
                raise
            result.skipped += 1
            if on_error:
                on_error(number, str(exc))
            continue
        result.fed += 1
        for out in replies:
            app.report(out, SendResult.sent())  # a replay "sends" by printing
            yield out
