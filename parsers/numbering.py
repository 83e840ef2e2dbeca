"""The numbers and letters a leader's header gives its products ("1号 小台芒", "② 精排骨",
"A：红烧肉饭"), so that "3号x2" or "B 宫保鸡丁" on an entry line means what the header shows.

The header's numbering may differ from the catalog's order, so each numbered name is matched
to a catalog product by name; a number whose name matches no product, or two numbers that
would name the same product, resolve to nothing (the entry is asked about, never guessed by
position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.header import clean_name
from parsers.matching import ProductMatcher
from parsers.model import Product
from parsers.normalize import fold_key, to_simplified

# How a header numbers a product, at the start of a line or after a space: 1号 / 1. / 1、 /
# (1) / 【1】 / A: / A. (circled ① is already "1号", see parsers/normalize.py).
_CODE_RE = re.compile(
    r"(?:^|(?<=\s))(?:(?P<hao>\d{1,2})\s{0,1}号(?!楼|门|院|线|口|地|车|床|房|位|桌|柜|馆|店|厅|窗|仓|铺|机)"
    r"|[(（](?P<par>\d{1,2})[)）]|【(?P<br>\d{1,2})】|(?P<idx>\d{1,2})\s{0,1}[.、)）](?!\d)"
    r"|(?P<let>[A-Za-z])\s{0,1}[:：.、)）](?![A-Za-z]))"
)
_PRICE_TAIL = re.compile(r"\s{0,2}(?:[¥￥]\s{0,1}\d|\d{1,6}(?:\.\d{1,2})?\s{0,1}(?:元|块)).*$")
_OPTIONS = re.compile(r"[(（][^)）]{0,60}[)）]")


@dataclass(frozen=True)
class Numbering:
    """Header codes → products. `shown` holds every code the header gives, matched or not;
    `letters` the letter codes among them (A, B …)."""

    codes: dict[str, Product] = field(default_factory=dict)
    shown: frozenset[str] = frozenset()
    letters: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "letters", frozenset(code for code in self.shown if code.isalpha()))

    def key(self) -> tuple:
        return tuple(sorted((code, p.sku, p.name) for code, p in self.codes.items())) + tuple(sorted(self.shown))


NONE = Numbering()


def header_numbering(lines: list[str], matcher: ProductMatcher | None) -> Numbering:
    """Read the codes of the header's product lines and match each to a product."""
    if matcher is None:
        return NONE
    found: dict[str, list[Product]] = {}
    shown: set[str] = set()
    for line in lines:
        for code, text in _coded_segments(line):
            shown.add(code)
            product = _product_named(text, matcher)
            found.setdefault(code, [])
            if product is not None:
                found[code].append(product)
    codes: dict[str, Product] = {}
    claimed: dict[str, int] = {}
    for code, products in found.items():
        if len({p.sku for p in products}) == 1:
            codes[code] = products[0]
            claimed[products[0].sku] = claimed.get(products[0].sku, 0) + 1
    # Two codes for one product: the header and catalog disagree; trust neither.
    codes = {c: p for c, p in codes.items() if claimed[p.sku] == 1}
    return Numbering(codes, frozenset(shown)) if shown else NONE


def _coded_segments(line: str) -> list[tuple[str, str]]:
    hits = list(_CODE_RE.finditer(line))
    if not hits:
        return []
    # An index inside a line ("…25元 2. xx") only counts where the line starts with one.
    if hits[0].start() > 4:
        return []
    out = []
    for i, hit in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(line)
        code = next(v for v in hit.groupdict().values() if v is not None).upper()
        out.append((str(int(code)) if code.isdigit() else code, line[hit.end():end]))
    return out


def _product_named(text: str, matcher: ProductMatcher) -> Product | None:
    """The product a header segment names: by its cleaned name, else by its whole text
    (a name the header repeats for two dishes is told apart by what follows it)."""
    full = _PRICE_TAIL.sub("", to_simplified(text)).strip()
    for candidate in (clean_name(_OPTIONS.sub("", full)), full):
        if not fold_key(candidate):
            continue
        match = matcher.match(candidate)
        if match.product is not None:
            return match.product
    return None


def code_of(word: str) -> str | None:
    """A product code written on an entry line: "3号", "二号", "B" (upper-cased) or None."""
    m = _ENTRY_CODE_RE.fullmatch(word)
    if m is None:
        return None
    if m.group("let"):
        return m.group("let").upper()
    number = m.group("num")
    if number.isdigit():
        return str(int(number))
    return _CN_SMALL.get(number)


_ENTRY_CODE_RE = re.compile(r"(?P<num>\d{1,2}|[一二三四五六七八九十]{1,2})\s{0,1}号|(?P<let>[A-Za-z])")
_CN_SMALL = {ch: str(i) for i, ch in enumerate("一二三四五六七八九十", start=1)} | {"十一": "11", "十二": "12"}
HAO_RE = re.compile(
    r"(?<![\d.])(?:\d{1,2}|(?<![一二三四五六七八九十])[一二三四五六七八九十]{1,2})\s{0,1}号"
    r"(?!楼|门|院|线|口|地|车|床|房|位|桌|柜|馆|店|厅|窗|仓|铺|机|\d)"
)
