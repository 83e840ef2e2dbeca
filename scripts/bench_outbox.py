"""The outbox as its history grows (the review's X3): a private command answered through
App.feed, and an idle flush, with 0, 100k and 1M sent messages in the outbox, on SQLite and
PostgreSQL. Each figure is the median of --repeat runs.

    .venv/bin/python scripts/bench_outbox.py [--rows 0,100000,1000000] [--repeat 20] [--pg URL]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.app import App  # noqa: E402
from bot.context import AppContext, SettableClock, Settings  # noqa: E402
from bot.events import IncomingMessage, SendResult  # noqa: E402
from storage.db import open_db  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 25, 10, tzinfo=TZ)
HISTORY = datetime(2026, 1, 1, tzinfo=TZ)


def fill_history(sessions, rows: int) -> None:
    """`rows` messages sent long ago, written by the database itself (seconds, not minutes)."""
    if not rows:
        return
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(
                "INSERT INTO outbox (\"to\", is_group, text, mentions, kind, created_at, sent_at) "
                "SELECT 'room' || (n % 500) || '@chatroom', true, '接龙已有' || n || '单', '[]', 'digest', "
                "       :at + n * interval '1 second', :at + n * interval '1 second' "
                "FROM generate_series(1, :rows) AS n"), {"at": HISTORY, "rows": rows})
            session.execute(text("ANALYZE outbox"))
        else:
            at = HISTORY.astimezone(ZoneInfo("UTC")).replace(tzinfo=None).isoformat(sep=" ")
            session.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO outbox (\"to\", is_group, text, mentions, kind, created_at, sent_at) "
                "SELECT 'room' || (i % 500) || '@chatroom', 1, '接龙已有' || i || '单', '[]', 'digest', "
                "       datetime(:at, '+' || i || ' seconds'), datetime(:at, '+' || i || ' seconds') FROM n"),
                {"at": at, "rows": rows})
            session.execute(text("ANALYZE"))


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.2f}"


def measure(url: str, rows: int, repeat: int) -> tuple[str, str]:
    sessions = open_db(url)
    fill_history(sessions, rows)
    clock = SettableClock(START)
    app = App(AppContext(sessions, clock, Settings()))
    command, flush = [], []
    for n in range(repeat + 2):  # the first two warm up (parser tables, statement caches)
        clock.advance(timedelta(seconds=10))  # past any pacing: every reply goes at once
        msg = IncomingMessage("bench", f"help-{n}", None, "wxid_bench", "bench", "帮助", clock())
        started = time.perf_counter()
        for out in app.feed(msg):
            app.report(out, SendResult.sent())
        took = time.perf_counter() - started
        started = time.perf_counter()
        app.flush()
        if n >= 2:
            command.append(took)
            flush.append(time.perf_counter() - started)
    sessions.kw["bind"].dispose()
    return median_ms(command), median_ms(flush)


def with_postgres(admin_url: str, fn) -> None:
    name = f"jielong_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL: skipped ({exc.__class__.__name__}: not reachable at {admin_url})")
        return
    try:
        fn(admin_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="0,100000,1000000", help="outbox history sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    print("median ms           rows | command (feed 帮助 + report) | idle flush")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            command, flush = measure(f"sqlite:///{tmp}/outbox.db", size, args.repeat)
        print(f"SQLite      {size:>11,} | {command:>28} | {flush:>10}")
    for size in sizes:
        result: list[tuple[str, str]] = []
        with_postgres(args.pg, lambda url, size=size, result=result: result.append(measure(url, size, args.repeat)))
        if result:
            print(f"PostgreSQL  {size:>11,} | {result[0][0]:>28} | {result[0][1]:>10}")


if __name__ == "__main__":
    main()
