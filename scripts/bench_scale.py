"""Many bot processes on one PostgreSQL (issue 14): the platform-day load through `App.feed`,
with 1, 2 and 4 worker processes. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_scale.py [--pg ADMIN_URL] [--groups 120] [--members 60]
                                            [--processes 1,2,4] [--split group|message]
                                            [--path feed|accept]

The day: every group's 接龙 grows to `--members` lines (message k of a group holds k lines),
groups interleaved by time, as in bench_replay's platform day. `--split group` hands each group
to one process (a gateway per bot account); `--split message` deals the messages out in turn,
so one group's messages reach several processes and meet on its conversation lock.

Each process feeds its share as fast as it can (a closed loop: one message at a time) and
times every `App.feed` — or, with `--path accept`, what an HTTP gateway does: `App.accept`
(the acknowledged record, committed to disk) then `App.drain` of the message's group (its
commit does not wait for the disk: what it applies is recorded already); the time is both. Database CPU is the CPU time of the server backends serving the
workers (from /proc, so the server must run on this machine; shared server processes such
as the WAL writer are not counted). The machine's other load shows in the figures: run it
more than once and quote the calibration line with them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_replay import TZ, chain_messages, setup_text  # noqa: E402
from sqlalchemy import create_engine, event, func, select, text  # noqa: E402

from bot.app import App  # noqa: E402
from bot.context import AppContext, SettableClock, Settings  # noqa: E402
from storage.db import open_db  # noqa: E402
from storage.models import MessageLog, MessageState, OrderItem  # noqa: E402
from storage.setup import apply_setup, load_setup_text  # noqa: E402

START = datetime(2026, 11, 24, 10, tzinfo=TZ)


def calibration() -> float:
    started = time.time()
    sum(range(50_000_000))
    return round(time.time() - started, 2)


def platform_day(groups: int, members: int):
    import random

    rng = random.Random(2)
    per_group = [chain_messages(f"群{g}", members, rng, START + timedelta(seconds=g), f"g{g}") for g in range(groups)]
    return sorted((m for msgs in per_group for m in msgs), key=lambda m: m.sent_at)


def shares(day, processes: int, split: str):
    out = [[] for _ in range(processes)]
    for k, msg in enumerate(day):
        n = int(msg.chat.removeprefix("群")) % processes if split == "group" else k % processes
        out[n].append(msg)
    return out


def _backend_cpu(pids: set[int]) -> float | None:
    """CPU seconds (user + system) the given server processes have used, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def worker(url: str, messages, barrier, results, path: str) -> None:
    sessions = open_db(url)
    backends: set[int] = set()

    @event.listens_for(sessions.kw["bind"], "connect")
    def _note_backend(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.add(cursor.fetchone()[0])
        dbapi_connection.commit()

    sessions.kw["bind"].dispose()
    app = App(AppContext(sessions, SettableClock(START), Settings()))
    warm = chain_messages("群0", 2, __import__("random").Random(9), START - timedelta(hours=1), f"warm{os.getpid()}")
    for msg in warm:  # the parser's tables and a connection, before the clock starts
        app.feed(msg)
    cpu_db_before = _backend_cpu(backends)
    cpu_before = time.process_time()
    barrier.wait()
    times = []
    started = time.perf_counter()
    for msg in messages:
        app.ctx.clock.set(msg.sent_at)
        t = time.perf_counter()
        if path == "feed":
            app.feed(msg)
        else:
            app.accept(msg)
            app.drain(msg.session_key)
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - started
    cpu_db_after = _backend_cpu(backends)
    db_cpu = None if cpu_db_before is None or cpu_db_after is None else cpu_db_after - cpu_db_before
    results.put((times, wall, time.process_time() - cpu_before, db_cpu))
    sessions.kw["bind"].dispose()


def run(url: str, day, processes: int, split: str, path: str) -> str:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, share, barrier, results, path))
             for share in shares(day, processes, split)]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.perf_counter()
    collected = [results.get(timeout=3600) for _ in procs]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join(60)
    times = sorted(t for c in collected for t in c[0])
    client_cpu = sum(c[2] for c in collected)
    db_cpus = [c[3] for c in collected]
    db_cpu = None if any(c is None for c in db_cpus) else sum(db_cpus)
    check = _check(url, len(day))
    p99 = times[int(len(times) * 0.99)] * 1000
    db = f"{db_cpu:.1f} s ({db_cpu / len(times) * 1000:.2f} ms/message)" if db_cpu is not None else "n/a"
    return (f"{processes} process{'es' if processes > 1 else ''} ({split}, {path}): {len(times)} messages in "
            f"{wall:.1f} s "
            f"= {len(times) / wall:.0f}/s; median {statistics.median(times) * 1000:.2f} ms, p99 {p99:.2f} ms; "
            f"client CPU {client_cpu:.1f} s, database CPU {db}; {check}")


def _check(url: str, expected: int) -> str:
    sessions = open_db(url)
    with sessions() as session:
        applied = session.scalar(select(func.count()).select_from(MessageLog)
                                 .where(MessageLog.state == MessageState.APPLIED,
                                        MessageLog.message_id.not_like("warm%")))
        items = session.scalar(select(func.count()).select_from(OrderItem))
    sessions.kw["bind"].dispose()
    return f"{applied}/{expected} applied, {items} order items"


def fresh_database(admin_url: str, groups: int) -> tuple[str, str]:
    name = f"jielong_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    sessions = open_db(url)
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup_text(groups)))
    sessions.kw["bind"].dispose()
    return name, url


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--groups", type=int, default=120)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--split", choices=("group", "message"), default="group")
    parser.add_argument("--path", choices=("feed", "accept"), default="feed")
    args = parser.parse_args()
    day = platform_day(args.groups, args.members)
    print(f"calibration {calibration()} s; {os.cpu_count()} cores; {args.groups} groups × {args.members} members "
          f"= {len(day)} messages")
    for processes in (int(p) for p in args.processes.split(",")):
        try:
            name, url = fresh_database(args.pg, args.groups)
        except Exception as exc:  # noqa: BLE001
            print(f"PostgreSQL: skipped ({exc.__class__.__name__}: not reachable at {args.pg})")
            return
        try:
            print(run(url, day, processes, args.split, args.path), flush=True)
        finally:
            drop_database(args.pg, name)


if __name__ == "__main__":
    main()
