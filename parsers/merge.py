"""Merging successive copies of one chain: which lines are new, edited, cancelled, missing.

Pure: known lines and a new copy in, a plan out. Storage applies the plan. Lines are keyed
by who wrote them and what they say, never by their number, because numbers shift when two
members copy the same version at once.

The rules (each is a test case in tests/storage/test_merge.py; the appended-copy fast path
in tests/parsers/test_merge_appended.py):
- a line not seen before is new, written by the type-53 author or else the message's sender;
- a known line absent from this copy is kept and marked missing (a concurrent copy lost it);
  it is never cancelled for being absent, and clears when it shows up again;
- a new line that takes the place of a missing line with the same identity (nickname or
  address) is an edit: applied when its author or a leader sent it, otherwise recorded
  for review and not applied; a rewrite that cancels and orders anew ("不要了，换成梨2斤")
  is an edit too;
- a cancellation (取消, 不要了 …) cancels the line it replaces, or else the member's lines
  with the same identity, when sent by their author or a leader;
- a cancel by its author cancels only what it names: a cancelling line with
  `entry.cancel_items` ("苹果不要了", "取消一箱牛奶") withdraws only those products (all of
  each, or the amount named) from the lines it is paired with, which stay active; without
  `cancel_items` it withdraws those lines whole;
- a cancelling line that also orders ("苹果不要了，换成梨2斤") orders that too: its
  `entry.items` count like any new line's;
- the same member writing another new line adds to their order.

What storage does with each part of a plan (`NewLine.withdraws` and `NewLine.orders` say it
without reading the Entry):
- added: a new entry, counted;
- edits (known, new): the known entry takes the new text, identity and items;
- cancels (known, new): new replaced known's text. `new.withdraws` empty: known is cancelled
  whole; else only those products of known are cancelled (qty None: all of it; else that
  many, from its last items first) and known stays active while anything is left. Then
  `new.orders`, if any, are added to known. Known takes new's text and hash either way;
- cancel_lines (targets, new): a separate line. `new.withdraws` empty: every target is
  cancelled whole; else only those products, among the targets' items (newest entry
  first), and targets stay active while anything is left. The line itself is stored as an
  entry: counted with `new.orders` when it has any, else inactive (so later copies know it);
- reviews (known or None, new): kept for the leader, not counted;
- missing / reappeared / renumbered: marks on known entries.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from parsers.model import CancelItem, Entry, Item
from parsers.normalize import fold_key


@dataclass(frozen=True)
class KnownLine:
    entry_id: int
    line_hash: str
    author: str
    seq: int
    identity: str  # see identity_of
    active: bool = True  # False once cancelled
    missing: bool = False


@dataclass
class NewLine:
    entry: Entry
    line_hash: str
    author: str

    @property
    def withdraws(self) -> list[CancelItem]:
        """What a cancelling line withdraws; empty: the whole order it is paired with."""
        return self.entry.cancel_items

    @property
    def orders(self) -> list[Item]:
        """What the line orders (a cancelling line may order too: "不要了，换成梨2斤")."""
        return self.entry.items


@dataclass
class MergePlan:
    added: list[NewLine] = field(default_factory=list)
    edits: list[tuple[KnownLine, NewLine]] = field(default_factory=list)
    cancels: list[tuple[KnownLine, NewLine]] = field(default_factory=list)  # line rewritten as 取消
    # a separate line ("7. 赵哥 取消") cancelling the lines it names
    cancel_lines: list[tuple[list[KnownLine], NewLine]] = field(default_factory=list)
    reviews: list[tuple[KnownLine | None, NewLine]] = field(default_factory=list)
    missing: list[KnownLine] = field(default_factory=list)
    reappeared: list[KnownLine] = field(default_factory=list)
    # known lines that carry another number in this copy (the leader reads the latest numbers)
    renumbered: list[tuple[KnownLine, int]] = field(default_factory=list)
    fresh: list[NewLine] = field(default_factory=list)  # lines not known before (working list)

    @property
    def changed(self) -> bool:
        return any((self.added, self.edits, self.cancels, self.cancel_lines, self.reviews, self.missing,
                    self.reappeared, self.renumbered))


class KnownIndex:
    """The known lines of one chain, grouped by content hash, kept up to date in place."""

    def __init__(self, lines: Iterable[KnownLine] = ()):
        self.lines: dict[int, KnownLine] = {}
        self.by_hash: dict[str, list[KnownLine]] = defaultdict(list)
        self.missing_ids: set[int] = set()  # active lines absent from the latest copy
        self.last_copy: CopyState | None = None  # the copy these lines were last merged with
        for line in lines:
            self.put(line)

    def put(self, line: KnownLine) -> None:
        if line.active and line.missing:
            self.missing_ids.add(line.entry_id)
        else:
            self.missing_ids.discard(line.entry_id)
        old = self.lines.get(line.entry_id)
        if old is not None:
            siblings = self.by_hash[old.line_hash]
            siblings[:] = [x for x in siblings if x.entry_id != line.entry_id]
            if not siblings:
                del self.by_hash[old.line_hash]
        self.lines[line.entry_id] = line
        self.by_hash[line.line_hash].append(line)
        self.by_hash[line.line_hash].sort(key=lambda x: x.entry_id)


@dataclass
class CopyState:
    """A copy as merged: its length, first and last entries, and how often each line text
    occurs in it (callers may reuse and grow their lists, so none is kept)."""

    length: int
    first: Entry | None
    last: Entry | None
    counts: Counter[str]

    @classmethod
    def of(cls, entries: Sequence[Entry], counts: Counter[str]) -> CopyState:
        return cls(len(entries), entries[0] if entries else None, entries[-1] if entries else None, counts)

    def extended_by(self, entries: Sequence[Entry]) -> bool:
        """True when `entries` is this copy plus lines appended (the parser reuses the very
        Entry objects of a copy it extends, so identity is enough)."""
        n = self.length
        return 0 < n <= len(entries) and entries[n - 1] is self.last and entries[0] is self.first


@lru_cache(maxsize=200_000)
def line_hash(raw: str) -> str:
    """A short stable hash of a line's content (spacing and script differences ignored)."""
    return hashlib.blake2b(" ".join(raw.split()).encode("utf-8"), digest_size=8).hexdigest()


