"""Entries and their order items: creating, editing, cancelling, stock and the waitlist.

Every change leaves an EntryEvent, so a leader can see who changed what and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from parsers.merge import entry_key, identity_of, line_hash
from parsers.model import Entry, Flag, Item, Unmatched
from storage.bounds import fit
from storage.db import insert_unless_present
from storage.fast import FastStatement
from storage.models import (
    Campaign,
    CampaignGroup,
    Chain,
    EntryEvent,
    EntryRow,
    EntryStatus,
    EventKind,
    Group,
    ItemStatus,
    OrderCounter,
    OrderItem,
    ProductPrice,
    ProductRow,
)
from storage.rates import RateHistory

COUNTED = ItemStatus.OK


class ProblemKind(StrEnum):
    UNMATCHED = "unmatched"  # a product the campaign does not sell (detail: the parser's reason, if any)
    LATE = "late"  # written after the deadline
    WAITLIST = "waitlist"  # over stock (detail: the product's name)
    REVIEW = "review"  # changed another member's line
    FLAG = "flag"  # the parser could not account for part of the line (detail: the FlagKind value)
    PROMOTED = "promoted"  # freed stock went to this waitlisted item (detail: the product's name)


@dataclass
class Problem:
    """Something the bot should tell one member about (one short @mention)."""

    member_id: str
    member_name: str
    kind: ProblemKind
    text: str
    detail: str = ""  # for UNMATCHED: why, in the parser's words ("" when the product simply is not sold)
    group_id: int | None = None  # where to say it, when not the group of the message being handled
    key: str = ""  # tells apart two notices that read the same (a stable id: survives a rebuild)


@dataclass
class ChainOutcome:
    added: int = 0
    changed: int = 0
    missing: int = 0
    cancelled: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ScopeProduct:
    """What an order item needs of a product (a plain value: order scopes outlive sessions)."""

    id: int
    campaign_id: str
    sku: str
    price: Decimal
    stock: Decimal | None


@dataclass
class ScopeData:
    """The part of an order scope read from the database: products, price history, 截单."""

    products: dict[str, ScopeProduct]  # by sku
    closed_at: datetime | None = None  # the leader closed this group early (截单)
    # product id → [(valid_from, price)], oldest first (valid_from None: from the start)
    prices: dict[int, list[tuple[datetime | None, Decimal]]] = field(default_factory=dict)
    rates: RateHistory = field(default_factory=RateHistory)  # the group's leader's commission

    @classmethod
    def load(cls, session: Session, campaign_id: str | None, group: Group) -> ScopeData:
        """Products, their price history and the group's 截单 time (one query), and the
        leader's commission rates."""
        rates = RateHistory.load(session, group.leader_id)
        group_id = group.id
        if campaign_id is None:
            return cls({}, rates=rates)
        closed = select(CampaignGroup.closed_at).where(
            CampaignGroup.campaign_id == campaign_id, CampaignGroup.group_id == group_id).scalar_subquery()
        rows = session.execute(
            select(ProductRow.id, ProductRow.sku, ProductRow.price, ProductRow.stock,
                   ProductPrice.valid_from, ProductPrice.price, closed)
            .outerjoin(ProductPrice, ProductPrice.product_id == ProductRow.id)
            .where(ProductRow.campaign_id == campaign_id)
            .order_by(ProductRow.id, ProductPrice.valid_from.is_not(None), ProductPrice.valid_from, ProductPrice.id)
        ).all()
        products: dict[str, ScopeProduct] = {}
        prices: dict[int, list[tuple[datetime | None, Decimal]]] = {}
        for product_id, sku, price, stock, valid_from, history_price, _closed in rows:
            products[sku] = ScopeProduct(product_id, campaign_id, sku, price, stock)
            if history_price is not None:
                prices.setdefault(product_id, []).append((valid_from, history_price))
        closed_at = rows[0][6] if rows else session.scalar(select(closed))
        return cls(products, closed_at, prices, rates)


