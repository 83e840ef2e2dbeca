"""The platform's evening summary and the dashboard's queries on a large platform.

Builds a platform of --groups groups (five to a leader), each with --orders counted orders of
one campaign on one day, then times: the platform's summary text (and its length), the
picture (where this version draws one), and the dashboard's queries for the day's page and
the campaign's page. Run it on a checkout of main too for the before figures (the same
database is built; only what that version has is timed).

    python scripts/bench_summary.py --groups 10000 --orders 10 [--db URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from bot import summaries  # noqa: E402
from storage.db import open_db  # noqa: E402
from storage.models import Chain, EntryRow, Group, ItemStatus, Leader, OrderItem, ProductRow  # noqa: E402
from storage.setup import apply_setup, load_setup_text  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 25, tzinfo=TZ)
SETUP = (Path(__file__).resolve().parents[1] / "bot" / "demo" / "setup.toml").read_text(encoding="utf-8")


def calibration() -> float:
    started = time.time()
    sum(range(50_000_000))
    return round(time.time() - started, 2)


def build(sessions, groups: int, orders: int) -> int:
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions.begin() as session:
        products = list(session.scalars(select(ProductRow).where(ProductRow.campaign_id == "fruit-1125")))
        base = (session.scalar(select(func.max(Group.id))) or 0) + 1
        session.execute(insert(Leader), [{"id": f"wxid_leader{k}", "name": f"团长{k}", "active": False}
                                         for k in range(0, groups, 5)])
        session.execute(insert(Group), [{"id": base + k, "chat_id": f"room{k}@chatroom", "name": f"幸福里{k}号群",
                                         "leader_id": f"wxid_leader{k - k % 5}", "greeted": True}
                                        for k in range(groups)])
        session.execute(insert(Chain), [{"id": base + k, "group_id": base + k, "campaign_id": "fruit-1125",
                                         "chain_key": "fruit-1125|周三水果团", "kind": "chain", "title": "周三水果团",
                                         "created_at": DAY, "version": 1} for k in range(groups)])
    entry_id = 0
    for start in range(0, groups, 1000):
        entries, items = [], []
        for k in range(start, min(groups, start + 1000)):
            for n in range(orders):
                entry_id += 1
                at = DAY.replace(hour=9 + n % 13, minute=k % 60)
                product = products[(k + n) % len(products)]
                entries.append({"id": entry_id, "chain_id": base + k, "entry_key": f"k{entry_id}",
                                "line_hash": f"h{entry_id}", "author_id": f"wxid_m{k}_{n}", "author_name": f"邻居{n}",
                                "seq": n + 1, "raw": f"邻居{n} {product.name}1", "status": "ok", "missing": False,
                                "paid": n % 3 == 0, "first_seen": at, "last_changed": at})
                items.append({"entry_id": entry_id, "campaign_id": "fruit-1125", "group_id": base + k,
                              "leader_id": f"wxid_leader{k - k % 5}", "member_id": f"wxid_m{k}_{n}",
                              "product_id": product.id, "sku": product.sku, "product_name": product.name,
                              "text": product.name, "qty": Decimal(1), "unit": product.unit,
                              "unit_price": product.price, "amount": product.price,
                              "status": ItemStatus.UNMATCHED if n == 7 else ItemStatus.OK, "score": 100.0,
                              "first_seen": at, "last_changed": at})
        with sessions.begin() as session:
            session.execute(insert(EntryRow), entries)
            session.execute(insert(OrderItem), items)
    return entry_id


def timed(label: str, repeat: int, run) -> object:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    print(f"  {label:<44} best {min(times) * 1000:8.1f} ms   median {statistics.median(times) * 1000:8.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=10, help="orders per group")
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory(prefix="jielong-bench-")
    url = args.db or f"sqlite:///{Path(folder.name) / 'bench.db'}"
    sessions = open_db(url)
    print(f"calibration {calibration()} s; {url.split(':')[0]}; {args.groups} groups × {args.orders} orders")
    started = time.perf_counter()
    entries = build(sessions, args.groups, args.orders)
    print(f"  built {entries} orders in {time.perf_counter() - started:.1f} s")
    start, end = DAY, DAY.replace(day=26)
    with sessions() as session:
        text = timed("platform summary text", args.repeat, lambda: summaries.admin_summary(session, start, end))
        print(f"  platform summary: {len(text.splitlines())} lines, {len(text)} characters")
        if hasattr(summaries, "day_picture"):
            png = timed("platform summary picture (PNG)", args.repeat, lambda: summaries.day_picture(session, start, end))
            print(f"  picture: {len(png or b'') // 1024} KiB")
        try:
            from storage import dashboard
        except ImportError:
            return
        day, campaign = dashboard.Scope(start=start, end=end), dashboard.Scope("fruit-1125")
        timed("dashboard day: totals", args.repeat, lambda: dashboard.totals(session, day))
        timed("dashboard day: top 20 groups", args.repeat, lambda: dashboard.sales_by_group(session, day, 20))
        timed("dashboard day: products", args.repeat, lambda: dashboard.sales_by_product(session, day, 20))
        timed("dashboard campaign: totals", args.repeat, lambda: dashboard.totals(session, campaign))
        timed("dashboard campaign: groups page 100", args.repeat,
              lambda: dashboard.sales_by_group(session, campaign, 50, 4950))
        found = dashboard.campaign_summaries(session, ids=["fruit-1125"]).rows
        assert found
        from storage.lookup import find_campaign

        fruit = find_campaign(session, "fruit-1125")
        timed("dashboard campaign: orders per hour", args.repeat, lambda: dashboard.orders_per_hour(session, fruit))
        timed("dashboard campaign: queue counts", args.repeat, lambda: dashboard.queue_counts(session, ["fruit-1125"]))
        timed("dashboard: unpaid, first page", args.repeat, lambda: dashboard.unpaid_orders(session, None, 50))
        timed("dashboard: review, first page", args.repeat, lambda: dashboard.review_items(session, None, 50))
    sessions.kw["bind"].dispose()


if __name__ == "__main__":
    main()
