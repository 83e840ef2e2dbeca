"""One bot process's scheduler for the multi-process tests: `python -m tests.bot.scheduler_process
URL [--hang]` reads one ISO time a line from stdin, runs the scheduler's tick at that time and
prints one JSON line: the (key, outcome) of each scheduled post it took. With --hang it
stops for good inside its first post (holding the row), to be killed."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from bot import broadcasts, scheduler
from bot.context import AppContext, SettableClock, Settings
from bot.outbox import Outbox
from storage.db import open_db


def main(url: str, hang: bool) -> None:
    clock = SettableClock(datetime.fromisoformat("2026-11-25T08:00:00+08:00"))
    ctx = AppContext(open_db(url), clock, Settings())
    outbox = Outbox(ctx)
    if hang:
        def build_and_hang(*args, **kwargs):
            print(json.dumps({"posting": True}), flush=True)
            time.sleep(600)

        broadcasts.build_post = build_and_hang
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        now = datetime.fromisoformat(line.strip())
        clock.set(now)
        done = scheduler.tick(ctx, outbox, now).done
        print(json.dumps({"done": done}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], "--hang" in sys.argv[2:])