@dataclass
class OrderScope:
    """What every item of one chain shares."""

    campaign: Campaign | None
    group: Group
    data: ScopeData

    @property
    def products(self) -> dict[str, ScopeProduct]:
        return self.data.products

    @property
    def closed_at(self) -> datetime | None:
        return self.data.closed_at

    def rate_at(self, when: datetime) -> Decimal:
        """The group's leader's commission rate for an order first seen at `when`."""
        return self.data.rates.rate_at(when)

    def price_at(self, product: ScopeProduct, when: datetime) -> Decimal:
        """The product's price for an order first seen at `when`."""
        price = product.price
        for valid_from, value in self.data.prices.get(product.id, ()):
            if valid_from is None or valid_from <= when:
                price = value
        return price

    @classmethod
    def of(cls, session: Session, chain: Chain, group: Group) -> OrderScope:
        campaign = session.get(Campaign, chain.campaign_id) if chain.campaign_id else None
        return cls(campaign, group, ScopeData.load(session, campaign.id if campaign else None, group))

    def is_late(self, at: datetime) -> bool:
        if self.campaign is None:
            return False
        return at > self.campaign.deadline or (self.closed_at is not None and at > self.closed_at)


@dataclass
class WrittenEntry:
    """An entry just inserted (by Core, so no ORM object exists): what callers read of it."""

    id: int
    author_id: str
    author_name: str
    member: str | None
    address: str | None
    raw: str
    seq: int
    line_hash: str
    status: str
    first_seen: datetime
    missing: bool = False
    order_no: int | None = None


_CREATED_AS = {EntryStatus.OK: EventKind.CREATED, EntryStatus.LATE: EventKind.LATE,
               EntryStatus.REVIEW: EventKind.REVIEW, EntryStatus.CANCELLED: EventKind.CANCELLED}

# Built once: the hot path inserts on the DB-API cursor, skipping the ORM's unit of work.
_INSERT_ENTRY = FastStatement(insert(EntryRow.__table__).returning(EntryRow.__table__.c.id))
_INSERT_EVENT = FastStatement(insert(EntryEvent.__table__))
_INSERT_ITEM = FastStatement(insert(OrderItem.__table__))
_COUNTERS = OrderCounter.__table__
SEQ_JUMP = 20  # a line may take its own chain number this far past the last one given


def next_order_no(last: int, seq: int) -> int:
    """The number of a new order: its own chain number when that is still ahead (a chain read
    the usual way numbers orders as the chain does), else the next after the last one given
    (two members who both wrote "5." get 5 and 6). Never one given before."""
    return seq if last < seq <= last + SEQ_JUMP else last + 1


_seq = bindparam("seq")
_NEXT_NO = FastStatement(
    update(_COUNTERS)
    .where(_COUNTERS.c.campaign_id == bindparam("campaign"), _COUNTERS.c.group_id == bindparam("group"))
    .values(last_no=case((and_(_seq > _COUNTERS.c.last_no, _seq <= _COUNTERS.c.last_no + SEQ_JUMP), _seq),
                         else_=_COUNTERS.c.last_no + 1))
    .returning(_COUNTERS.c.last_no))


def _order_no(session: Session, scope: OrderScope, seq: int) -> int:
    """One statement: the counter row of the campaign's group moves on and is locked until
    this transaction ends, so two processes never give the same number."""
    params = dict(campaign=scope.campaign.id, group=scope.group.id, seq=seq)
    row = _NEXT_NO.fetch_one(session, params)
    if row is None:
        session.execute(insert_unless_present(session.get_bind().dialect.name, _COUNTERS,
                                              ["campaign_id", "group_id"]).values(
            campaign_id=scope.campaign.id, group_id=scope.group.id, last_no=0))
        row = _NEXT_NO.fetch_one(session, params)
    return row[0]


# PostgreSQL: the counter moves on inside the entry's INSERT (a data-modifying WITH), so
# numbering an order costs no round trip of its own. No counter row yet: the order number
# comes back NULL and is set by `_order_no` (a campaign's first order in a group).
_line_no = bindparam("line_no")
_NUMBERED = (
    update(_COUNTERS)
    .where(_COUNTERS.c.campaign_id == bindparam("counter_campaign"), _COUNTERS.c.group_id == bindparam("counter_group"))
    .values(last_no=case((and_(_line_no > _COUNTERS.c.last_no, _line_no <= _COUNTERS.c.last_no + SEQ_JUMP), _line_no),
                         else_=_COUNTERS.c.last_no + 1))
    .returning(_COUNTERS.c.last_no).cte("numbered"))
_ENTRIES = EntryRow.__table__
_INSERT_NUMBERED_ENTRY = FastStatement(
    insert(_ENTRIES).values(order_no=select(_NUMBERED.c.last_no).scalar_subquery())
    .returning(_ENTRIES.c.id, _ENTRIES.c.order_no))
_SET_ORDER_NO = FastStatement(update(_ENTRIES).where(_ENTRIES.c.id == bindparam("entry"))
                              .values(order_no=bindparam("number")))


