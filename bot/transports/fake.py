"""A transport for tests: say things as members, collect what the bot sends. No network."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app import App
from bot.context import SettableClock
from bot.events import IncomingMessage, OutgoingText, SendResult


@dataclass
class FakeTransport:
    app: App
    clock: SettableClock
    sent: list[OutgoingText] = field(default_factory=list)
    platform: str = "fake"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def group(self, chat: str, user: str, name: str, text: str, *, at: datetime | None = None,
              message_id: str | None = None) -> list[OutgoingText]:
        return self._feed(chat, user, name, text, at, message_id)

    def private(self, user: str, name: str, text: str, *, at: datetime | None = None,
                message_id: str | None = None) -> list[OutgoingText]:
        return self._feed(None, user, name, text, at, message_id)

    def _feed(self, chat, user, name, text, at, message_id) -> list[OutgoingText]:
        if at is not None:
            self.clock.set(at)
        msg = IncomingMessage(self.platform, message_id or f"m{next(self._ids)}", chat, user, name, text,
                              self.clock(), chat)
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
