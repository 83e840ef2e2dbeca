"""Benchmarks for storage: CSV and xlsx exports over a million order items, and the cost of merging a
1000-member chain (message k holds k lines) at storage level. Prints figures.

    .venv/bin/python scripts/bench_exports.py [--db URL] [--items 1000000] [--members 1000]

Without --db each part uses a fresh SQLite file in a temporary directory. With --db (for
instance PostgreSQL) the database must be empty and is filled with synthetic rows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from parsers.model import Entry, Item, ParsedMessage
from storage.chains import apply_chain
from storage.db import open_db
from storage.exports import ExportFilter, export
from storage.log import record_message
from storage.lookup import campaign_for_group, group_for_chat
from storage.models import (
    Campaign,
    CampaignGroup,
    Chain,
    EntryRow,
    Group,
    Leader,
    OrderItem,
    Platform,
    ProductRow,
)

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def fill(sessions, n_items: int, groups: int = 200, leaders: int = 40, campaigns: int = 10,
         products: int = 20, per_entry: int = 3) -> None:
    """Synthetic orders through Core executemany: `n_items` order items in `n_items/per_entry` entries."""
    rng = random.Random(7)
    with sessions.begin() as s:
        s.execute(insert(Platform), [{"id": 1, "name": "bench", "timezone": "Asia/Shanghai",
                                      "commission_rate": Decimal("0.10")}])
        s.execute(insert(Leader), [{"id": f"L{i}", "name": f"团长{i}", "active": True,
                                    "commission_rate": Decimal("0.12") if i % 3 == 0 else None}
                                   for i in range(leaders)])
        s.execute(insert(Group), [{"id": g + 1, "chat_id": f"{g}@chatroom", "name": f"小区{g}群",
                                   "leader_id": f"L{g % leaders}", "greeted": False} for g in range(groups)])
        s.execute(insert(Campaign), [{"id": f"c{c}", "title": f"第{c}团", "opens": START + timedelta(days=3 * c),
                                      "deadline": START + timedelta(days=3 * c, hours=12), "pickup_place": "",
                                      "link": "", "all_groups": True} for c in range(campaigns)])
        s.execute(insert(ProductRow), [{"id": c * products + p + 1, "campaign_id": f"c{c}", "sku": f"S{p:03d}",
                                        "name": f"商品{p}", "price": Decimal(5 + p), "unit": "个", "aliases": [],
                                        "position": p} for c in range(campaigns) for p in range(products)])
        s.execute(insert(Chain), [{"id": c * groups + g + 1, "group_id": g + 1, "campaign_id": f"c{c}",
                                   "chain_key": f"c{c}:团", "title": "团", "created_at": START, "version": 1}
                                  for c in range(campaigns) for g in range(groups)])
    n_entries = n_items // per_entry
    batch = 20000
    item_id = 0
    for lo in range(0, n_entries, batch):
        entries, items = [], []
        for e in range(lo, min(lo + batch, n_entries)):
            c, g = e % campaigns, (e // campaigns) % groups
            seen = START + timedelta(days=3 * c, seconds=e % 40000)
            member = f"wxid_m{e % 30000}"
            entries.append({"id": e + 1, "chain_id": c * groups + g + 1, "entry_key": f"k{e}", "line_hash": f"h{e}",
                            "author_id": member, "author_name": "", "seq": e // (campaigns * groups) + 1,
                            "raw": f"{e % 30}栋{e % 700} 会员{e} 商品1 2个", "member": f"会员{e}",
                            "address": f"{e % 30}栋{e % 700}", "status": "ok", "missing": False, "paid": False,
                            "first_seen": seen, "last_changed": seen})
            for _ in range(per_entry):
                item_id += 1
                p = rng.randrange(products)
                qty = Decimal(rng.randint(1, 4))
                price = Decimal(5 + p)
                items.append({"id": item_id, "entry_id": e + 1, "campaign_id": f"c{c}", "group_id": g + 1,
                              "leader_id": f"L{g % leaders}", "member_id": member,
                              "product_id": c * products + p + 1, "sku": f"S{p:03d}", "product_name": f"商品{p}",
                              "text": f"商品{p}{qty}个", "qty": qty, "unit": "个", "unit_price": price,
                              "amount": qty * price, "status": "ok" if e % 50 else "cancelled", "score": 100.0,
                              "first_seen": seen, "last_changed": seen})
        with sessions.begin() as s:
            s.execute(insert(EntryRow), entries)
            s.execute(insert(OrderItem), items)


def bench_exports(url: str, n_items: int) -> None:
    sessions = open_db(url)
    t0 = time.perf_counter()
    fill(sessions, n_items)
    print(f"filled {n_items:,} order items in {time.perf_counter() - t0:.1f} s")
    for kind, flt in (("orders", ExportFilter()), ("statements", ExportFilter()),
                      ("orders", ExportFilter(leader="L3")), ("procurement", ExportFilter()),
                      ("pickup", ExportFilter(campaign="c1"))):
        with sessions() as session, open(os.devnull, "w", encoding="utf-8", newline="") as out:
            t0 = time.perf_counter()
            rows = export(session, kind, out, flt, TZ)
            took = time.perf_counter() - t0
        label = kind + (f" --leader {flt.leader}" if flt.leader else "") + (
            f" --campaign {flt.campaign}" if flt.campaign else "")
        verdict = "" if kind != "orders" or flt.leader else ("  OK (< 5 s)" if took < 5 else "  TOO SLOW")
        if kind == "statements":
            verdict = "  OK (< 5 s)" if took < 5 else "  TOO SLOW"
        print(f"export {label:<28} {rows:>9,} rows  {took:6.2f} s{verdict}")
    # xlsx: typed cells through openpyxl's write-only mode, some thousands of rows a second
    # (a spreadsheet's size: a leader's orders, statements; a million rows is CSV's job).
    for kind, flt in (("orders", ExportFilter(leader="L3")), ("statements", ExportFilter())):
        with sessions() as session, open(os.devnull, "wb") as out:
            t0 = time.perf_counter()
            rows = export(session, kind, out, flt, TZ, fmt="xlsx")
            took = time.perf_counter() - t0
        label = kind + (f" --leader {flt.leader}" if flt.leader else "") + " --format xlsx"
        print(f"export {label:<28} {rows:>9,} rows  {took:6.2f} s  ({rows / took:,.0f} rows/s)")
    sessions.kw["bind"].dispose()


CHAIN_SETUP_PRODUCTS = [("XG01", "麒麟西瓜", 15, "个"), ("PT01", "阳光玫瑰", 25, "串"), ("JZ01", "砂糖橘", 30, "箱")]


def bench_chain(url: str, members: int) -> None:
    """A 1000-member chain: message k is a copy holding k lines, sent by member k."""
    sessions = open_db(url)
    with sessions.begin() as s:
        s.add(Platform(id=1, name="bench", timezone="Asia/Shanghai", commission_rate=Decimal("0.1")))
        s.add(Leader(id="wxid_leader", name="团长"))
        s.flush()
        s.add(Group(id=1, chat_id="bench@chatroom", name="bench群", leader_id="wxid_leader"))
        s.add(Campaign(id="c", title="团", opens=START, deadline=START + timedelta(days=1), all_groups=True))
        s.flush()
        s.add(CampaignGroup(campaign_id="c", group_id=1))
        for i, (sku, name, price, unit) in enumerate(CHAIN_SETUP_PRODUCTS):
            s.add(ProductRow(campaign_id="c", sku=sku, name=name, price=Decimal(price), unit=unit, aliases=[],
                             position=i))
    lines = []
    for k in range(members):
        sku, name, _, unit = CHAIN_SETUP_PRODUCTS[k % 3]
        qty = k % 4 + 1
        lines.append(Entry(seq=k + 1, raw=f"{k % 30}栋{k} 会员{k} {name}{qty}{unit}", member=f"会员{k}",
                           address=f"{k % 30}栋{k}",
                           items=[Item(text=f"{name}{qty}{unit}", sku=sku, name=name, qty=qty, unit=unit,
                                       score=100)]))
    times = []
    for k in range(1, members + 1):
        when = START + timedelta(seconds=k)
        parsed = ParsedMessage(is_chain=True, title="团", chain_key="团", entries=lines[:k])
        t0 = time.perf_counter()
        with sessions.begin() as s:
            message = record_message(s, platform="bench", message_id=f"m{k}", chat_id="bench@chatroom",
                                     chat_name="bench群", sender_id=f"wxid_m{k}", sender_name=f"会员{k}",
                                     text="(copy)", sent_at=when, received_at=when)
            group = group_for_chat(s, "bench@chatroom")
            campaign = campaign_for_group(s, group, when)
            outcome = apply_chain(s, group=group, campaign=campaign, message=message, parsed=parsed,
                                  leader_ids={"wxid_leader"}, at=when)
            assert outcome.added == 1, outcome
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"apply_chain, {members}-member chain ({members * (members + 1) // 2:,} lines in {members} copies): "
          f"total {sum(times):.2f} s, median {statistics.median(times) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms per message")
    sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database (default: fresh SQLite files)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--only", choices=("exports", "chain"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "chain":
            bench_exports(args.db or f"sqlite:///{Path(tmp) / 'exports.db'}", args.items)
        if args.only != "exports":
            bench_chain(args.db or f"sqlite:///{Path(tmp) / 'chain.db'}", args.members)


if __name__ == "__main__":
    main()
