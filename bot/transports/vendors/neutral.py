"""jielong's own gateway contract (docs/http-gateway.md): any bridge can speak it.

In: one JSON object per message, the replay line format (`id`, `time`, `chat`, `from`,
`name`, `text`) plus optional `chat_name`, `raw`, `account`, `mentions` and `native` (the
gateway vouches that `raw` is a real native 接龙's XML, so its per-entry authors are trusted).
Out: `POST <send-url>` with `{"account", "to", "is_group", "text", "mentions"}` and, when
the message has a picture, `"image"` (PNG, base64). Any 2xx answer means sent.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from bot.events import Capabilities, IncomingMessage, OutgoingText, SendResult
from bot.transports import strip_mentions
from bot.transports.vendors import BadPayload, SendRequest, fields
from parsers.appmsg import looks_native, parse_native

PLATFORM = "http"


@dataclass
class Neutral:
    send_url: str
    name: str = "neutral"
    capabilities: Capabilities = Capabilities(group_posts=True, mentions=True, private_chat=True, images=True)

    @classmethod
    def from_env(cls, send_url: str, env: Mapping[str, str]) -> Neutral:
        return cls(send_url)

    def incoming(self, data: Any, tz: tzinfo) -> IncomingMessage:
        return message_from_payload(data, tz)

    def request(self, out: OutgoingText) -> SendRequest:
        body: dict[str, Any] = {"account": out.account, "to": out.to, "is_group": out.is_group,
                                "text": out.text, "mentions": list(out.mentions)}
        if out.image is not None:
            body["image"] = base64.b64encode(out.image).decode("ascii")
        return SendRequest(self.send_url, body)

    def result(self, status: int, body: bytes) -> SendResult:
        if 200 <= status < 300:
            return SendResult.sent()
        return SendResult.retry(f"the send URL answered HTTP {status}")


def message_from_payload(data: Any, tz: tzinfo) -> IncomingMessage:
    """One neutral message, checked field by field; BadPayload names the first problem."""
    if not isinstance(data, dict):
        raise BadPayload("the body must be one JSON object")
    text = fields.text(data, "text", required=False)
    raw = fields.text(data, "raw", limit=fields.MAX_RAW, required=False)
    native = fields.flag(data, "native")
    if native and not (raw and looks_native(raw)):
        raise BadPayload("'native' needs 'raw' holding a native 接龙 (appmsg type 53) XML")
    if native and not text:
        chain = parse_native(raw)
        text = chain.title_text if chain else ""
    if not text:
        raise BadPayload("missing 'text'")
    sender = fields.identifier(data, "from")
    chat = fields.identifier(data, "chat", limit=fields.MAX_CHAT, required=False)
    account = fields.identifier(data, "account", required=False)
    mentions = fields.mention_list(data)
    if chat is not None and account is not None and account in mentions and not native:
        text = strip_mentions(text)  # "@团购小助手\u2005汇总" is "汇总" said to the bot
    return IncomingMessage(
        platform=PLATFORM,
        message_id=fields.identifier(data, "id", limit=fields.MAX_MESSAGE_ID),
        chat=chat,
        sender=sender,
        sender_name=fields.name(data, "name") or sender,
        text=text,
        sent_at=fields.timestamp(data.get("time"), "time", tz),
        chat_name=fields.name(data, "chat_name") or chat,
        account=account,
        raw=raw,
        native_chain=native,
        mentions=mentions,
    )