def entry_key(author: str, raw: str) -> str:
    return hashlib.blake2b(f"{author}\x1f{' '.join(raw.split())}".encode(), digest_size=16).hexdigest()


def identity_of(entry: Entry) -> str:
    """Who a line is about: folded nickname and address ("" when the line names nobody)."""
    member = fold_key(entry.member or "")
    address = fold_key(entry.address or "")
    return f"{member}|{address}" if member or address else ""


def same_identity(a: str, b: str) -> bool:
    if not a or not b:
        return False
    member_a, address_a = a.split("|", 1)
    member_b, address_b = b.split("|", 1)
    return bool(member_a and member_a == member_b) or bool(address_a and address_a == address_b)


def diff_copy(
    known: Iterable[KnownLine] | KnownIndex,
    entries: Sequence[Entry],
    sender: str,
    leaders: set[str] | frozenset[str] = frozenset(),
) -> MergePlan:
    """What one more copy of a chain changes, given the lines already known.

    With a KnownIndex whose `last_copy` this copy merely extends (and nothing else changed
    since), only the appended lines are examined: everything the last copy held is present
    again, and what it lacked is already marked missing. The result is the same either way.
    """
    index = known if isinstance(known, KnownIndex) else KnownIndex(known)
    last = index.last_copy
    if last is not None and last.extended_by(entries):
        plan, counts, absent = _diff_appended(index, last, entries, sender)
    else:
        plan, counts, absent = _diff_whole(index, entries, sender)
    unpaired = _pair_edits(plan, plan.fresh, absent, sender, leaders)
    paired_ids = {k.entry_id for k, _ in (*plan.edits, *plan.cancels)} | {
        k.entry_id for k, _ in plan.reviews if k is not None
    }
    plan.missing = [
        line for line in absent
        if line.active and not line.missing and line.entry_id not in paired_ids
    ]
    for new in unpaired:
        if new.entry.cancel:
            _cancel_by_identity(plan, new, known_lines=list(index.lines.values()), sender=sender,
                                leaders=leaders)
        else:
            plan.added.append(new)
    # Edits and cancellations change which known line stands for which text: after one, the
    # next copy is compared whole.
    rewritten = plan.edits or plan.cancels or plan.reviews or plan.cancel_lines
    index.last_copy = None if rewritten else CopyState.of(entries, counts)
    return plan


