"""Replay speed (issue 3's targets): chains through App.feed on SQLite and PostgreSQL.

    .venv/bin/python scripts/bench_replay.py [--pg URL] [--skip-day]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bot.app import App  # noqa: E402
from bot.context import AppContext, SettableClock, Settings  # noqa: E402
from bot.events import IncomingMessage, SendResult  # noqa: E402
from storage.db import open_db  # noqa: E402
from storage.models import OrderItem  # noqa: E402
from storage.setup import apply_setup, load_setup_text  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PRODUCTS = [("XG01", "麒麟西瓜", "个", "西瓜"), ("PT01", "阳光玫瑰", "串", "葡萄"), ("JZ01", "砂糖橘", "箱", "橘子"),
            ("JD01", "土鸡蛋", "盒", "鸡蛋"), ("RX01", "猪肉馅", "斤", ""), ("DM01", "东北大米", "袋", "大米")]
NAMES = ["王姐", "李哥", "张叔", "刘阿姨", "小陈", "赵哥", "Amy", "孙阿姨", "钱多多", "周周"]


MEAT = [("WH01", "五花肉", "斤", ""), ("PG01", "排骨", "斤", "肋排"), ("QC01", "上海青", "把", "青菜")]


def setup_text(groups: int, campaigns: int = 1) -> str:
    """A fruit campaign in every group; with campaigns=2 a meat campaign runs beside it, so
    every chain is routed to its campaign by title."""
    lines = ['timezone = "Asia/Shanghai"', "[platform]", 'name = "bench"', 'admins = ["wxid_admin"]']
    for g in range(groups):
        lines += ["[[leaders]]", f'id = "wxid_leader{g}"', f'name = "团长{g}"', f'groups = ["群{g}"]']
    for cid, title, products in (("c1", "周三水果团", PRODUCTS), ("c2", "周三肉菜团", MEAT))[:campaigns]:
        lines += ["[[campaigns]]", f'id = "{cid}"', f'title = "{title}"', "opens = 2026-11-24T09:00:00+08:00",
                  "deadline = 2026-11-24T23:00:00+08:00"]
        for sku, name, unit, alias in products:
            lines += ["[[campaigns.products]]", f'sku = "{sku}"', f'name = "{name}"', "price = 10",
                      f'unit = "{unit}"', f'aliases = ["{alias}"]' if alias else "aliases = []"]
    return "\n".join(lines)


def entry(rng: random.Random, k: int) -> str:
    sku, name, unit, alias = rng.choice(PRODUCTS)
    return f"{rng.randint(1, 30)}栋{rng.randint(101, 2802)} {rng.choice(NAMES)}{k} {alias or name}{rng.randint(1, 4)}{unit}"


def chain_messages(group: str, members: int, rng: random.Random, start: datetime, prefix: str) -> list[IncomingMessage]:
    header = "#接龙\n周三水果团 今晚11点截单\n例 3栋502 王姐 西瓜1个\n\n"
    lines: list[str] = []
    out = []
    for k in range(1, members + 1):
        lines.append(f"{k}. {entry(rng, k)}")
        out.append(IncomingMessage("bench", f"{prefix}-{k}", group, f"wxid_{prefix}_{k}", f"{NAMES[k % 10]}{k}",
                                   header + "\n".join(lines), start + timedelta(seconds=20 * k), group))
    return out


def make_app(url: str, groups: int, campaigns: int = 1) -> App:
    sessions = open_db(url)
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup_text(groups, campaigns)))
    return App(AppContext(sessions, SettableClock(datetime(2026, 11, 24, 9, tzinfo=TZ)), Settings()))


def feed_all(app: App, messages: list[IncomingMessage]) -> list[float]:
    times = []
    for msg in messages:
        app.ctx.clock.set(msg.sent_at)
        start = time.perf_counter()
        for out in app.feed(msg):
            app.report(out, SendResult.sent())  # as every transport does: only then is it sent
        times.append(time.perf_counter() - start)
    return times


def report(label: str, times: list[float], app: App) -> None:
    with app.ctx.sessions() as session:
        items = session.scalar(select(func.count(OrderItem.id)))
    ordered = sorted(times)
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    print(f"{label}: {len(times)} messages in {sum(times):.2f} s ({len(times) / sum(times):.0f}/s), "
          f"median {statistics.median(times) * 1000:.2f} ms, p99 {p99:.2f} ms, {items} order items stored")


def warm(app: App) -> None:
    rng = random.Random(9)
    feed_all(app, chain_messages("群0", 3, rng, datetime(2026, 11, 24, 9, tzinfo=TZ), "warm"))


def thousand_member_chain(url: str, label: str, campaigns: int = 1) -> None:
    app = make_app(url, 1, campaigns)
    warm(app)
    messages = chain_messages("群0", 1000, random.Random(1), datetime(2026, 11, 24, 10, tzinfo=TZ), "chain")
    beside = ", a second campaign beside it" if campaigns > 1 else ""
    report(f"{label}, 1000-member chain{beside} (message k holds k lines; target < 3 s total, p99 < 5 ms)",
           feed_all(app, messages), app)
    app.ctx.sessions.kw["bind"].dispose()


def platform_day(url: str, groups: int = 200, members: int = 150) -> None:
    app = make_app(url, groups)
    warm(app)
    rng = random.Random(2)
    per_group = [chain_messages(f"群{g}", members, rng, datetime(2026, 11, 24, 10, tzinfo=TZ) + timedelta(seconds=g),
                                f"g{g}") for g in range(groups)]
    day = sorted((m for msgs in per_group for m in msgs), key=lambda m: m.sent_at)  # groups interleave
    report(f"SQLite, a platform day ({groups} groups × {members} members; target > 1,000 messages/s)",
           feed_all(app, day), app)
    app.ctx.sessions.kw["bind"].dispose()


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-day", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        thousand_member_chain(f"sqlite:///{tmp}/chain.db", "SQLite")
        thousand_member_chain(f"sqlite:///{tmp}/two.db", "SQLite", campaigns=2)
        if not args.skip_day:
            platform_day(f"sqlite:///{tmp}/day.db")
    with_postgres(args.pg, lambda url: thousand_member_chain(url, "PostgreSQL"))


if __name__ == "__main__":
    main()
