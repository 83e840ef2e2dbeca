"""X6: per-chat lock tables stay as small as the work in flight, and still exclude."""

from __future__ import annotations

import asyncio
import threading
import time

from bot.events import IncomingMessage
from bot.locks import KeyedAsyncLocks, KeyedLocks
from tests.conftest import at


def test_forty_thousand_senders_leave_no_lock_behind():
    """X6: the review's 40,000 private senders: the table is empty afterwards (it kept 40,000)."""
    locks = KeyedLocks()
    for n in range(40_000):
        with locks.hold(f"private:wxid_{n}"):
            assert len(locks) == 1
    assert len(locks) == 0


def test_the_app_keeps_no_lock_per_chat_it_has_seen(app):
    """X6 through the app: 300 members write privately and 100 groups speak; no lock stays."""
    for n in range(300):
        app.feed(IncomingMessage("fake", f"p{n}", None, f"wxid_{n}", f"会员{n}", "帮助", at(25, 9)))
    for n in range(100):
        app.feed(IncomingMessage("fake", f"g{n}", f"{n}@chatroom", "wxid_x", "x", "好的", at(25, 9)))
    assert len(app._locks) == 0


def test_one_key_one_holder_other_keys_go_on():
    locks = KeyedLocks()
    inside, order = threading.Event(), []

    def slow() -> None:
        with locks.hold("群A"):
            inside.set()
            time.sleep(0.2)
            order.append("first")

    def same() -> None:
        with locks.hold("群A"):
            order.append("second")

    first = threading.Thread(target=slow)
    first.start()
    assert inside.wait(5)
    started = time.monotonic()
    with locks.hold("群B"):  # another chat: no waiting
        assert time.monotonic() - started < 0.1
    second = threading.Thread(target=same)
    second.start()
    with locks.try_hold("群A") as held:
        assert held is False
    first.join()
    second.join()
    assert order == ["first", "second"]
    assert len(locks) == 0
    with locks.try_hold("群A") as held:
        assert held is True


def test_a_holder_that_raises_frees_its_key():
    locks = KeyedLocks()
    try:
        with locks.hold("群A"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert len(locks) == 0
    with locks.try_hold("群A") as held:
        assert held


def test_async_locks_serialise_a_chat_and_are_freed():
    async def scenario() -> list[str]:
        locks, order = KeyedAsyncLocks(), []

        async def handle(key: str, name: str, pause: float) -> None:
            async with locks.hold(key):
                order.append(f"{name} in")
                await asyncio.sleep(pause)
                order.append(f"{name} out")

        await asyncio.gather(handle("群A", "a1", 0.05), handle("群A", "a2", 0), handle("群B", "b", 0))
        for n in range(5_000):
            async with locks.hold(f"private:{n}"):
                pass
        assert len(locks) == 0
        return order

    order = asyncio.run(scenario())
    assert order.index("a1 out") < order.index("a2 in")
    assert order.index("b out") < order.index("a1 out")  # 群B did not wait for 群A


def test_the_wechaty_transport_uses_the_bounded_table():
    from bot.transports.wechaty import WechatyTransport

    transport = WechatyTransport(app=None, endpoint="127.0.0.1:1", token="t")
    assert isinstance(transport._chat_locks, KeyedAsyncLocks)
