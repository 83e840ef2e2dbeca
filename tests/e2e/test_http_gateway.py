"""End to end: the real `jielong run --transport http` process, a real HTTP client posting
messages, and a fake vendor (a real local HTTP server) recording what the bot sends, failing on
purpose where the test says so. SQLite file database shared with the test."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from storage.db import open_db
from storage.models import EntryRow, MessageLog
from tests.conftest import TZ, demo_setup_text
from tests.e2e.gateway_helpers import (
    GEWE_TOKEN,
    TOKEN,
    BotProcess,
    FakeVendor,
    free_port,
    native_chain_xml,
)

GROUP = "阳光小区3期团购群"
ROOM = "4455667788@chatroom"
CHAIN_1 = "#接龙\n周三水果团\n1. 3栋502 王姐 西瓜2个 阳光玫瑰一串"
CHAIN_2 = CHAIN_1 + "\n2. 5栋1201 张叔 砂糖橘1箱 西瓜1个"

pytestmark = pytest.mark.e2e


def live_setup(tmp_path: Path, groups_of_lijie: str = f'["{GROUP}"]') -> Path:
    """The demo set-up with its campaign running now."""
    text = demo_setup_text().replace("2026-11-25T09:00:00", "2026-01-01T09:00:00").replace(
        "2026-11-25T22:00:00", "2099-12-31T22:00:00").replace("2026-11-26T16:00:00", "2100-01-01T16:00:00").replace(f'groups = ["{GROUP}"]', f"groups = {groups_of_lijie}")
    path = tmp_path / "setup.toml"
    path.write_text(text, encoding="utf-8")
    return path


def message(mid: str, sender: str, name: str, text: str, chat: str | None = GROUP, **extra) -> dict:
    return {"id": mid, "time": datetime.now(TZ).isoformat(), "chat": chat, "from": sender, "name": name,
            "text": text, **extra}


def counts(db: str) -> tuple[int, int]:
    sessions = open_db(db)
    try:
        with sessions() as session:
            logged = session.scalar(select(func.count(MessageLog.id)))
            entries = session.scalar(select(func.count(EntryRow.id)).where(EntryRow.status == "ok"))
            return logged, entries
    finally:
        sessions.kw["bind"].dispose()


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def vendor():
    fake = FakeVendor(fail_first=1)
    yield fake
    fake.close()


def _started(tmp_path: Path, vendor: FakeVendor) -> BotProcess:
    db = f"sqlite:///{tmp_path / 'live.db'}"
    process = BotProcess(db, live_setup(tmp_path), vendor.url)
    process.db = db
    process.wait_ready()
    return process


@pytest.fixture
def bot(tmp_path, vendor):
    process = _started(tmp_path, vendor)
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def refusing_bot(tmp_path_factory):
    """One process for the tests that must change nothing (the database stays empty)."""
    vendor = FakeVendor()
    process = _started(tmp_path_factory.mktemp("refusing"), vendor)
    yield process
    assert process.stop() == 0
    vendor.close()


def test_orders_are_stored_and_the_leader_gets_totals_through_the_send_url(bot, vendor) -> None:
    assert bot.post(message("m1", "wxid_wang", "王姐", CHAIN_1)).json() == {"ok": True}
    assert bot.post(message("m2", "wxid_zhang", "张叔", CHAIN_2)).status_code == 200
    assert counts(bot.db) == (2, 2)

    # The vendor fails the first send on purpose: the reply is retried, never lost.
    assert bot.post(message("m3", "wxid_lijie", "李姐", "汇总", chat=None)).status_code == 200
    reply = vendor.wait_for(lambda s: s.body["to"] == "wxid_lijie")
    failed = vendor.attempts[0]
    assert failed.status == 500
    # retried after a backoff, and after the group's own pacing (a tried send counts: 30 s)
    vendor.wait_for(lambda s: s.body["to"] == failed.body["to"] and failed.body["text"] in s.body["text"], timeout=60)
    assert reply.body["is_group"] is False and reply.body["mentions"] == []
    assert set(reply.body) == {"account", "to", "is_group", "text", "mentions"}
    for line in ("麒麟西瓜：3个，45元", "阳光玫瑰：1串，25元", "砂糖橘：1箱，30元", "共2单，100元"):
        assert line in reply.body["text"]
    assert len([s for s in vendor.delivered() if s.body["to"] == "wxid_lijie"]) == 1
    assert "retry" in bot.text() or "not delivered" in bot.text()


def test_a_redelivery_is_answered_and_changes_nothing(bot) -> None:
    first = message("r1", "wxid_wang", "王姐", CHAIN_1)
    assert bot.post(first).status_code == 200
    assert bot.post(first).status_code == 200
    assert bot.post(dict(first, text=CHAIN_2)).status_code == 200  # same id, other text: still the first
    assert counts(bot.db) == (1, 1)


@pytest.mark.parametrize(("token", "how"), [(None, "header"), ("wrong-token-0123456789", "header"),
                                            (TOKEN[:-1], "header"), ("", "query")])
def test_without_the_secret_nothing_is_recorded(refusing_bot, token, how) -> None:
    msg = message("a1", "wxid_wang", "王姐", CHAIN_1)
    if how == "query":
        answer = httpx.post(f"{refusing_bot.url}/v1/messages?token=nope", json=msg, timeout=10)
    else:
        answer = refusing_bot.post(msg, token=token)
    assert answer.status_code == 401 and answer.json() == {"error": "unauthorized"}
    assert counts(refusing_bot.db) == (0, 0)
    assert TOKEN not in refusing_bot.text()


def test_the_secret_may_come_in_the_query_for_vendors_that_only_take_a_url(bot) -> None:
    answer = httpx.post(f"{bot.url}/v1/messages?token={TOKEN}", json=message("q1", "wxid_wang", "王姐", CHAIN_1),
                        timeout=10)
    assert answer.status_code == 200 and counts(bot.db) == (1, 1)


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "one JSON object"),
    (b"\xff\xfe", "not JSON"),
    (b'{"id": "x1", "time": "2026-12-01T10:00:00", "chat": null, "name": "a", "text": "hi"}', "missing 'from'"),
    (b'{"id": "x1", "time": "yesterday", "from": "u", "text": "hi"}', "'time'"),
    (b'{"id": "x1", "time": "2026-12-01T10:00:00", "from": "u", "text": 5}', "'text' must be a string"),
    (b'{"id": "x1", "time": "2026-12-01T10:00:00", "from": "u\\nv", "text": "hi"}', "control characters"),
    (b'{"id": "x1", "time": "2026-12-01T10:00:00", "from": "u", "text": "hi", "native": true}', "'native'"),
    (b'{"id": "x1", "time": "2026-12-01T10:00:00", "from": "u", "text": "hi", "mentions": "u2"}', "'mentions'"),
    (b'{"id": "%s", "time": "2026-12-01T10:00:00", "from": "u", "text": "hi"}' % (b"9" * 201), "'id'"),
])
def test_a_body_that_cannot_be_read_is_400_with_the_reason(refusing_bot, body, reason) -> None:
    answer = httpx.post(f"{refusing_bot.url}/v1/messages", content=body, timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert answer.status_code == 400 and reason in answer.json()["error"]
    assert counts(refusing_bot.db) == (0, 0)
    assert refusing_bot.proc.poll() is None


def test_an_oversized_body_is_400_whether_declared_or_streamed(refusing_bot) -> None:
    huge = message("big", "wxid_wang", "王姐", "西瓜" * 1_100_000)
    assert "larger than" in refusing_bot.post(huge).json()["error"]

    def chunks():
        for _ in range(300):
            yield b"x" * 10_000

    answer = httpx.post(f"{refusing_bot.url}/v1/messages", content=chunks(), timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400 and "larger than" in answer.json()["error"]
    assert counts(refusing_bot.db) == (0, 0)


def test_health_needs_no_secret_and_other_vendors_are_404(bot) -> None:
    assert httpx.get(f"{bot.url}/healthz", timeout=5).json() == {"ok": True, "vendor": "neutral"}
    assert bot.post({}, path="/v1/callback/gewe").status_code == 404
    assert bot.post(message("c1", "wxid_wang", "王姐", CHAIN_1), path="/v1/callback/neutral").status_code == 200


def test_kill_9_after_2xx_loses_nothing(tmp_path, vendor) -> None:
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    bot = BotProcess(db, live_setup(tmp_path), vendor.url)
    bot.wait_ready()
    chain = "#接龙\n周三水果团"
    for n in range(1, 21):
        chain += f"\n{n}. {n}栋10{n} 邻居{n} 西瓜1个"
        assert bot.post(message(f"k{n}", f"wxid_n{n}", f"邻居{n}", chain)).status_code == 200
    bot.kill()  # SIGKILL right after the last 2xx
    assert counts(db) == (20, 20)

    again = BotProcess(db, None, vendor.url)  # and it starts again on the same database
    again.wait_ready()
    assert again.post(message("k1", "wxid_n1", "邻居1", "#接龙\n周三水果团\n1. 1栋101 邻居1 西瓜1个")).status_code == 200
    assert counts(db) == (20, 20)
    assert again.stop() == 0


def test_gewe_callbacks_keep_each_native_entry_author_and_sends_go_through_its_text_api(tmp_path) -> None:
    vendor = FakeVendor(gewe=True)
    db = f"sqlite:///{tmp_path / 'gewe.db'}"
    bot = BotProcess(db, live_setup(tmp_path, f'["{ROOM}"]'), vendor.url + "/v2/api", vendor="gewe",
                     env={"JIELONG_GEWE_TOKEN": GEWE_TOKEN, "JIELONG_GEWE_APP_ID": "wx_app_1"})
    try:
        bot.wait_ready()
        assert bot.post({"testMsg": "回调地址链接成功！"}, path="/v1/callback/gewe").json()["ignored"] is True
        lines = ["1. 3栋502 王姐 西瓜2个", "2. 5栋1201 张叔 砂糖橘1箱"]
        xml = native_chain_xml("#接龙\n周三水果团", ["wxid_wang", "wxid_zhang"], lines)
        # Posted by 张叔 (he added the last line), but 王姐 wrote the first.
        answer = bot.post(gewe_callback("9001", ROOM, "wxid_zhang", xml, kind=49), path="/v1/callback/gewe")
        assert answer.status_code == 200, answer.text
        sessions = open_db(db)
        with sessions() as session:
            authors = dict(session.execute(select(EntryRow.seq, EntryRow.author_id)).all())
            logged = session.scalars(select(MessageLog)).one()
        sessions.kw["bind"].dispose()
        assert authors == {1: "wxid_wang", 2: "wxid_zhang"}
        assert logged.native_chain and logged.raw.startswith("<?xml") and logged.account == "wxid_bot"
        assert logged.message_id == "wx_app_1:9001" and logged.sender_id == "wxid_zhang"

        # The same callback again (gewe redelivers after restarts): nothing changes.
        assert bot.post(gewe_callback("9001", ROOM, "wxid_zhang", xml, kind=49), path="/v1/callback/gewe").status_code == 200
        assert counts(db) == (1, 2)

        assert bot.post(gewe_callback("9002", "wxid_lijie", "wxid_lijie", "汇总"), path="/v1/callback/gewe").status_code == 200
        sent = vendor.wait_for(lambda s: s.body.get("toWxid") == "wxid_lijie")
        assert sent.path == "/v2/api/message/postText"
        assert sent.headers.get("X-GEWE-TOKEN") == GEWE_TOKEN and sent.body["appId"] == "wx_app_1"
        assert "共2单，" in sent.body["content"]
        assert GEWE_TOKEN not in bot.text() and TOKEN not in bot.text()
    finally:
        bot.stop()
        vendor.close()


def gewe_callback(msg_id: str, source: str, sender: str, content: str, kind: int = 1) -> dict:
    in_group = source.endswith("@chatroom")
    return {
        "TypeName": "AddMsg", "Appid": "wx_app_1", "Wxid": "wxid_bot",
        "Data": {
            "MsgId": 1, "NewMsgId": msg_id, "MsgType": kind, "CreateTime": int(time.time()),
            "FromUserName": {"string": source}, "ToUserName": {"string": "wxid_bot"},
            "Content": {"string": f"{sender}:\n{content}" if in_group else content},
            "PushContent": "张叔 : [接龙]", "MsgSource": "<msgsource></msgsource>",
        },
    }


def test_start_up_without_a_vendor_listening_warns_and_serves(tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/send"
    bot = BotProcess(f"sqlite:///{tmp_path / 'w.db'}", live_setup(tmp_path), dead)
    bot.wait_ready()
    assert bot.post(message("w1", "wxid_wang", "王姐", CHAIN_1)).status_code == 200
    assert bot.stop() == 0
    assert "replies wait in the outbox" in bot.text()
    assert "Traceback" not in bot.text()
