"""Value types the parsers produce. Plain frozen-ish dataclasses, no I/O.

These are the contract between `parsers`, `storage` and `bot`: change them with care.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class Product:
    """One product of a campaign catalog."""

    sku: str
    name: str
    price: Decimal = Decimal("0")
    unit: str = ""
    aliases: tuple[str, ...] = ()
    stock: Decimal | None = None  # None: unlimited


@dataclass
class Item:
    """One ordered item of an entry, matched to a product (sku) or not (sku None)."""

    text: str  # the words of the line this item came from, e.g. "西瓜1个"
    sku: str | None
    name: str | None  # the catalog product name
    qty: float
    unit: str = ""
    score: float = 0.0  # match confidence 0..100


class MissKind(StrEnum):
    """Why a piece of a line that looks like an order matched no product (machine-readable;
    `Unmatched.reason` is the matcher's own short explanation)."""

    UNKNOWN = "unknown"  # no product of the campaign is like it (榴莲)
    NEAR = "near"  # like a sold product but another one (鸭蛋 for 鸡蛋, 小番茄 for 西红柿)
    AMBIGUOUS = "ambiguous"  # two sold products fit (肉馅: 猪肉馅, 牛肉馅)
    UNIT = "unit"  # the product, in a unit it is not sold by (砂糖橘3斤 when sold by the box)
    NO_PRODUCT = "no_product"  # a quantity that names no product (2个 in a many-product chain)


@dataclass
class Unmatched:
    """A piece of an entry that looks like an order but matches no product confidently."""

    text: str
    reason: str
    qty: float | None = None
    unit: str = ""
    kind: MissKind = MissKind.UNKNOWN


class FlagKind(StrEnum):
    """Why a line must be asked about rather than trusted (machine-readable; the wording a
    member or leader reads lives in bot/texts.py)."""

    UNEXPLAINED_NUMBER = "unexplained_number"  # a number on the line that is no quantity, room, time, price…
    RANGE = "range"  # 三四斤, 2-3个: the member has not decided
    IMPLAUSIBLE_QUANTITY = "implausible_quantity"  # 1.2345斤, 999999个, 0个
    NEGATIVE_QUANTITY = "negative_quantity"  # 西瓜-3个
    AMBIGUOUS_PRODUCT = "ambiguous_product"  # two sold products fit the words
    UNKNOWN_PRODUCT_NUMBER = "unknown_product_number"  # 3号 where the header's numbering is unclear
    CODE_CONFLICT = "code_conflict"  # "B 红烧肉" where the header's B is another dish
    UNCLEAR_CORRECTION = "unclear_correction"  # 改成2个 / 取消一箱 without saying of what
    EXTRA_QUANTITY = "extra_quantity"  # "2份 1份少饭": a second amount of the same thing
    NOTHING_ORDERED = "nothing_ordered"  # a name or room, no product, in a many-product chain
    UNREAD = "unread"  # the line could not be read at all (too long, cut)


@dataclass(frozen=True)
class Flag:
    """One thing on an entry line the parser could not account for: the member is asked, the
    leader sees it; the confident part of the line still counts."""

    kind: FlagKind
    text: str  # the words of the line it is about, e.g. "三四斤"
    detail: str = ""  # a short machine-made hint (a product name, a number), never display text logic


@dataclass
class CancelItem:
    """A product a line cancels ("西瓜不要了", "取消一箱牛奶"): all of it (qty None) or that many,
    from what the same member ordered on other lines."""

    text: str  # the words it came from, e.g. "取消一箱牛奶"
    sku: str | None
    name: str | None
    qty: float | None = None  # None: all of it
    unit: str = ""


@dataclass
class Entry:
    """One numbered line of a chain (with its wrapped continuation lines)."""

    seq: int
    raw: str  # the entry text without its index ("2栋301 李姐 西瓜1个")
    member: str | None = None
    address: str | None = None
    items: list[Item] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    note: str | None = None
    cancel: bool = False  # the line withdraws an order: all of it, or only `cancel_items`
    paid: bool = False
    author: str | None = None  # platform user id, when the message carries it (type 53)
    time: int | None = None  # unix time from type 53, when present
    flags: list[Flag] = field(default_factory=list)  # what must be asked about (see FlagKind)
    # What a cancelling line names ("苹果不要了"): only these are withdrawn. Empty with `cancel`:
    # the whole order (the line it replaces, or the member's lines).
    cancel_items: list[CancelItem] = field(default_factory=list)


@dataclass
class ParsedMessage:
    """What one message says: a chain (title, catalog, entries) or not."""

    is_chain: bool
    title: str | None = None
    products: list[Product] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    order: list[Item] | None = None  # a free-text order ("+1 西瓜") outside a chain
    order_unmatched: list[Unmatched] | None = None
    chain_key: str | None = None  # identifies the chain within a group (normalised title)
    header: str = ""  # the header text (before the entries), for display
    sender: str | None = None  # "wxid_xxx:" prefix of a raw group message, when present


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json_dict(obj) -> dict:
    """A dataclass as JSON-ready data: Decimals and whole floats become plain numbers."""
    return _plain(asdict(obj))
