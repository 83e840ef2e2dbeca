"""Migration 0005 carries a 0004 database forward (SQLite and PostgreSQL): existing orders get
numbers in the order they were first seen, existing items the commission rate in force, the
rate history starts with the set-up's rates, and the bot goes on numbering from there."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from storage.db import make_engine, open_db, upgrade
from storage.models import EntryRow, OrderCounter
from tests.storage.helpers import GROUP, Feed, at, line

D = Decimal


def _migrate(engine, revision: str) -> None:
    upgrade(engine, revision)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


# (id, seq, author, raw, status, first event kind, first seen): two members both wrote "2.";
# a cancellation line; someone else's change kept for review; a line written after the deadline.
ENTRIES = [
    (1, 1, "wxid_wang", "王姐 西瓜2个", "ok", "created", at(10)),
    (2, 2, "wxid_zhang", "张叔 西瓜1个", "cancelled", "created", at(10, 5)),
    (3, 2, "wxid_liu", "刘姐 西瓜1个", "ok", "created", at(10, 6)),
    (4, 2, "wxid_zhang", "张叔 西瓜1个 取消", "cancelled", "cancelled", at(10, 7)),
    (5, 1, "wxid_si", "王姐 西瓜9个", "review", "review", at(10, 8)),
    (6, 4, "wxid_late", "晚到 西瓜1个", "late", "late", at(23)),
]


def test_a_0004_database_is_carried_forward(db_url):
    engine = make_engine(db_url)
    _migrate(engine, "0004")
    with engine.begin() as c:
        c.execute(text("INSERT INTO platform (id, name, timezone, commission_rate) VALUES (1, 'p', 'Asia/Shanghai', 0.10)"))
        c.execute(text("INSERT INTO leaders (id, name, commission_rate, active) VALUES "
                       "('wxid_li', '李姐', 0.12, true), ('wxid_zhou', '老周', NULL, true)"))
        c.execute(text("INSERT INTO groups (id, chat_id, name, leader_id, greeted) VALUES "
                       "(1, :g, :g, 'wxid_li', false), (2, '翠苑二区邻里群', '翠苑二区邻里群', 'wxid_zhou', false)"),
                  {"g": GROUP})
        c.execute(text("INSERT INTO campaigns (id, title, opens, deadline, pickup_place, link, all_groups) VALUES "
                       "('fruit-1124', '周三水果团', :o, :d, '', '', true)"), {"o": _utc(at(9)), "d": _utc(at(22))})
        c.execute(text("INSERT INTO products (id, campaign_id, sku, name, price, unit, aliases, position) VALUES "
                       "(1, 'fruit-1124', 'XG01', '麒麟西瓜', 15, '个', '[]', 0)"))
        c.execute(text("INSERT INTO product_prices (product_id, price, valid_from) VALUES (1, 15, NULL)"))
        c.execute(text("INSERT INTO chains (id, group_id, campaign_id, chain_key, kind, title, created_at, version) "
                       "VALUES (1, 1, 'fruit-1124', 'fruit-1124:周三水果团', 'chain', '周三水果团', :t, 9), "
                       "(2, 2, 'fruit-1124', 'fruit-1124:周三水果团', 'chain', '周三水果团', :t, 1)"),
                  {"t": _utc(at(10))})
        for entry_id, seq, author, raw, status, kind, seen in ENTRIES:
            c.execute(text("INSERT INTO entries (id, chain_id, entry_key, line_hash, author_id, author_name, seq, raw, "
                           "status, missing, paid, first_seen, last_changed) VALUES "
                           "(:id, 1, :key, :key, :author, '', :seq, :raw, :status, false, false, :seen, :seen)"),
                      dict(id=entry_id, key=f"k{entry_id}", author=author, seq=seq, raw=raw, status=status,
                           seen=_utc(seen)))
            c.execute(text("INSERT INTO entry_events (entry_id, kind, actor_id, at) VALUES (:id, :kind, :author, :seen)"),
                      dict(id=entry_id, kind=kind, author=author, seen=_utc(seen)))
            if kind == "cancelled":
                continue
            c.execute(text("INSERT INTO order_items (entry_id, campaign_id, group_id, leader_id, member_id, product_id, "
                           "sku, product_name, text, qty, unit, unit_price, amount, status, score, first_seen, "
                           "last_changed) VALUES (:id, 'fruit-1124', 1, 'wxid_li', :author, 1, 'XG01', '麒麟西瓜', "
                           ":raw, 1, '个', 15, 15, :status, 100, :seen, :seen)"),
                      dict(id=entry_id, author=author, raw=raw, status=status, seen=_utc(seen)))
        # 老周's group: an entry of his own, and an item with no leader at all
        c.execute(text("INSERT INTO entries (id, chain_id, entry_key, line_hash, author_id, author_name, seq, raw, "
                       "status, missing, paid, first_seen, last_changed) VALUES "
                       "(7, 2, 'k7', 'k7', 'wxid_qian', '', 1, '钱姨 西瓜4个', 'ok', false, false, :t, :t)"),
                  {"t": _utc(at(11))})
        c.execute(text("INSERT INTO entry_events (entry_id, kind, actor_id, at) VALUES (7, 'created', 'wxid_qian', :t)"),
                  {"t": _utc(at(11))})
        c.execute(text("INSERT INTO order_items (entry_id, campaign_id, group_id, leader_id, member_id, product_id, sku, "
                       "product_name, text, qty, unit, unit_price, amount, status, score, first_seen, last_changed) "
                       "VALUES (7, 'fruit-1124', 2, 'wxid_zhou', 'wxid_qian', 1, 'XG01', '麒麟西瓜', '西瓜4个', 4, "
                       "'个', 15, 60, 'ok', 100, :t, :t), (7, 'fruit-1124', 2, NULL, 'wxid_qian', NULL, NULL, NULL, "
                       "'榴莲', 1, '', 0, 0, 'unmatched', 0, :t, :t)"), {"t": _utc(at(11))})
        if c.dialect.name == "postgresql":  # the rows above were given their ids: move the sequences past them
            for table in ("groups", "products", "chains", "entries"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    _migrate(engine, "head")
    with engine.connect() as c:
        numbers = dict(c.execute(text("SELECT id, order_no FROM entries ORDER BY id")).all())
        counters = sorted(tuple(r) for r in c.execute(text("SELECT campaign_id, group_id, last_no FROM order_counters")))
        rates = [(lid, None if r is None else D(str(r)), v) for lid, r, v in c.execute(
            text("SELECT leader_id, rate, valid_from FROM commission_rates ORDER BY id"))]
        item_rates = [D(str(r)) for (r,) in c.execute(text("SELECT commission_rate FROM order_items ORDER BY id"))]
        flags = set(c.execute(text("SELECT flags FROM entries")).scalars())
    engine.dispose()
    # 王姐 1; the two "2."s are 2 and 3; the cancellation line and the review line are no orders;
    # the late line keeps its own number 4; 老周's group counts on its own
    assert numbers == {1: 1, 2: 2, 3: 3, 4: None, 5: None, 6: 4, 7: 1}
    assert counters == [("fruit-1124", 1, 4), ("fruit-1124", 2, 1)]
    assert rates == [(None, D("0.1"), None), ("wxid_li", D("0.12"), None), ("wxid_zhou", None, None)]
    assert item_rates == [D("0.12")] * 5 + [D("0.1"), D("0.1")]  # 老周 and a leaderless item: the platform's
    assert flags == {None}

    # the bot goes on from there: the next order in 李姐's group is number 5
    sessions = open_db(db_url)
    try:
        Feed(sessions, prefix="after-").chain("wxid_chen", [line(5, "小陈", ("XG01", 1))], at(12))
        with sessions() as session:
            new = session.query(EntryRow).filter(EntryRow.author_id == "wxid_chen").one()
            assert new.order_no == 5
            assert session.get(OrderCounter, ("fruit-1124", 1)).last_no == 5
    finally:
        sessions.kw["bind"].dispose()
