"""Products a leader lists in a chain's header: "麒麟西瓜 15元/个", "1) 水餃 220元／2包420元".

Used when no catalog is given: the chain's own price list becomes the catalog.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from parsers.model import Product
from parsers.normalize import fold_key, to_simplified
from parsers.quantity import UNITS

_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
# price, then an optional unit: "15元/个", "25元一串", "¥28/盒", "30元每箱", "一包230元" (unit before)
PRICE_RE = re.compile(
    r"(?P<pre>(?:一|每)(?P<pre_u>" + _UNIT_ALT + r"))?\s{0,2}"
    r"(?:[¥￥]\s{0,2}(?P<n1>\d{1,6}(?:\.\d{1,2})?)|(?P<n2>\d{1,6}(?:\.\d{1,2})?)\s{0,2}(?:元|块)(?![内以]))"
    r"(?:\s{0,2}(?:/|每|一)\s{0,2}(?P<u>" + _UNIT_ALT + r"))?"
)
_INDEX = re.compile(r"^\s{0,4}[(（]?(?:\d{1,3}|[A-Za-z])[.、)）:：]\s{0,4}|^\s{0,4}(?:\d{1,3})\s+|^\s{0,4}\d{1,2}\s{0,1}号\s{0,2}")
# Tags and decorations around a name: 【爆款】, [新品], emoji, ★ ◆ ▶ ❤ ✨ — never part of it.
_TAG = re.compile(r"【[^】]{0,8}】|\[[^\]]{0,8}\]")
_DECORATION_CATEGORIES = frozenset({"So", "Sk", "Cn", "Co", "Cs"})
# Segments that mention money but do not sell anything: fees, surcharges, payments.
NOT_A_PRODUCT = (
    "加价", "加收", "餐盒费", "打包费", "运费", "配送费", "免费", "起送", "满减", "优惠", "合计", "共计",
    "补差", "收取", "付款", "已付", "红包",
)
# A segment that starts like a rule, not a name: "换其他主食加2元", "共30元", "满99元包邮".
NOT_A_PRODUCT_START = re.compile(r"^\s{0,2}(?:换|另加|每人|人均|[加共满收付]\s{0,1}\d)")
# "一組2條", "5斤装", "30枚": a pack size, not a name.
_SPEC = re.compile(r"\s{0,2}(?:(?:[一每]|\d{1,4})(?:" + _UNIT_ALT + r"|枚|颗|克|g)装?){1,3}$")
_TRIM = re.compile(r"^[\s:：,，、;；\-—~·*#]+|[\s:：,，、;；\-—~·*#]+$")
_NAME_NOISE = re.compile(r"(?:价格|单价|售价|团购价|特价|仅需|只要|原价)$")
_SEGMENT_SPLIT = re.compile(r"[，,；;。]")


def products_from_header(lines: list[str]) -> list[Product]:
    products: list[Product] = []
    pending_name: str | None = None  # "(2)砂鍋魚頭火鍋" with its price on the next line
    for line in lines:
        found_here = False
        for segment in _segments(line):
            product = _product_in(segment, pending_name)
            if product is not None:
                products.append(product)
                found_here = True
                pending_name = None
            elif not PRICE_RE.search(segment):
                pending_name = _indexed_name(segment) or pending_name
        if not found_here and not _indexed_name(line):
            pending_name = None
    return _with_skus(_dedupe(products))


def _segments(line: str) -> list[str]:
    """Comma-separated parts; a part with several prices ("西瓜15元/个 葡萄25元/串") splits at spaces."""
    out: list[str] = []
    for part in _SEGMENT_SPLIT.split(line):
        if len(PRICE_RE.findall(part)) > 1:
            out.extend(part.split())
        else:
            out.append(part)
    return out


def _product_in(segment: str, pending_name: str | None) -> Product | None:
    segment = to_simplified(segment)
    m = PRICE_RE.search(segment)
    if m is None or any(word in segment for word in NOT_A_PRODUCT) or NOT_A_PRODUCT_START.match(segment):
        return None
    name = clean_name(segment[: m.start()])
    if not name and pending_name:
        name = pending_name
    if not name or len(name) > 30:
        return None
    price = Decimal(m.group("n1") or m.group("n2"))
    unit = m.group("u") or m.group("pre_u") or ""
    return Product(sku="", name=name, price=price, unit=unit)


def clean_name(text: str) -> str:
    """A product name as a header writes it, without index, tags, emoji, pack size or price words."""
    text = _undecorated(text)
    text = _INDEX.sub("", text)
    text = _TRIM.sub("", text)
    text = re.sub(r"[(（][^)）]{0,20}[)）]\s{0,2}$", "", text).strip()  # "(50颗装)"
    text = _NAME_NOISE.sub("", text)
    text = _SPEC.sub("", text)
    return _TRIM.sub("", text)


def _undecorated(text: str) -> str:
    text = "".join(" " if unicodedata.category(ch) in _DECORATION_CATEGORIES else ch for ch in text)
    return _TAG.sub(" ", text)


def _indexed_name(line: str) -> str | None:
    """The name on a numbered line without a price, e.g. "(2)砂鍋魚頭火鍋"."""
    name = clean_name(to_simplified(line))
    return name if 0 < len(name) <= 30 else None


def _dedupe(products: list[Product]) -> list[Product]:
    seen: set[str] = set()
    out = []
    for product in products:
        key = fold_key(product.name)
        if key and key not in seen:
            seen.add(key)
            out.append(product)
    return out


def _with_skus(products: list[Product]) -> list[Product]:
    return [
        Product(sku=f"P{i:02d}", name=p.name, price=p.price, unit=p.unit)
        for i, p in enumerate(products, start=1)
    ]
