"""A bot process for multi-process tests (run with multiprocessing's spawn): it accepts each
message handed to it (acknowledging once it is recorded, as an HTTP gateway answers 2xx) and
applies what it accepted on a second thread, like a worker behind a gateway."""

from __future__ import annotations

import queue
import threading
import time
from datetime import datetime

from bot.app import App
from bot.context import AppContext, SettableClock, Settings
from storage.db import open_db
from tests.pipeline.conversation import TZ, delivered

QUICK = Settings(retry_delays=(0.0, 0.05, 0.2))
SWEEP = "sweep"


def serve(url: str, inbox, acks, name: str, drain_delay: float = 0.0) -> None:
    sessions = open_db(url)
    app = App(AppContext(sessions, SettableClock(datetime(2026, 11, 25, 9, tzinfo=TZ)), QUICK))
    accepted: queue.Queue = queue.Queue()

    def apply_accepted() -> None:
        while (key := accepted.get()) is not None:
            time.sleep(drain_delay)
            delivered(app, app.drain(key))

    applier = threading.Thread(target=apply_accepted, daemon=True)
    applier.start()
    while (msg := inbox.get()) is not None:
        if msg == SWEEP:
            accepted.put(None)
            applier.join()
            delivered(app, app.drain())
            acks.put((SWEEP, name))
            continue
        app.accept(msg)
        acks.put((msg.message_id, name))
        accepted.put(msg.session_key)
    accepted.put(None)
    applier.join()
    sessions.kw["bind"].dispose()
