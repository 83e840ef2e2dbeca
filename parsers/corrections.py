"""Corrections and cancellations written on one line ("大米2袋 改成1袋", "牛奶两箱 取消一箱",
"苹果不要了，香蕉照旧", "不要了，换成梨2斤"): the words that mark them (MARKS, data) and the
resolution of what the line still orders and what it withdraws.

Within a line the parser resolves everything it can: an amount ordered and then changed or
cut is the amount left. What it cannot resolve on the line (a product named as cancelled that
the line never ordered: "西瓜不要了") becomes a `CancelItem`: the merger cancels only that,
among the member's other lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from parsers.model import CancelItem, FlagKind, Product


class Mark(StrEnum):
    CANCEL = "cancel"  # 取消, 不要了 …: what it follows (or names, or its amount) is withdrawn
    CHANGE = "change"  # 改成, 换成, →: what follows replaces what it follows
    ADD = "add"  # 再加, 多加: one more amount of what it follows
    REDUCE = "reduce"  # 少要, 减: one amount less of what it follows
    KEEP = "keep"  # 照旧, 不变: what it follows is neither ordered again nor cancelled


_NUMBER_AHEAD = r"(?=\s{0,1}(?:\d|[一二两俩仨三四五六七八九十半]))"
# (mark, pattern), tried in order at each place of the line; longer spellings first.
MARKS: tuple[tuple[Mark, str], ...] = (
    (Mark.CANCEL, r"[(（]\s{0,2}(?:已?取消了?|删除?|作废|不要了)\s{0,2}[)）]"),
    (Mark.CANCEL, r"已?取消了?|不要了|不要啦|不需要了|不用了|不买了|删除|删掉|作废|退了|退出|退单|撤单|划掉"
                  r"|不要(?=\s{0,2}$|[,，。;；!！])"),
    (Mark.CHANGE, r"改成|改为|换成|换为|改" + _NUMBER_AHEAD + r"|→|->|=>"),
    (Mark.ADD, r"再加|多加|再来|还要加"),
    (Mark.REDUCE, r"少要|减少|少" + _NUMBER_AHEAD + r"|减" + _NUMBER_AHEAD),
    (Mark.KEEP, r"照旧|照常|不变|保留|还要(?=\s{0,2}$|[,，。;；!！])"),
)
_MARK_RE = re.compile("|".join(f"(?P<m{i}>{p})" for i, (_, p) in enumerate(MARKS)))


@dataclass(frozen=True)
class MarkHit:
    start: int
    end: int
    mark: Mark


# The first characters of every mark: a line without any has no mark (most lines).
_MARK_CHARS = frozenset("（(已取不删作退撤划改换→-=再多还少减照保")


def find_marks(text: str) -> list[MarkHit]:
    if _MARK_CHARS.isdisjoint(text):
        return []
    return [MarkHit(m.start(), m.end(), MARKS[int(m.lastgroup[1:])][0]) for m in _MARK_RE.finditer(text)]


@dataclass(slots=True)
class Amount:
    qty: float
    unit: str  # already the product's unit when `product` is known
    text: str


@dataclass(slots=True)
class Ordered:
    """One product as the line orders it so far."""

    product: Product
    qty: float | None  # None: named without an amount (one, unless a mark says otherwise)
    unit: str
    text: str
    score: float
    explicit: bool  # an amount was written for it on this line


@dataclass
class Resolution:
    ordered: list[Ordered] = field(default_factory=list)
    cancelled: list[CancelItem] = field(default_factory=list)
    cancel: bool = False
    flags: list[tuple[FlagKind, str]] = field(default_factory=list)


@dataclass(slots=True)
class Step:
    """One thing the line says, in order: a product (with the amounts written for it), or a
    mark (with the amount that follows it, if any)."""

    product: Product | None = None
    amounts: list[Amount] = field(default_factory=list)
    mark: Mark | None = None
    text: str = ""
    score: float = 100.0
    glued: bool = False  # a mark written right after the word before it ("西瓜不要了")
    unit: str = ""


class Resolver:
    """Walks the steps of a line and keeps what is still ordered."""

    def __init__(self, single: Product | None, convert):
        self.out = Resolution()
        self.single = single
        self.convert = convert  # (amount, product) -> qty in the product's unit, or None
        self.subject: Ordered | None = None  # the product the next mark is about
        self.dropped: list[Ordered] = []  # ordered on the line, then cancelled on it
        self.pending: Mark | None = None  # a mark waiting for the product after it
        self.pending_amount: Amount | None = None
        self.since_cancel: list[Ordered] = []

    def run(self, steps: list[Step]) -> Resolution:
        for i, step in enumerate(steps):
            after = steps[i + 1] if i + 1 < len(steps) else None
            if step.product is not None:
                self._product(step)
            else:
                self._mark(step, after)
        if self.pending in (Mark.CHANGE, Mark.ADD, Mark.REDUCE) and self.pending_amount is None:
            self.out.flags.append((FlagKind.UNCLEAR_CORRECTION, ""))
        return self._finish()

    # --- products ------------------------------------------------------------------------

    def _product(self, step: Step) -> None:
        amount = self._sum(step)
        pending, self.pending, pending_amount, self.pending_amount = self.pending, None, self.pending_amount, None
        if pending is Mark.CANCEL:  # "取消一箱橘子", "取消橘子"
            self._cancel_named(step, amount if amount is not None else self._in_unit(pending_amount, step.product))
            return
        if pending is Mark.CHANGE and self.subject is not None and self.subject.product is not step.product:
            self._withdraw(self.subject)  # "梨3斤 改成苹果3斤", "西瓜换成葡萄1串"
        item = self._find(step.product)
        if pending is Mark.CHANGE and item is not None:
            item.qty, item.explicit = (amount if amount is not None else item.qty), True
        elif pending is Mark.ADD and item is not None and amount is not None:
            item.qty = (item.qty or 1.0) + amount
        elif item is not None and amount is None:
            pass  # the product named again ("梨2斤 梨不要了"): what follows is about it
        else:
            item = Ordered(step.product, amount, step.unit or step.product.unit, step.text, step.score, amount is not None)
            self.out.ordered.append(item)
        self.subject = item

    def _sum(self, step: Step) -> float | None:
        total = None
        for amount in step.amounts:
            qty = self.convert(amount, step.product)
            if qty is None:
                continue
            total = qty if total is None else total + qty
        return total

    def _in_unit(self, amount: Amount | None, product: Product) -> float | None:
        return None if amount is None else self.convert(amount, product)

    def _find(self, product: Product) -> Ordered | None:
        for ordered in reversed(self.out.ordered):
            if ordered.product is product:
                return ordered
        return None

    # --- marks ---------------------------------------------------------------------------

    def _mark(self, step: Step, after: Step | None) -> None:
        amount = step.amounts[0] if step.amounts else None
        product_next = after is not None and after.product is not None
        if step.mark is Mark.CANCEL:
            self._cancel_mark(step, amount, product_next)
        elif step.mark is Mark.KEEP:
            if self.subject is not None and not self.subject.explicit:
                self._forget(self.subject)
            self.subject = None
        elif amount is not None and not product_next:
            self._amend(step.mark, amount)
        else:
            self.pending, self.pending_amount = step.mark, amount

    def _cancel_mark(self, step: Step, amount: Amount | None, product_next: bool) -> None:
        if amount is not None and not amount.qty > 0:  # "取消0个": nothing to cancel; asked
            self.out.flags.append((FlagKind.IMPLAUSIBLE_QUANTITY, f"{step.text}{amount.text}"))
            self.subject = None
            return
        if amount is not None and not product_next:  # "牛奶两箱 取消一箱", "取消1盒"
            target = self.subject or self._single()
            if target is None:
                self.out.flags.append((FlagKind.UNCLEAR_CORRECTION, step.text))
                return
            qty = self.convert(amount, target.product)
            if qty is None:
                self.out.flags.append((FlagKind.UNCLEAR_CORRECTION, step.text))
            elif target in self.out.ordered and target.explicit and target.qty is not None:
                self._cut(target, qty, step.text)
            else:
                self._forget(target)
                self.out.cancelled.append(CancelItem(step.text, target.product.sku, target.product.name, qty,
                                                     target.product.unit))
            return
        if step.glued and self.subject is not None:  # "西瓜不要了", "葡萄取消"
            self._withdraw(self.subject)
        elif product_next:  # "取消橘子"
            self.pending, self.pending_amount = Mark.CANCEL, amount
            return
        else:  # "王姐 西瓜1个 取消", "不要了，换成梨2斤"
            current = [o for o in self.out.ordered]
            if not current:
                self.out.cancel = True
            for item in current:
                self._withdraw(item)
        self.subject = None

    def _amend(self, mark: Mark, amount: Amount) -> None:
        target = self.subject or self._single()
        qty = None if target is None else self.convert(amount, target.product)
        if target is None or qty is None:
            self.out.flags.append((FlagKind.UNCLEAR_CORRECTION, amount.text))
            return
        if target not in self.out.ordered:
            self.out.ordered.append(target)
        base = target.qty if target.qty is not None else 1.0
        if mark is Mark.CHANGE and qty <= 0:  # "改成0个": none of it
            target.qty, target.explicit = None, False
            self._withdraw(target)
            return
        if mark is Mark.REDUCE:
            target.explicit, target.qty = True, base
            self._cut(target, qty, amount.text)
            return
        target.qty = qty if mark is Mark.CHANGE else base + qty
        target.explicit = True

    def _cut(self, item: Ordered, qty: float, text: str) -> None:
        """Take an amount off what the line ordered: all of it withdraws it; more than all of
        it is asked about (the member may mean another line's order)."""
        if qty > item.qty:
            self.out.flags.append((FlagKind.UNCLEAR_CORRECTION, text))
            return
        item.qty -= qty
        if item.qty <= 0:
            item.qty = None if item.qty < 0 else item.qty
            self._withdraw(item)

    def _single(self) -> Ordered | None:
        if self.single is None:
            return None
        return self._find(self.single) or Ordered(self.single, None, self.single.unit, "", 90.0, False)

    def _cancel_named(self, step: Step, qty: float | None) -> None:
        if qty is not None and not qty > 0:
            self.out.flags.append((FlagKind.IMPLAUSIBLE_QUANTITY, step.text))
            return
        item = self._find(step.product)
        if item is not None and item.explicit and item.qty is not None and qty is not None:
            self._cut(item, qty, step.text)
            return
        if item is not None:
            self._withdraw(item)
            return
        self.out.cancelled.append(CancelItem(step.text, step.product.sku, step.product.name, qty, step.product.unit))

    def _withdraw(self, item: Ordered) -> None:
        if item in self.out.ordered:
            self.out.ordered.remove(item)
            self.dropped.append(item)

    def _forget(self, item: Ordered) -> None:
        if item in self.out.ordered:
            self.out.ordered.remove(item)

    # --- the end of the line -------------------------------------------------------------

    def _finish(self) -> Resolution:
        out = self.out
        if not out.ordered and self.dropped:
            # Everything the line ordered it also cancelled: a cancelling line, naming what.
            out.cancelled = [self._cancel_item(o) for o in self.dropped] + out.cancelled
        else:
            # Corrections made on the line itself are resolved; a product only named as
            # cancelled ("西瓜不要了" beside "葡萄1串") is withdrawn from the member's order.
            out.cancelled = [self._cancel_item(o) for o in self.dropped if not o.explicit] + out.cancelled
        out.cancel = out.cancel or bool(out.cancelled)
        return out

    @staticmethod
    def _cancel_item(item: Ordered) -> CancelItem:
        qty = item.qty if item.explicit and item.qty is not None and item.qty > 0 else None
        return CancelItem(item.text, item.product.sku, item.product.name, qty, item.product.unit)