def _insert_entry(session: Session, values: dict, scope: OrderScope, seq: int, numbered: bool) -> tuple[int, int | None]:
    """Insert an entry; an order (`numbered`) gets the next number of its campaign's group."""
    if not numbered:
        return _INSERT_ENTRY.fetch_one(session, {**values, "order_no": None})[0], None
    if session.get_bind().dialect.name == "postgresql":
        entry_id, number = _INSERT_NUMBERED_ENTRY.fetch_one(session, {
            **values, "counter_campaign": scope.campaign.id, "counter_group": scope.group.id, "line_no": seq})
        if number is None:
            number = _order_no(session, scope, seq)
            _SET_ORDER_NO.execute(session, dict(entry=entry_id, number=number))
        return entry_id, number
    number = _order_no(session, scope, seq)  # SQLite: in the process, a statement costs little
    return _INSERT_ENTRY.fetch_one(session, {**values, "order_no": number})[0], number


def flags_json(flags: list[Flag]) -> list[dict] | None:
    return [{"kind": str(f.kind), "text": f.text, "detail": f.detail} for f in flags] or None


def new_entry(
    session: Session, chain_id: int, scope: OrderScope, entry: Entry, *, author_id: str,
    author_name: str, message_id: int | None, at: datetime, status: EntryStatus = EntryStatus.OK,
    outcome: ChainOutcome, known_keys: set[str] | None = None,
) -> WrittenEntry:
    author_id, author_name = fit(author_id, EntryRow.author_id), fit(author_name, EntryRow.author_name)
    hashed = line_hash(entry.raw)
    numbered = scope.campaign is not None and status in (EntryStatus.OK, EntryStatus.LATE)
    entry_id, order_no = _insert_entry(session, dict(
        chain_id=chain_id, entry_key=_unique_key(session, chain_id, author_id, entry.raw, known_keys),
        line_hash=hashed, author_id=author_id, author_name=author_name, seq=entry.seq, raw=entry.raw,
        member=entry.member, address=entry.address, note=entry.note, paid=entry.paid, status=status,
        missing=False, picked_up_at=None, first_seen=at, last_changed=at, first_message_id=message_id,
        flags=flags_json(entry.flags), paid_at=None,
    ), scope, entry.seq, numbered)
    row = WrittenEntry(entry_id, author_id, author_name, entry.member, entry.address, entry.raw, entry.seq,
                       hashed, status, at, order_no=order_no)
    _INSERT_EVENT.send(session, dict(
        entry_id=entry_id, message_id=message_id, kind=_CREATED_AS[status],
        actor_id=author_id, before=None, after=entry.raw, at=at))
    if status != EntryStatus.CANCELLED:
        # Late and review lines keep their items (not counted) so exports show what was asked.
        add_items(session, row, scope, entry, at=at, outcome=outcome, review=status == EntryStatus.REVIEW,
                  late=status == EntryStatus.LATE)
    if status == EntryStatus.OK:
        _ask_about_flags(row, entry, outcome)
    return row


def _ask_about_flags(row: EntryRow | WrittenEntry, entry: Entry, outcome: ChainOutcome) -> None:
    name = row.member or row.author_name
    for flag in entry.flags:
        outcome.problems.append(Problem(row.author_id, name, ProblemKind.FLAG, flag.text, str(flag.kind)))


def _unique_key(session: Session, chain_id: int, author_id: str, raw: str,
                known_keys: set[str] | None = None) -> str:
    """The entry's key: author and content, numbered when the same member wrote the same
    text before in this chain (ordering the same thing again is another order). Replays
    number them the same way, because they see the lines in the same order.

    `known_keys`: the chain's keys in use (unsuffixed), when the caller keeps them; a key
    not among them is free without asking the database."""
    base = entry_key(author_id, raw)
    if known_keys is not None:
        fresh = base not in known_keys
        known_keys.add(base)
        if fresh:
            return base
    taken = session.scalar(select(func.count()).select_from(EntryRow).where(
        EntryRow.chain_id == chain_id, EntryRow.entry_key >= base, EntryRow.entry_key <= base + "~"))
    return f"{base}-{taken}" if taken else base


