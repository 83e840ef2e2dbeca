"""Every number on an entry line is accounted for: an amount of an item, an address, a time or
date, money, a phone tail, a pack size or a number inside a product's name, a product code, a
range or an implausible amount (both asked about). A number nothing explains is never summed
into an order and never silently dropped: the line is flagged.

And every amount that is counted is one a neighbour could mean: more than zero, less than
MAX_PLAUSIBLE in the product's unit, whole when the product is counted (a half only where a
seller cuts it, which is still asked about).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.model import Flag, FlagKind, Item
from parsers.quantity import MEASURED_UNITS

MAX_PLAUSIBLE = 100  # in the product's unit: 100 个, 100 斤 from one household is asked about
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class Ledger:
    """The spans of a line whose numbers are explained, and the flags raised on it."""

    text: str
    explained: list[tuple[int, int]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    def explain(self, start: int, end: int) -> None:
        if end > start:
            self.explained.append((start, end))

    def flag(self, kind: FlagKind, start: int, end: int, detail: str = "") -> None:
        self.explain(start, end)
        self.add_flag(kind, self.text[start:end].strip(), detail)

    def add_flag(self, kind: FlagKind, text: str, detail: str = "") -> None:
        flag = Flag(kind, text, detail)
        if flag not in self.flags:
            self.flags.append(flag)

    def unexplained(self) -> list[tuple[int, int]]:
        """Digit runs of the line that no explained span covers (a number is explained when a
        span of what it is touches it: "1.5" in "1.5斤")."""
        mask = bytearray(len(self.text) + 1)  # 1 where a character is explained
        for start, end in self.explained:
            mask[start:end] = b"\x01" * (end - start)
        return [(m.start(), m.end()) for m in _DIGITS.finditer(self.text) if not any(mask[m.start():m.end()])]

    def flag_unexplained(self) -> None:
        for start, end in self.unexplained():
            self.add_flag(FlagKind.UNEXPLAINED_NUMBER, self.text[start:end])


def implausible(item: Item) -> str | None:
    """Why an item's amount is not one a neighbour could mean, or None."""
    qty = item.qty
    if qty != qty or qty in (float("inf"), float("-inf")):
        return "not a number"
    if qty <= 0:
        return "zero"
    if qty >= MAX_PLAUSIBLE:
        return "too many"
    if item.unit not in MEASURED_UNITS and not float(qty).is_integer():
        return "a part of a counted thing"
    if round(qty, 2) != qty:
        return "too precise"
    return None
