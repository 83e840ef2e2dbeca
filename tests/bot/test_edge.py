"""The transport edge (bot/transports/edge.py): what every transport hands the app can be
stored on SQLite and PostgreSQL alike, or is refused with a one-line reason. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.transports.edge import MAX_TEXT_CHARS, RejectedMessage, clean_message, message_from_record
from tests.conftest import TZ

AT = datetime(2026, 11, 25, 10, tzinfo=TZ)
GOOD = dict(message_id="m1", chat="111@chatroom", sender="wxid_wang", sender_name="王姐", text="西瓜1个", sent_at=AT,
            chat_name="阳光小区3期团购群")
RECORD = {"id": "m1", "time": "2026-11-25T10:00:00+08:00", "chat": "阳光小区3期团购群", "from": "wxid_wang",
          "name": "王姐", "text": "#接龙\n1. 王姐 西瓜1个"}


def test_a_clean_message_passes_unchanged() -> None:
    msg = clean_message("wechaty", **GOOD)
    assert (msg.platform, msg.message_id, msg.chat, msg.sender, msg.sender_name, msg.text, msg.sent_at,
            msg.chat_name, msg.native_chain) == ("wechaty", "m1", "111@chatroom", "wxid_wang", "王姐", "西瓜1个", AT,
                                                 "阳光小区3期团购群", False)


@pytest.mark.parametrize(("field", "value", "stored"), [
    ("text", "1. 王姐\x00 西瓜1个", "1. 王姐\ufffd 西瓜1个"),  # H9: PostgreSQL refuses NUL
    ("text", "1. 王姐\ud800 西瓜1个", "1. 王姐\ufffd 西瓜1个"),  # H10: no driver encodes a lone surrogate
    ("sender_name", "钱\udc80哥", "钱\ufffd哥"),
    ("sender_name", "钱\x00哥", "钱\ufffd哥"),
    ("sender_name", "长" * 250, "长" * 200),  # H14: a display name is cut to its column
    ("chat_name", "群" * 201, "群" * 200),
    ("sender_name", "", "wxid_wang"),  # no name: the id stands in
    ("text", "🍉" * 1000 + "\u200b\u202e\x1b[31m", "🍉" * 1000 + "\u200b\u202e\x1b[31m"),  # H11 held: kept as is
], ids=["nul-text", "surrogate-text", "surrogate-name", "nul-name", "long-name", "long-topic", "empty-name",
        "controls-kept"])
def test_unstorable_characters_are_replaced_and_names_cut(field: str, value: str, stored: str) -> None:
    """H9/H10/H14: values the database will not take become ones it will."""
    msg = clean_message("wechaty", **{**GOOD, field: value})
    assert getattr(msg, field) == stored


@pytest.mark.parametrize(("changes", "reason"), [
    ({"message_id": "x" * 201}, "'id' is longer than 200 characters (201)"),
    ({"chat": "c" * 201}, "'chat' is longer than 200 characters"),
    ({"sender": "w" * 129}, "'from' is longer than 128 characters"),
    ({"account": "a" * 129}, "'account' is longer than 128 characters"),
    ({"message_id": ["m1"]}, "'id' must be a string, not a list"),
    ({"chat": {"x": 1}}, "'chat' must be a string, not an object"),
    ({"sender": True}, "'from' must be a string, not true/false"),
    ({"message_id": "  "}, "'id' is empty"),
    ({"text": None}, "'text' must be a string"),
    ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "'text' is longer than 500,000 characters"),
    ({"sent_at": datetime(2026, 11, 25, 10)}, "'time' has no time zone"),
    ({"sent_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8)))}, "'time' 0001-01-01T00:00:00+08:00 is not"),
    ({"sent_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC)}, "'time' 9999-12-31T23:59:00+00:00 is not between"),
    ({"sent_at": "2026-11-25T10:00:00+08:00"}, "'time' must be a date and time"),
    ({"native_chain": True}, "'native' needs 'raw'"),
], ids=["long-id", "long-chat", "long-sender", "long-account", "id-list", "chat-dict", "sender-bool", "blank-id",
        "no-text", "huge-text", "naive-time", "year-1", "year-9999", "time-string", "native-without-raw"])
def test_values_that_cannot_be_stored_as_they_are_are_refused_with_a_reason(changes: dict, reason: str) -> None:
    """H14/H19/H21 and X4: an id is never cut (it could name someone else): the message is refused."""
    with pytest.raises(RejectedMessage) as refused:
        clean_message("wechaty", **{**GOOD, **changes})
    assert str(refused.value).startswith(reason)


def test_mentions_keep_only_user_ids() -> None:
    msg = clean_message("wechaty", **GOOD, mentions=("wxid_bot", 3, "w" * 300, ""))
    assert msg.mentions == ("wxid_bot",)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"id": ["j6"]}, "'id' must be a string, not a list"),
    ({"chat": {"x": 1}}, "'chat' must be a string, not an object"),
    ({"from": ["wxid_b"]}, "'from' must be a string, not a list"),
    ({"name": 3.5}, "'name' must be a string, not a number"),
    ({"id": True}, "'id' must be a string, not true/false"),
    ({"id": 7}, "'id' must be a string, not a number"),
    ({"time": 1764036000}, "'time' must be an ISO 8601 string"),
    ({"time": "2026-11-25"}, "bad time '2026-11-25': a date without a time of day"),
    ({"time": "0001-01-01T00:00:00+08:00"}, "'time' 0001-01-01T00:00:00+08:00 is not between 2000 and 2100"),
    ({"time": "9999-12-31T23:59:00+08:00"}, "'time' 9999-12-31T23:59:00+08:00 is not between"),
    ({"native": "yes", "raw": "<msg/>"}, "'native' must be true or false"),
    ({"native": True}, "'native' needs 'raw'"),
    ({"raw": 5}, "'raw' must be a string"),
    ({"mentions": "wxid_a"}, "'mentions' must be a list of user ids"),
    ({"text": ""}, "missing 'text'"),
], ids=["id-list", "chat-dict", "from-list", "name-number", "id-bool", "id-number", "time-number", "date-only",
        "year-1", "year-9999", "native-not-bool", "native-without-raw", "raw-number", "mentions-string", "empty-text"])
def test_records_of_the_wrong_type_are_refused_naming_the_key(changes: dict, reason: str) -> None:
    """H19/H21 (U3): a record is what it says, or it is refused: never stored as a Python repr."""
    with pytest.raises(RejectedMessage) as refused:
        message_from_record("replay", {**RECORD, **changes}, TZ)
    assert str(refused.value).startswith(reason)


def test_a_record_reads_naive_times_in_the_platform_zone_and_a_null_chat_as_private() -> None:
    msg = message_from_record("replay", {**RECORD, "time": "2026-11-25T10:00:00", "chat": None}, TZ)
    assert msg.sent_at == AT and msg.chat is None and msg.chat_name is None


def test_only_a_record_that_says_native_with_its_xml_is_a_native_chain() -> None:
    """P3: XML in the text is what a member typed; `native` with `raw` is a recorded native 接龙."""
    typed = message_from_record("replay", {**RECORD, "text": "<msg><appmsg><type>53</type></appmsg></msg>"}, TZ)
    assert not typed.native_chain and typed.raw is None
    with_raw = message_from_record("replay", {**RECORD, "raw": "<msg/>"}, TZ)
    assert not with_raw.native_chain and with_raw.raw == "<msg/>"
    native = message_from_record("replay", {**RECORD, "raw": "<msg/>", "native": True}, TZ)
    assert native.native_chain and native.raw == "<msg/>"