def _see(plan: MergePlan, index: KnownIndex, entry: Entry, counts: Counter[str], sender: str) -> str:
    h = line_hash(entry.raw)
    counts[h] += 1
    # The same text twice in one copy is two orders only if we know fewer of them.
    same = index.by_hash.get(h, ()) if h in index.by_hash else ()
    if counts[h] > len(same):
        plan.fresh.append(NewLine(entry, h, entry.author or sender))
    else:
        line = same[counts[h] - 1]
        if line.seq != entry.seq and line.active:
            plan.renumbered.append((line, entry.seq))
    return h


def _diff_whole(index: KnownIndex, entries: Sequence[Entry], sender: str):
    plan, counts = MergePlan(), Counter()
    for entry in entries:
        _see(plan, index, entry, counts, sender)
    absent = [line for h, lines in index.by_hash.items() for line in lines[counts.get(h, 0):]]
    for h, lines in index.by_hash.items():
        plan.reappeared.extend(line for line in lines[: counts.get(h, 0)] if line.missing)
    return plan, counts, absent


def _diff_appended(index: KnownIndex, last: CopyState, entries: Sequence[Entry], sender: str):
    plan, counts = MergePlan(), last.counts
    seen = {_see(plan, index, entry, counts, sender) for entry in entries[last.length:]}
    back = set()
    for h in seen:
        for line in index.by_hash.get(h, ())[: counts[h]]:
            if line.missing:
                plan.reappeared.append(line)
                back.add(line.entry_id)
    absent = [index.lines[i] for i in index.missing_ids if i not in back]
    return plan, counts, absent


def _pair_edits(plan, fresh, absent, sender, leaders) -> list[NewLine]:
    """Pair each new line with an absent known line about the same person (same number first)."""
    free = [line for line in absent if line.active]
    unpaired: list[NewLine] = []
    for new in fresh:
        ident = identity_of(new.entry)
        candidates = [k for k in free if same_identity(k.identity, ident)]
        if not candidates:
            unpaired.append(new)
            continue
        # Ties go to the oldest line: a total order, so the appended-copy fast path, the full
        # comparison, a restarted process and `jielong rebuild` all pick the same line.
        target = min(candidates, key=lambda k: (k.seq != new.entry.seq, abs(k.seq - new.entry.seq), k.entry_id))
        free.remove(target)
        allowed = sender == target.author or sender in leaders
        if not allowed:
            plan.reviews.append((target, new))
        elif new.entry.cancel and not _rewrites(new.entry):
            plan.cancels.append((target, new))
        else:
            plan.edits.append((target, new))
    return unpaired


def _rewrites(entry: Entry) -> bool:
    """"不要了，换成梨2斤" in place of the member's line: the line now orders pears, which is
    an edit (it withdraws the whole old order and names nothing in particular)."""
    return bool(entry.items) and not entry.cancel_items


def _cancel_by_identity(plan, new: NewLine, known_lines, sender, leaders) -> None:
    ident = identity_of(new.entry)
    targets = [
        k for k in known_lines
        if k.active and (same_identity(k.identity, ident) if ident else k.author == sender)
    ]
    allowed = [k for k in targets if sender == k.author or sender in leaders]
    if not allowed:
        if not targets and new.entry.items:
            plan.added.append(new)  # nothing of theirs to cancel, but it orders: an order
        else:
            plan.reviews.append((None, new))
        return
    plan.cancel_lines.append((allowed, new))
