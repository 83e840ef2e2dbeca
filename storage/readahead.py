"""Run a producer on a second thread a few items ahead of its consumer.

Database drivers release the GIL while a statement runs, so a thread reading the next chunk
of an export overlaps the consumer's formatting and writing of the last one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """`items`, produced on a second thread at most `depth` ahead. An exception in the producer
    is raised here; however the consumer stops, the producer is stopped and its thread joined
    before this generator ends, so whatever it used (a database connection) is free again."""
    handoff: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def offer(entry) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_DONE, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            offer((_DONE, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # on this thread: a generator's clean-up uses what it was reading from

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()