def add_items(session: Session, row: EntryRow | WrittenEntry, scope: OrderScope, entry: Entry, *,
              at: datetime, outcome: ChainOutcome, review: bool = False, late: bool | None = None) -> None:
    """Insert an entry's items: counted, waitlisted (over stock), late, review or unmatched.

    `late` None: late when `at` is past the campaign's deadline (or the group's 截单). The
    caller reports a late line once per entry, so only waitlist and unmatched are reported here.
    """
    if late is None:
        late = scope.is_late(at) and not review
    name = row.member or row.author_name
    rows: list[dict] = []
    for item in entry.items:
        product = scope.products.get(item.sku or "")
        if review:
            status = ItemStatus.REVIEW
        elif late:
            status = ItemStatus.LATE
        else:
            if product is not None and product.stock is not None:
                _insert_items(session, rows)  # the stock count must see this entry's earlier items
            status = _stock_status(session, product, item)
        rows.append(_item_row(row, scope, item, product, status, at))
        if status == ItemStatus.WAITLIST:
            outcome.problems.append(Problem(row.author_id, name, ProblemKind.WAITLIST, item.text, item.name or ""))
        if product is None and not review and not late:
            outcome.problems.append(Problem(row.author_id, name, ProblemKind.UNMATCHED, item.text))
    for miss in entry.unmatched:
        rows.append(_unmatched_row(row, scope, miss, at))
        if not review and not late:
            outcome.problems.append(Problem(row.author_id, name, ProblemKind.UNMATCHED, miss.text, miss.reason))
    _insert_items(session, rows)


def _insert_items(session: Session, rows: list[dict]) -> None:
    if rows:
        _INSERT_ITEM.execute_many(session, rows)
        rows.clear()


def _stock_status(session: Session, product: ScopeProduct | None, item: Item) -> ItemStatus:
    if product is None or product.stock is None:
        return COUNTED
    # PostgreSQL: processes serving other groups of the campaign wait here, so two of them
    # never both take the last units (SQLite already writes one transaction at a time).
    session.execute(select(ProductRow.id).where(ProductRow.id == product.id).with_for_update())
    used = session.scalar(
        select(func.coalesce(func.sum(OrderItem.qty), 0)).where(
            OrderItem.campaign_id == product.campaign_id, OrderItem.sku == product.sku,
            OrderItem.status == COUNTED,
        )
    )
    return COUNTED if Decimal(str(used)) + _qty(item.qty) <= product.stock else ItemStatus.WAITLIST


