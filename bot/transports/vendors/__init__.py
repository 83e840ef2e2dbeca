"""Vendor adapters for the HTTP gateway transport: how one vendor's callbacks become
`IncomingMessage`s and how an `OutgoingText` becomes that vendor's send request.

`neutral` is jielong's own contract (docs/http-gateway.md), which any bridge can speak;
`gewe` reads gewe-style `AddMsg` callbacks and sends through its REST text API. Nothing here
does I/O: the transport (bot/transports/http.py) owns the server and the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Protocol

from bot.events import Capabilities, IncomingMessage, OutgoingText, SendResult


class BadPayload(ValueError):
    """A callback that cannot be read: answered 400 with this one-line reason."""


class VendorConfigError(ValueError):
    """A vendor setting missing or wrong at start-up: one line, exit non-zero."""


@dataclass(frozen=True)
class SendRequest:
    url: str
    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Vendor(Protocol):
    name: str
    capabilities: Capabilities

    def incoming(self, data: Any, tz: tzinfo) -> IncomingMessage | None:
        """The message in a callback body (parsed JSON); None for a callback that carries no
        message for the bot (a connectivity test, a contact update, the bot's own message)."""

    def request(self, out: OutgoingText) -> SendRequest:
        """The HTTP request that delivers `out`."""

    def result(self, status: int, body: bytes) -> SendResult:
        """How a send went, from the vendor's answer."""


def make_vendor(name: str, send_url: str, env: Mapping[str, str]) -> Vendor:
    from bot.transports.vendors import gewe, neutral

    makers: dict[str, Callable[[str, Mapping[str, str]], Vendor]] = {
        "neutral": neutral.Neutral.from_env, "gewe": gewe.Gewe.from_env}
    if name not in makers:
        raise VendorConfigError(f"unknown vendor {name!r} (known: {', '.join(sorted(makers))})")
    return makers[name](send_url, env)


VENDOR_NAMES = ("neutral", "gewe")
