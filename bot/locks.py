"""One lock per key (a conversation), for as long as someone holds or waits for it.

A table of locks keyed by chat grows with every group and private sender ever seen (X6: 40,000
senders, 40,000 locks, never freed). Here a key's lock exists only while it is held or awaited,
so the table is as big as the work in flight.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


class KeyedLocks:
    """Threads: `with locks.hold(key):` — one holder per key at a time, in arrival order of
    the waiters as `threading.Lock` gives it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # key → (lock, holders and waiters)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        lock = self._join(key)
        try:
            with lock:
                yield
        finally:
            self._leave(key)

    @contextmanager
    def try_hold(self, key: str) -> Iterator[bool]:
        """Like `hold`, but never waits: yields False (and holds nothing) when taken."""
        lock = self._join(key)
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            self._leave(key)

    def _join(self, key: str) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
            return lock

    def _leave(self, key: str) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


class KeyedAsyncLocks:
    """The same for coroutines of one event loop: `async with locks.hold(key):`."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