def _qty(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


def _item_row(row: EntryRow | WrittenEntry, scope: OrderScope, item: Item, product: ScopeProduct | None,
              status: ItemStatus, at: datetime) -> dict:
    price = scope.price_at(product, row.first_seen) if product is not None else Decimal("0")
    qty = _qty(item.qty)
    return _item_values(
        row, scope, at, product_id=product.id if product else None, sku=item.sku, product_name=item.name,
        text=item.text, qty=qty, unit=item.unit, unit_price=price, amount=(qty * price).quantize(Decimal("0.01")),
        status=status if product else ItemStatus.UNMATCHED, score=item.score, reason=None)


def _unmatched_row(row: EntryRow | WrittenEntry, scope: OrderScope, miss: Unmatched, at: datetime) -> dict:
    return _item_values(
        row, scope, at, product_id=None, sku=None, product_name=None, text=miss.text, qty=_qty(miss.qty or 1),
        unit=miss.unit, unit_price=Decimal("0"), amount=Decimal("0"), status=ItemStatus.UNMATCHED, score=0.0,
        reason=miss.reason)


def _item_values(row: EntryRow | WrittenEntry, scope: OrderScope, at: datetime, **item) -> dict:
    """An order_items row: what every item of the entry shares, then the item's own values
    (every call passes the same keys, so one prepared insert serves them all)."""
    return dict(entry_id=row.id, campaign_id=scope.campaign.id if scope.campaign else None,
                group_id=scope.group.id, leader_id=scope.group.leader_id, member_id=row.author_id,
                first_seen=row.first_seen, last_changed=at, commission_rate=scope.rate_at(row.first_seen), **item)


def update_entry(session: Session, row: EntryRow, new: Entry, *, actor_id: str, message_id: int | None,
                 at: datetime, kind: EventKind = EventKind.EDITED, scope: OrderScope | None = None,
                 outcome: ChainOutcome | None = None) -> ChainOutcome:
    """Replace an entry's content (the member's own edit, or a leader's 改单); history kept.

    kind EDITED is an edit seen in the chain: the entry then stands for the new line. Any
    other kind (a leader's 改单 in private chat) keeps the line hash, because the chain text
    still shows the old line and must not undo the change on the next copy. Such an edit is
    counted even after the deadline: the leader decided it.
    """
    outcome = outcome or ChainOutcome()
    from_chain = kind == EventKind.EDITED
    chain = session.get(Chain, row.chain_id)
    scope = scope or OrderScope.of(session, chain, session.get(Group, chain.group_id))
    session.add(EntryEvent(entry_id=row.id, message_id=message_id, kind=kind, actor_id=actor_id,
                           before=row.raw, after=new.raw, at=at))
    freed = _skus_counted(session, row.id)
    session.execute(delete(OrderItem).where(OrderItem.entry_id == row.id))
    if from_chain:
        row.line_hash, row.seq = line_hash(new.raw), new.seq or row.seq
    row.raw = new.raw
    row.member, row.address, row.note, row.paid = new.member, new.address, new.note, new.paid
    row.flags = flags_json(new.flags)
    row.last_changed, row.status, row.missing = at, EntryStatus.OK, False
    chain.version += 1  # the chain's cached lines are stale now
    session.flush()
    add_items(session, row, scope, new, at=at, outcome=outcome, late=None if from_chain else False)
    if from_chain:
        _ask_about_flags(row, new, outcome)
    outcome.problems += _promote_waitlist(session, scope, freed, at)
    outcome.changed += 1
    return outcome


def cancel_entry(session: Session, row: EntryRow, *, actor_id: str, message_id: int | None, at: datetime,
                 kind: EventKind = EventKind.CANCELLED, cancel_line: str | None = None,
                 scope: OrderScope | None = None) -> list[Problem]:
    """Cancel an entry and its items; freed stock goes to the waitlist, first come first.
    Returns who was promoted from the waitlist (to be told)."""
    if row.status == EntryStatus.CANCELLED:
        return []
    chain = session.get(Chain, row.chain_id)
    scope = scope or OrderScope.of(session, chain, session.get(Group, chain.group_id))
    freed = _skus_counted(session, row.id)
    session.add(EntryEvent(entry_id=row.id, message_id=message_id, kind=kind, actor_id=actor_id,
                           before=row.raw, after=cancel_line, at=at))
    row.status, row.last_changed = EntryStatus.CANCELLED, at
    if cancel_line is not None:
        row.line_hash = line_hash(cancel_line)
    chain.version += 1  # the chain's cached lines are stale now
    session.execute(
        update(OrderItem).where(OrderItem.entry_id == row.id).values(status=ItemStatus.CANCELLED, last_changed=at)
    )
    return _promote_waitlist(session, scope, freed, at)


def _skus_counted(session: Session, entry_id: int) -> set[str]:
    return set(session.scalars(
        select(OrderItem.sku).where(OrderItem.entry_id == entry_id, OrderItem.status.in_((COUNTED, ItemStatus.WAITLIST)),
                                    OrderItem.sku.is_not(None))
    ))


def _promote_waitlist(session: Session, scope: OrderScope, skus: set[str], at: datetime) -> list[Problem]:
    """Freed stock goes to the waitlist, first come first (in any group of the campaign);
    each promoted member is to be told in their group."""
    promoted: list[Problem] = []
    for sku in skus:
        product = scope.products.get(sku)
        if product is None or product.stock is None:
            continue
        used = Decimal(str(session.scalar(
            select(func.coalesce(func.sum(OrderItem.qty), 0)).where(
                OrderItem.campaign_id == product.campaign_id, OrderItem.sku == sku, OrderItem.status == COUNTED)
        )))
        waiting = session.scalars(
            select(OrderItem).where(OrderItem.campaign_id == product.campaign_id, OrderItem.sku == sku,
                                    OrderItem.status == ItemStatus.WAITLIST).order_by(OrderItem.first_seen, OrderItem.id)
        ).all()
        for item in waiting:
            if used + item.qty > product.stock:
                break
            item.status, item.last_changed = COUNTED, at
            used += item.qty
            session.add(EntryEvent(entry_id=item.entry_id, kind=EventKind.PROMOTED, actor_id="", after=item.text, at=at))
            entry = session.get(EntryRow, item.entry_id)
            promoted.append(Problem(item.member_id, entry.member or entry.author_name, ProblemKind.PROMOTED, item.text,
                                    item.product_name or "", group_id=item.group_id, key=entry.entry_key))
    return promoted


def identity_of_row(row: EntryRow) -> str:
    return identity_of(Entry(seq=row.seq, raw=row.raw, member=row.member, address=row.address))
