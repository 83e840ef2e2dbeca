"""A transport for tests: say things as members, collect what the bot sends. No network."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app import App
from bot.context import SettableClock
from bot.events import OutgoingText, SendResult
from bot.transports.edge import RejectedMessage, clean_message

log = logging.getLogger(__name__)


@dataclass
class FakeTransport:
    app: App
    clock: SettableClock
    sent: list[OutgoingText] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why the edge refused a message, in order
    platform: str = "fake"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def group(self, chat: str, user: str, name: str, text: str, *, at: datetime | None = None,
              message_id: str | None = None, topic: str | None = None) -> list[OutgoingText]:
        """A member speaks in a group: `chat` is its room id, `topic` its name (default: the id)."""
        return self._feed(chat, user, name, text, at, message_id, topic or chat)

    def private(self, user: str, name: str, text: str, *, at: datetime | None = None,
                message_id: str | None = None) -> list[OutgoingText]:
        return self._feed(None, user, name, text, at, message_id, None)

    def _feed(self, chat, user, name, text, at, message_id, topic) -> list[OutgoingText]:
        if at is not None:
            self.clock.set(at)
        try:
            msg = clean_message(self.platform, message_id=message_id or f"m{next(self._ids)}", chat=chat,
                                sender=user, sender_name=name, text=text, sent_at=self.clock(), chat_name=topic)
        except RejectedMessage as exc:
            log.warning("skipped a message from %s: %s", user, exc)
            self.rejected.append(str(exc))
            return []
        return self._deliver(self.app.feed(msg))

    def _deliver(self, out: list[OutgoingText]) -> list[OutgoingText]:
        for message in out:
            self.app.report(message, SendResult.sent())
        self.sent.extend(out)
        return out

    def wait(self, delta: timedelta) -> list[OutgoingText]:
        """Let time pass and deliver what the rate limits held back."""
        self.clock.advance(delta)
        return self._deliver(self.app.flush())

    def texts_to(self, to: str) -> list[str]:
        return [m.text for m in self.sent if m.to == to]
