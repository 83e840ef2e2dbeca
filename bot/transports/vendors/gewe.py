"""gewe-style pad-protocol gateways: `AddMsg` callbacks in, the REST text API out.

A callback (JSON) looks like:
    {"TypeName": "AddMsg", "Appid": "wx_…", "Wxid": "wxid_bot",
     "Data": {"NewMsgId": "3468…", "MsgType": 1, "CreateTime": 1740026948,
              "FromUserName": {"string": "123@chatroom"}, "ToUserName": {"string": "wxid_bot"},
              "Content": {"string": "wxid_wang:\\n1. 3栋502 王姐 西瓜2个"},
              "PushContent": "王姐 : 1. 3栋502 …", "MsgSource": "<msgsource>…<atuserlist>…"}}
- In a group (`FromUserName` ends in @chatroom) the sender is the `wxid:\\n` prefix of Content.
- MsgType 1 is text; 49 is an app message whose XML may be a native 接龙 (appmsg type 53): it
  is passed on as `raw` with `native_chain` set, so each entry keeps its author.
- The vendor redelivers on restarts and retries: (Appid, NewMsgId) is the message id.
- A message whose sender is the account itself (`Wxid`) is the bot's own: ignored.
Sending: `POST <send-url>/message/postText` with header X-GEWE-TOKEN and
`{"appId", "toWxid", "content", "ats"}`; the answer's `ret` is 200 when it went out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from bot import logs
from bot.events import Capabilities, IncomingMessage, OutgoingText, SendResult
from bot.transports import strip_mentions
from bot.transports.vendors import BadPayload, SendRequest, VendorConfigError, fields
from parsers.appmsg import looks_native, parse_native

PLATFORM = "gewe"
TEXT, APP = 1, 49
_SENDER_PREFIX = re.compile(r"^([A-Za-z0-9_@.\-]{1,128}):\n")
_AT_LIST = re.compile(r"<atuserlist>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</atuserlist>", re.S)
TOKEN_ENV, APP_ID_ENV = "JIELONG_GEWE_TOKEN", "JIELONG_GEWE_APP_ID"


@dataclass
class Gewe:
    send_url: str  # the vendor's API base, e.g. http://gewe.local:2531/v2/api
    token: str
    app_id: str | None = None  # the device of the account that sends (learned per account too)
    name: str = "gewe"
    capabilities: Capabilities = Capabilities(group_posts=True, mentions=True, private_chat=True, images=False)
    app_ids: dict[str, str] = field(default_factory=dict)  # account wxid → Appid, from callbacks

    @classmethod
    def from_env(cls, send_url: str, env: Mapping[str, str]) -> Gewe:
        token = env.get(TOKEN_ENV)
        if not token:
            raise VendorConfigError(f"{TOKEN_ENV} is not set (the vendor's X-GEWE-TOKEN)")
        logs.hide(token)
        return cls(send_url.rstrip("/"), token, env.get(APP_ID_ENV) or None)

    # --- in ----------------------------------------------------------------------------------

    def incoming(self, data: Any, tz: tzinfo) -> IncomingMessage | None:
        if not isinstance(data, dict):
            raise BadPayload("the body must be one JSON object")
        if data.get("TypeName") != "AddMsg":
            return None  # connectivity tests, contact and group updates, going offline
        body = data.get("Data")
        if not isinstance(body, dict):
            raise BadPayload("'Data' must be an object")
        account = fields.identifier(data, "Wxid")
        app_id = fields.identifier(data, "Appid", required=False)
        if app_id:
            self.app_ids[account] = app_id
        kind = body.get("MsgType")
        if kind not in (TEXT, APP):
            return None  # pictures, voice, system notices: nothing to read
        source = fields.identifier({"from": _string(body, "FromUserName")}, "from", limit=fields.MAX_CHAT)
        content = fields.text({"Content": _string(body, "Content")}, "Content", limit=fields.MAX_RAW)
        chat, sender = None, source
        if source.endswith("@chatroom"):
            chat, sender, content = source, *_split_sender(content)
        if sender == account:
            return None  # the bot's own message, echoed back
        raw, native, text = None, False, content
        if kind == APP:
            if not looks_native(content):
                return None  # links, files, mini programs
            chain = parse_native(content)
            if chain is None:
                raise BadPayload("an app message that claims to be a 接龙 but is not readable XML")
            raw, native, text = content, True, chain.title_text
        if len(text) > fields.MAX_TEXT:
            raise BadPayload(f"'Content' is longer than {fields.MAX_TEXT} characters")
        mentions = _mentions(body)
        if chat is not None and account in mentions:
            text = strip_mentions(text)  # "@团购小助手\u2005汇总" is "汇总" said to the bot
        message_id = fields.identifier(body, "NewMsgId", limit=fields.MAX_MESSAGE_ID - 40)
        return IncomingMessage(
            platform=PLATFORM,
            message_id=f"{app_id}:{message_id}" if app_id else message_id,
            chat=chat, sender=sender, sender_name=_sender_name(body) or sender, text=text,
            sent_at=fields.timestamp(body.get("CreateTime"), "CreateTime", tz),
            account=account, raw=raw, native_chain=native, mentions=mentions,
        )

    # --- out ---------------------------------------------------------------------------------

    def request(self, out: OutgoingText) -> SendRequest:
        app_id = self.app_ids.get(out.account or "") or self.app_id or next(iter(self.app_ids.values()), None)
        body = {"appId": app_id or "", "toWxid": out.to, "content": out.text,
                "ats": ",".join(out.mentions) if out.is_group else ""}
        return SendRequest(f"{self.send_url}/message/postText", body, {"X-GEWE-TOKEN": self.token})

    def result(self, status: int, body: bytes) -> SendResult:
        if not 200 <= status < 300:
            return SendResult.retry(f"the vendor answered HTTP {status}")
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return SendResult.retry("the vendor's answer is not JSON")
        ret = answer.get("ret") if isinstance(answer, dict) else None
        if ret == 200:
            return SendResult.sent()
        message = str(answer.get("msg", ""))[:200] if isinstance(answer, dict) else ""
        return SendResult.retry(f"the vendor refused it: ret={ret} {message}".strip())


def app_id_missing(vendor: Gewe) -> str | None:
    """A warning for start-up: without an app id, sends wait for the first callback."""
    if vendor.app_id:
        return None
    return f"{APP_ID_ENV} is not set: sends use the Appid of the first callback received"


def _string(body: dict, key: str) -> Any:
    """gewe wraps strings: {"string": "…"} (some builds send the bare string)."""
    value = body.get(key)
    return value.get("string") if isinstance(value, dict) else value


def _split_sender(content: str) -> tuple[str, str]:
    match = _SENDER_PREFIX.match(content)
    if match is None:
        raise BadPayload("a group message without the 'wxid:\\n' sender prefix")
    return match.group(1), content[match.end():]


def _sender_name(body: dict) -> str | None:
    """PushContent reads "王姐 : 1. 3栋502…" (or "王姐在群聊中@了你"): the name before " : "."""
    push = body.get("PushContent")
    if isinstance(push, str) and " : " in push:
        return fields.name({"n": push.split(" : ", 1)[0]}, "n")
    return None


def _mentions(body: dict) -> tuple[str, ...]:
    source = body.get("MsgSource")
    match = _AT_LIST.search(source) if isinstance(source, str) else None
    if match is None:
        return ()
    ids = [i.strip() for i in match.group(1).split(",") if i.strip()]
    return fields.mention_list({"m": ids[: fields.MAX_MENTIONS]}, "m")
