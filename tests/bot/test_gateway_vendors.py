"""The vendor adapters of the HTTP gateway, without a network: what each callback becomes, what
each send looks like, how each answer is read; and the log mask for secrets."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime

import pytest

from bot import logs
from bot.events import OutgoingText, SendStatus
from bot.transports.vendors import BadPayload, VendorConfigError, make_vendor
from bot.transports.vendors.gewe import Gewe
from bot.transports.vendors.neutral import Neutral, message_from_payload
from tests.conftest import TZ
from tests.e2e.gateway_helpers import native_chain_xml

NOW = 1764036000  # 2025-11-25 10:00 +08:00
XML = native_chain_xml("#接龙\n周三水果团", ["wxid_a", "wxid_b"], ["1. 3栋 王姐 西瓜1个", "2. 5栋 张叔 橘子1箱"])


def gewe_body(content: str, source: str = "99@chatroom", kind: int = 1, **data) -> dict:
    return {"TypeName": "AddMsg", "Appid": "wx_app", "Wxid": "wxid_bot",
            "Data": {"NewMsgId": 7001, "MsgType": kind, "CreateTime": NOW, "FromUserName": {"string": source},
                     "ToUserName": {"string": "wxid_bot"}, "Content": {"string": content}, **data}}


# --- neutral -------------------------------------------------------------------------------------

def test_neutral_reads_the_replay_line_format_and_the_extras() -> None:
    msg = message_from_payload({"id": 12, "time": "2026-11-25T10:00:00", "chat": "g@chatroom", "from": "wxid_a",
                                "name": " 王姐\u202e ", "text": "汇总", "account": "wxid_bot",
                                "mentions": ["wxid_bot"], "chat_name": "阳光"}, TZ)
    assert (msg.platform, msg.message_id, msg.chat, msg.chat_name, msg.account, msg.mentions) == (
        "http", "12", "g@chatroom", "阳光", "wxid_bot", ("wxid_bot",))
    assert msg.sent_at == datetime(2026, 11, 25, 10, tzinfo=TZ) and msg.sender_name == "王姐\u202e"
    assert not msg.native_chain and msg.raw is None


def test_neutral_strips_the_bots_own_mention_only() -> None:
    base = {"id": "1", "time": NOW, "chat": "g@chatroom", "from": "wxid_a", "account": "wxid_bot"}
    said = message_from_payload(base | {"text": "@团购小助手\u2005明细", "mentions": ["wxid_bot"]}, TZ)
    assert said.text == "明细"
    other = message_from_payload(base | {"text": "@李姐\u2005明细", "mentions": ["wxid_li"]}, TZ)
    assert other.text == "@李姐\u2005明细"


def test_neutral_defaults_private_chat_unix_time_and_native_text() -> None:
    msg = message_from_payload({"id": "p1", "time": NOW, "from": "wxid_a", "text": "汇总"}, TZ)
    assert msg.chat is None and msg.sender_name == "wxid_a" and msg.sent_at == datetime.fromtimestamp(NOW, UTC)
    native = message_from_payload({"id": "n1", "time": NOW, "chat": "g", "from": "wxid_b", "raw": XML,
                                   "native": True}, TZ)
    assert native.native_chain and native.raw == XML and native.text.startswith("#接龙\n周三水果团")


@pytest.mark.parametrize(("payload", "reason"), [
    ("text", "one JSON object"),
    ({"time": NOW, "from": "a", "text": "x"}, "missing 'id'"),
    ({"id": True, "time": NOW, "from": "a", "text": "x"}, "'id' must be a string"),
    ({"id": "1", "from": "a", "text": "x"}, "missing 'time'"),
    ({"id": "1", "time": "2026-13-45", "from": "a", "text": "x"}, "'time'"),
    ({"id": "1", "time": 10**12, "from": "a", "text": "x"}, "'time'"),
    ({"id": "1", "time": "1999-01-01T00:00:00", "from": "a", "text": "x"}, "out of range"),
    ({"id": "1", "time": NOW, "from": "a" * 129, "text": "x"}, "'from' must be 1 to 128"),
    ({"id": "1", "time": NOW, "from": "a", "text": ""}, "missing 'text'"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x" * 100_001}, "longer than"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "chat": ["g"]}, "'chat' must be a string"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "native": "yes"}, "'native' must be true or false"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "native": True, "raw": "<msg>no</msg>"}, "'native' needs"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "mentions": ["ok", 3.5]}, "'mentions' must be a string"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "mentions": ["u"] * 101}, "at most 100"),
    ({"id": "1", "time": NOW, "from": "a", "text": "x", "name": 5}, "'name' must be a string"),
])
def test_neutral_refuses_with_the_first_problem(payload, reason) -> None:
    with pytest.raises(BadPayload, match=reason.replace("(", r"\(").replace(")", r"\)")):
        message_from_payload(payload, TZ)


def test_neutral_sends_the_documented_shape_with_the_image_in_base64() -> None:
    vendor = Neutral("http://bridge/send")
    request = vendor.request(OutgoingText("g@chatroom", "到货啦", ("wxid_a",), True, "wxid_bot", b"\x89PNG"))
    assert request.url == "http://bridge/send" and request.headers == {}
    assert request.json == {"account": "wxid_bot", "to": "g@chatroom", "is_group": True, "text": "到货啦",
                            "mentions": ["wxid_a"], "image": base64.b64encode(b"\x89PNG").decode()}
    assert "image" not in vendor.request(OutgoingText("wxid_a", "hi", is_group=False)).json
    assert vendor.result(204, b"").status is SendStatus.SENT
    assert vendor.result(500, b"").status is SendStatus.RETRY and "500" in vendor.result(500, b"").detail
    assert vendor.result(404, b"").status is SendStatus.RETRY


# --- gewe ----------------------------------------------------------------------------------------

def gewe() -> Gewe:
    return Gewe("http://gewe/v2/api", "gewe-secret-token", "wx_default")


def test_gewe_group_text_takes_the_sender_from_the_prefix_and_the_mentions_from_the_source() -> None:
    msg = gewe().incoming(gewe_body("wxid_wang:\n@团购小助手\u2005汇总", PushContent="王姐 : @团购小助手 汇总",
                                    MsgSource="<msgsource><atuserlist><![CDATA[wxid_bot,wxid_x]]></atuserlist></msgsource>"),
                          TZ)
    assert (msg.platform, msg.message_id, msg.chat, msg.sender, msg.sender_name, msg.account) == (
        "gewe", "wx_app:7001", "99@chatroom", "wxid_wang", "王姐", "wxid_bot")
    assert msg.text == "汇总" and msg.mentions == ("wxid_bot", "wxid_x")  # said to the bot: the @ goes
    other = gewe().incoming(gewe_body("wxid_wang:\n@李姐\u2005在吗", MsgSource="<atuserlist>wxid_li</atuserlist>"), TZ)
    assert other.text == "@李姐\u2005在吗" and other.mentions == ("wxid_li",)
    assert msg.sent_at == datetime.fromtimestamp(NOW, UTC) and not msg.native_chain


def test_gewe_private_text_and_bare_strings() -> None:
    body = gewe_body("汇总", source="wxid_li")
    body["Data"]["Content"] = "汇总"  # some builds send bare strings
    msg = gewe().incoming(body, TZ)
    assert msg.chat is None and msg.sender == "wxid_li" and msg.text == "汇总" and msg.mentions == ()


def test_gewe_native_chain_is_passed_on_with_its_xml() -> None:
    msg = gewe().incoming(gewe_body("wxid_b:\n" + XML, kind=49), TZ)
    assert msg.native_chain and msg.raw == XML and msg.sender == "wxid_b"
    assert msg.text.startswith("#接龙\n周三水果团\n\n1. 3栋 王姐 西瓜1个")


@pytest.mark.parametrize("body", [
    {"testMsg": "回调地址链接成功！", "token": "x"},
    {"TypeName": "ModContacts", "Data": {}},
    {"TypeName": "Offline", "Wxid": "wxid_bot"},
    gewe_body("wxid_a:\n<msg><img/></msg>", kind=3),
    gewe_body("wxid_a:\n<msg><appmsg><type>5</type><title>a link</title></appmsg></msg>", kind=49),
    gewe_body("我说的", source="wxid_bot"),  # the bot's own private message echoed back
    gewe_body("wxid_bot:\n群里我说的"),  # and in a group
])
def test_gewe_callbacks_without_a_message_for_the_bot_are_ignored(body) -> None:
    assert gewe().incoming(body, TZ) is None


@pytest.mark.parametrize(("body", "reason"), [
    ([], "one JSON object"),
    ({"TypeName": "AddMsg", "Wxid": "wxid_bot", "Data": "x"}, "'Data' must be an object"),
    ({"TypeName": "AddMsg", "Data": {"MsgType": 1}}, "missing 'Wxid'"),
    (gewe_body("no prefix in a group"), "sender prefix"),
    (gewe_body("wxid_a:\n<msg><appmsg><type>53</type><title>x", kind=49), "not readable XML"),
    (gewe_body("wxid_a:\nhi", CreateTime="soon"), "'CreateTime'"),
    (gewe_body("hi", source="wxid_a", NewMsgId=None), "missing 'NewMsgId'"),
    (gewe_body(None, source="wxid_a"), "missing 'Content'"),
    (gewe_body("hi", source="bad\x01id"), "control characters"),
])
def test_gewe_refuses_what_it_cannot_read(body, reason) -> None:
    with pytest.raises(BadPayload, match=reason):
        gewe().incoming(body, TZ)


def test_gewe_sends_through_postText_with_its_token_and_the_account_app_id() -> None:
    vendor = gewe()
    request = vendor.request(OutgoingText("99@chatroom", "@王姐 到货了", ("wxid_wang", "wxid_li")))
    assert request.url == "http://gewe/v2/api/message/postText"
    assert request.headers == {"X-GEWE-TOKEN": "gewe-secret-token"}
    assert request.json == {"appId": "wx_default", "toWxid": "99@chatroom", "content": "@王姐 到货了",
                            "ats": "wxid_wang,wxid_li"}
    vendor.incoming(gewe_body("wxid_a:\nhi") | {"Appid": "wx_second", "Wxid": "wxid_bot2"}, TZ)
    assert vendor.request(OutgoingText("wxid_a", "hi", is_group=False, account="wxid_bot2")).json["appId"] == "wx_second"
    assert vendor.request(OutgoingText("wxid_a", "hi", ("x",), is_group=False)).json["ats"] == ""


@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, json.dumps({"ret": 200, "msg": "操作成功"}).encode(), SendStatus.SENT),
    (200, json.dumps({"ret": 500, "msg": "发送失败"}).encode(), SendStatus.RETRY),
    (200, b"<html>", SendStatus.RETRY),
    (502, b"", SendStatus.RETRY),
])
def test_gewe_answers(status, body, expected) -> None:
    assert gewe().result(status, body).status is expected


def test_make_vendor_reads_its_settings_from_the_environment() -> None:
    assert make_vendor("neutral", "http://x/send", {}).name == "neutral"
    made = make_vendor("gewe", "http://x/v2/api/", {"JIELONG_GEWE_TOKEN": "tok-123456", "JIELONG_GEWE_APP_ID": "wx1"})
    assert (made.send_url, made.app_id) == ("http://x/v2/api", "wx1")
    with pytest.raises(VendorConfigError, match="JIELONG_GEWE_TOKEN"):
        make_vendor("gewe", "http://x", {})
    with pytest.raises(VendorConfigError, match="unknown vendor"):
        make_vendor("itchat", "http://x", {})


# --- the log mask --------------------------------------------------------------------------------

def test_secrets_are_masked_in_every_log_line(caplog) -> None:
    logs.hide("s3cret-value-42")
    logs.hide("ab")  # too short to mask safely: ignored
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "token<%s> and %s", ("s3cret-value-42", "ab"), None)
    assert logs.RedactSecrets().filter(record) and record.getMessage() == "token<***> and ab"
    try:
        raise RuntimeError("refused s3cret-value-42")
    except RuntimeError:
        import sys

        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    logs.RedactSecrets().filter(failing)
    assert "s3cret-value-42" not in failing.exc_text and "refused ***" in failing.exc_text
