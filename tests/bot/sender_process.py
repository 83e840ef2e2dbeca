"""One sending process for the multi-process tests: `python -m tests.bot.sender_process URL
ACCOUNTS SECONDS` says it is ready, waits for a line on stdin, then flushes the outbox for
ACCOUNTS ("-": all) until it has found nothing for half a second (SECONDS at most), "delivers"
every message it is handed, reports it sent and prints one JSON line per delivery."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import App
from bot.context import AppContext, Settings
from bot.events import SendResult
from storage.db import open_db

TZ = ZoneInfo("Asia/Shanghai")


def main(url: str, accounts: str, seconds: float) -> None:
    # Pacing is not what these tests look at: budgets wide open.
    settings = Settings(group_min_interval=timedelta(0), account_min_interval=timedelta(0), group_max_per_hour=10**6)
    app = App(AppContext(open_db(url), lambda: datetime.now(TZ), settings))
    app.serve(accounts=None if accounts == "-" else accounts.split(","))
    app.flush()  # connected, migrated, warmed up
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + seconds
    idle_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - idle_since < 0.5:
        out = app.flush()
        for message in out:
            print(json.dumps({"to": message.to, "account": message.account, "ids": list(message.outbox_ids)}),
                  flush=True)
            app.report(message, SendResult.sent())
        if out:
            idle_since = time.monotonic()
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
