"""Replay: a recorded conversation (JSONL) fed through the same App the live bot uses.

One JSON object a line, the record format of bot/transports/edge.py:

    {"id": "m1", "time": "2026-11-25T10:00:00+08:00", "chat": "阳光小区3期团购群",
     "from": "wxid_wang", "name": "王姐", "text": "#接龙 …"}

`chat` absent or null is a private message to the bot. Ids, names and the text must be
strings; `time` is ISO 8601 with a time of day (without a zone: the platform's). A recorded
native 接龙 (appmsg type 53, whose XML names each entry's author) says so explicitly with
`"native": true` and carries its XML in `"raw"`; only then are the authors in the XML trusted.
XML in `text` is what a member typed, and every new line in it belongs to the sender (P3).
Optional `"account"` is the bot account that received it, `"mentions"` the user ids @-ed.

A bad line is reported with its number and the reason and skipped, and so is a line whose
id was logged before with a different text (the first one stands); the same id with the same
text is a redelivery and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.app import App
from bot.context import SettableClock
from bot.events import IncomingMessage, MessageNotRecorded, OutgoingText, SendResult
from bot.transports.edge import RejectedMessage, message_from_record
from storage.log import logged_text

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
    except RecursionError:
        raise ReplayLineError("not JSON: nested too deeply") from None
    try:
        return message_from_record(PLATFORM, data, tz)
    except RejectedMessage as exc:
        raise ReplayLineError(str(exc)) from None


def replay_lines(app: App, clock: SettableClock, lines: Iterable[str], result: ReplayResult,
                 on_error=None) -> Iterator[OutgoingText]:
    """Feed each line; yield what the bot sends. The clock follows the messages' times."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            msg = message_from_json(line, app.ctx.tz)
            _check_not_changed(app, msg)
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


def _check_not_changed(app: App, msg: IncomingMessage) -> None:
    """U3: an id seen before stands for the message logged under it; another text under the
    same id is an error in the file, not a redelivery."""
    with app.ctx.sessions() as session:
        before = logged_text(session, msg.platform, msg.message_id)
    if before is not None and before != msg.text:
        raise ReplayLineError(f"duplicate id {msg.message_id!r} with a different text: the first one stands")
