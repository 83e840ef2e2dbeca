"""A transport for tests: say things as members, collect what the bot sends. No network.

It can also misbehave on purpose, the way real gateways do: fail the next sends (retryable),
refuse for good, or never answer (the send "times out" and is never reported, as when a
process dies mid-send) — so tests see what the outbox does about it.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app import App
from bot.context import SettableClock
from bot.events import Capabilities, OutgoingText, SendResult
from bot.transports.edge import RejectedMessage, clean_message

log = logging.getLogger(__name__)
NO_REPORT = None  # an outcome: the send is never reported


@dataclass
class FakeTransport:
    app: App
    clock: SettableClock
    sent: list[OutgoingText] = field(default_factory=list)  # delivered
    rejected: list[str] = field(default_factory=list)  # why the edge refused a message, in order
    platform: str = "fake"
    account: str | None = None  # the bot account members write to (None: a single-account set-up)
    accounts: frozenset[str] | None = None  # whose messages it sends (None: everyone's)
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(images=True))
    tried: list[OutgoingText] = field(default_factory=list)  # every send, delivered or not
    _outcomes: deque[SendResult | None] = field(default_factory=deque)  # of the next sends
    _broken: dict[str | None, SendResult] = field(default_factory=dict)  # recipient (None: all) → how sends end
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.app.serve(accounts=self.accounts, capabilities=self.capabilities)

    # --- members speak ------------------------------------------------------------------------

    def group(self, chat: str, user: str, name: str, text: str, *, at: datetime | None = None,
              message_id: str | None = None, topic: str | None = None,
              account: str | None = None) -> list[OutgoingText]:
        """A member speaks in a group: `chat` is its room id, `topic` its name (default: the id)."""
        return self._feed(chat, user, name, text, at, message_id, topic or chat, account)

    def private(self, user: str, name: str, text: str, *, at: datetime | None = None,
                message_id: str | None = None, account: str | None = None) -> list[OutgoingText]:
        return self._feed(None, user, name, text, at, message_id, None, account)

    def _feed(self, chat, user, name, text, at, message_id, topic, account) -> list[OutgoingText]:
        if at is not None:
            self.clock.set(at)
        try:
            msg = clean_message(self.platform, message_id=message_id or f"m{next(self._ids)}", chat=chat,
                                sender=user, sender_name=name, text=text, sent_at=self.clock(), chat_name=topic,
                                account=account or self.account)
        except RejectedMessage as exc:
            log.warning("skipped a message from %s: %s", user, exc)
            self.rejected.append(str(exc))
            return []
        return self._deliver(self.app.feed(msg))

    # --- the gateway misbehaves -------------------------------------------------------------

    def fail_next(self, count: int = 1, detail: str = "gateway answered 502") -> None:
        """The next `count` sends fail in a way worth retrying."""
        self._outcomes.extend([SendResult.retry(detail)] * count)

    def refuse_next(self, detail: str = "no such room") -> None:
        """The next send fails for good."""
        self._outcomes.append(SendResult.failed(detail))

    def time_out_next(self, count: int = 1) -> None:
        """The next `count` sends are never reported (the process died mid-send)."""
        self._outcomes.extend([NO_REPORT] * count)

    def break_down(self, result: SendResult | None, *, to: str | None = None) -> None:
        """From now on every send (to `to`, or to anyone) ends so; None: works again."""
        if result is None:
            self._broken.pop(to, None)
        else:
            self._broken[to] = result

    # --- delivery -------------------------------------------------------------------------------

    def _deliver(self, out: list[OutgoingText]) -> list[OutgoingText]:
        delivered = []
        for message in out:
            self.tried.append(message)
            if self._outcomes:
                result = self._outcomes.popleft()
            else:
                result = self._broken.get(message.to) or self._broken.get(None) or SendResult.sent()
            if result is NO_REPORT:
                continue
            if result.ok:
                delivered.append(message)
            self.app.report(message, result)
        self.sent.extend(delivered)
        return delivered

    def wait(self, delta: timedelta) -> list[OutgoingText]:
        """Let time pass and deliver what the rate limits held back."""
        self.clock.advance(delta)
        return self._deliver(self.app.flush())

    def texts_to(self, to: str) -> list[str]:
        return [m.text for m in self.sent if m.to == to]
