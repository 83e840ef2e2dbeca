"""Shared test helpers for storage: a small set-up, and a feed of chain copies applied through
storage.ingest exactly as the bot applies them, built from hand-made Entry objects so the
tests do not depend on the parser's quality."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from parsers.model import Entry, Item, ParsedMessage, Unmatched
from storage.chains import apply_chain, apply_free_order
from storage.log import record_message
from storage.lookup import campaign_for_group, group_for_chat, leader_ids
from storage.models import Chain, EntryRow, Group, OrderItem
from storage.orders import ChainOutcome
from storage.setup import apply_setup, load_setup_text

TZ = ZoneInfo("Asia/Shanghai")
GROUP = "阳光小区3期团购群"
GROUP2 = "翠苑二区邻里群"
LEADER = "wxid_li"
TITLE = "周三水果团"

SETUP = """
[platform]
name = "你我您"
admins = ["wxid_admin"]
commission_rate = 0.10
[[leaders]]
id = "wxid_li"
name = "李姐"
groups = ["阳光小区3期团购群"]
commission_rate = 0.12
[[leaders]]
id = "wxid_zhou"
name = "老周"
groups = ["翠苑二区邻里群"]
[[campaigns]]
id = "fruit-1124"
title = "周三水果团"
opens = 2026-11-24T09:00:00+08:00
deadline = 2026-11-24T22:00:00+08:00
pickup = 2026-11-25T16:00:00+08:00
[[campaigns.products]]
sku = "XG01"
name = "麒麟西瓜"
price = 15
unit = "个"
[[campaigns.products]]
sku = "PT01"
name = "阳光玫瑰"
price = 25
unit = "串"
stock = 3
[[campaigns.products]]
sku = "JZ01"
name = "砂糖橘"
price = 9.9
unit = "斤"
"""

NAMES = {"XG01": ("麒麟西瓜", "个"), "PT01": ("阳光玫瑰", "串"), "JZ01": ("砂糖橘", "斤")}


def at(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def line(seq: int, member: str, *items: tuple[str, float], address: str | None = None,
         cancel: bool = False, author: str | None = None, extra: str = "") -> Entry:
    """An entry as the parser would give it: `line(3, "王姐", ("XG01", 2))`."""
    parsed = []
    for sku, qty in items:
        name, unit = NAMES.get(sku, (sku, ""))
        parsed.append(Item(text=f"{name}{qty:g}{unit}", sku=sku if sku in NAMES else None,
                           name=name if sku in NAMES else None, qty=qty, unit=unit, score=100.0))
    words = " ".join(x for x in (address, member, *(i.text for i in parsed), extra) if x)
    return Entry(seq=seq, raw=words, member=member, address=address, items=parsed, cancel=cancel,
                 author=author)


def load(sessions: sessionmaker[Session], text: str = SETUP) -> None:
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(text))


class Feed:
    """Chain copies and free-text orders in one group, each in its own transaction."""

    def __init__(self, sessions: sessionmaker[Session], chat: str = GROUP, prefix: str = "m"):
        self.sessions, self.chat, self.prefix, self.n = sessions, chat, prefix, 0

    def _log(self, session, sender: str, text: str, when: datetime, message_id: str | None):
        self.n += 1
        return record_message(session, platform="test", message_id=message_id or f"{self.prefix}{self.n}",
                              chat_id=self.chat, chat_name=self.chat, sender_id=sender,
                              sender_name=sender.removeprefix("wxid_"), text=text, sent_at=when,
                              received_at=when)

    def chain(self, sender: str, entries: list[Entry], when: datetime, *, message_id: str | None = None,
              session: Session | None = None) -> ChainOutcome | None:
        if session is None:
            with self.sessions.begin() as session:
                return self.chain(sender, entries, when, message_id=message_id, session=session)
        text = "#接龙\n" + TITLE + "\n" + "\n".join(f"{e.seq}. {e.raw}" for e in entries)
        message = self._log(session, sender, text, when, message_id)
        if message is None:
            return None
        group = group_for_chat(session, self.chat)
        campaign = campaign_for_group(session, group, when)
        parsed = ParsedMessage(is_chain=True, title=TITLE, chain_key=TITLE, entries=entries)
        return apply_chain(session, group=group, campaign=campaign, message=message, parsed=parsed,
                           leader_ids=leader_ids(group), at=when)

    def free(self, sender: str, text: str, items: list[Item], when: datetime,
             unmatched: list[Unmatched] | None = None) -> ChainOutcome | None:
        with self.sessions.begin() as session:
            message = self._log(session, sender, text, when, None)
            group = group_for_chat(session, self.chat)
            return apply_free_order(session, group=group, campaign=campaign_for_group(session, group, when),
                                    message=message, items=items, unmatched=unmatched or [], at=when)


def entries(session: Session) -> list[tuple]:
    """(author, raw, status, missing) of every entry, in the order first seen."""
    return [tuple(r) for r in session.execute(
        select(EntryRow.author_id, EntryRow.raw, EntryRow.status, EntryRow.missing).order_by(EntryRow.id))]


def items(session: Session, status: str | None = None) -> list[tuple]:
    """(member, sku, qty, unit_price, amount, status) of every order item, oldest first."""
    query = select(OrderItem.member_id, OrderItem.sku, OrderItem.qty, OrderItem.unit_price, OrderItem.amount,
                   OrderItem.status).order_by(OrderItem.id)
    if status:
        query = query.where(OrderItem.status == status)
    return [(m, sku, Decimal(q), Decimal(p), Decimal(a), s) for m, sku, q, p, a, s in session.execute(query)]


def projection(session: Session) -> list[tuple]:
    """Everything merging produced, without ids or times: for comparing two runs."""
    rows = session.execute(
        select(Group.name, EntryRow.author_id, EntryRow.raw, EntryRow.status, EntryRow.missing, EntryRow.seq,
               OrderItem.sku, OrderItem.qty, OrderItem.unit_price, OrderItem.status)
        .join(Chain, Chain.id == EntryRow.chain_id)
        .join(Group, Group.id == Chain.group_id)
        .join(OrderItem, OrderItem.entry_id == EntryRow.id, isouter=True)
    )
    return sorted(tuple(str(v) for v in r) for r in rows)


def bound_group(session: Session, room: str, topic: str, leader_id: str, at: datetime) -> Group:
    """A group whose room the bot knows, run by a leader (as `绑定` leaves one)."""
    group = Group(chat_id=room, name=topic, leader_id=leader_id, bound_at=at, room_known=True)
    session.add(group)
    session.flush()
    return group
