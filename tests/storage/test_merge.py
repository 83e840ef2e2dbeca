"""parsers.merge: what one more copy of a chain changes, as pure data (no database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from parsers.merge import KnownLine, MergePlan, diff_copy, identity_of, line_hash, same_identity
from parsers.model import CancelItem, Entry, Item

LEADER = "wxid_leader"


def entry(seq: int, raw: str, member: str | None = None, address: str | None = None, *,
          cancel: bool = False, author: str | None = None, withdraws=(), orders=()) -> Entry:
    """`withdraws`: (sku, qty) a cancelling line names; `orders`: (sku, qty) it orders."""
    return Entry(seq=seq, raw=raw, member=member, address=address, cancel=cancel, author=author,
                 cancel_items=[CancelItem(raw, sku, sku, qty) for sku, qty in withdraws],
                 items=[Item(raw, sku, sku, qty) for sku, qty in orders])


def known(entry_id: int, e: Entry, author: str, *, active: bool = True, missing: bool = False) -> KnownLine:
    return KnownLine(entry_id=entry_id, line_hash=line_hash(e.raw), author=author, seq=e.seq,
                     identity=identity_of(e), active=active, missing=missing)


WANG = entry(1, "3栋502 王姐 西瓜2个", "王姐", "3栋502")
LI = entry(2, "李四 西瓜1个", "李四")
ZHAO = entry(3, "赵哥 葡萄1串", "赵哥")


@dataclass
class Case:
    known: list[KnownLine]
    copy: list[Entry]
    sender: str
    expect: dict  # plan field → what it must hold (entry ids, or raws of new lines)


def _summary(plan: MergePlan) -> dict:
    """The plan as plain data: known lines by entry id, new lines by their raw text."""
    return {
        "added": [(n.entry.raw, n.author) for n in plan.added],
        "edits": [(k.entry_id, n.entry.raw) for k, n in plan.edits],
        "cancels": [(k.entry_id, n.entry.raw) for k, n in plan.cancels],
        "cancel_lines": [(sorted(k.entry_id for k in ks), n.entry.raw) for ks, n in plan.cancel_lines],
        "reviews": [(k.entry_id if k else None, n.entry.raw) for k, n in plan.reviews],
        "withdraws": [[(c.sku, c.qty) for c in n.withdraws] for _, n in (*plan.cancels, *plan.cancel_lines)
                      if n.withdraws],
        "orders_too": [[(i.sku, i.qty) for i in n.orders] for _, n in (*plan.cancels, *plan.cancel_lines)
                       if n.orders],
        "missing": [k.entry_id for k in plan.missing],
        "reappeared": [k.entry_id for k in plan.reappeared],
        "renumbered": [(k.entry_id, seq) for k, seq in plan.renumbered],
    }


CASES = {
    "first copy: every line is new, attributed to the sender": Case(
        [], [WANG, LI], "wxid_li", {"added": [(WANG.raw, "wxid_li"), (LI.raw, "wxid_li")]}),
    "type-53 author wins over the sender": Case(
        [], [entry(1, "王姐 西瓜2个", "王姐", author="wxid_wang")], "wxid_li",
        {"added": [("王姐 西瓜2个", "wxid_wang")]}),
    "an identical repost changes nothing": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")], [WANG, LI], "wxid_zhao", {}),
    "spacing differences are the same line": Case(
        [known(1, WANG, "wxid_wang")], [entry(1, "3栋502  王姐   西瓜2个", "王姐", "3栋502")], "wxid_li", {}),
    "an appended line is new, the rest untouched": Case(
        [known(1, WANG, "wxid_wang")], [WANG, LI], "wxid_li", {"added": [(LI.raw, "wxid_li")]}),
    "concurrent copy: the other's line is missing, not cancelled, and ours is added": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, ZHAO.raw, "赵哥")], "wxid_zhao",
        {"added": [(ZHAO.raw, "wxid_zhao")], "missing": [2], "renumbered": []}),
    "a line already marked missing is not reported again": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li", missing=True)], [WANG], "wxid_zhao", {}),
    "a missing line that shows up again reappears": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li", missing=True)], [WANG, LI], "wxid_zhao",
        {"reappeared": [2]}),
    "a member editing their own line is an edit": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 西瓜3个", "李四")], "wxid_li", {"edits": [(2, "李四 西瓜3个")]}),
    "an edit is found by identity even when the number moved": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [entry(1, "李四 西瓜3个", "李四"), entry(2, WANG.raw, "王姐", "3栋502")], "wxid_li",
        {"edits": [(2, "李四 西瓜3个")], "renumbered": [(1, 2)]}),
    "an edit matched by address when the nickname changed": Case(
        [known(1, WANG, "wxid_wang")], [entry(1, "3栋502 王大姐 西瓜3个", "王大姐", "3栋502")], "wxid_wang",
        {"edits": [(1, "3栋502 王大姐 西瓜3个")]}),
    "someone else changing a member's line is recorded for review, not applied": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 西瓜9个", "李四")], "wxid_zhao", {"reviews": [(2, "李四 西瓜9个")]}),
    "the leader may change anyone's line": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 西瓜9个", "李四")], LEADER, {"edits": [(2, "李四 西瓜9个")]}),
    "the author rewriting their line as a cancellation cancels it": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 取消", "李四", cancel=True)], "wxid_li", {"cancels": [(2, "李四 取消")]}),
    "the leader may cancel anyone's line": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 不要了", "李四", cancel=True)], LEADER, {"cancels": [(2, "李四 不要了")]}),
    "someone else cancelling a member's line goes to review": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, entry(2, "李四 取消", "李四", cancel=True)], "wxid_zhao", {"reviews": [(2, "李四 取消")]}),
    "a separate cancellation line cancels the author's lines with that identity": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "李四 取消", "李四", cancel=True)], "wxid_li",
        {"cancel_lines": [([2], "李四 取消")]}),
    "a cancellation line without a name cancels the sender's own lines": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "取消", cancel=True)], "wxid_li", {"cancel_lines": [([2], "取消")]}),
    "a separate cancellation of someone else's lines by a member goes to review": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "李四 取消", "李四", cancel=True)], "wxid_zhao",
        {"reviews": [(None, "李四 取消")]}),
    "a separate cancellation by the leader cancels": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "李四 取消", "李四", cancel=True)], LEADER,
        {"cancel_lines": [([2], "李四 取消")]}),
    "the same member ordering again in a new line adds to their order": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "李四 葡萄1串", "李四")], "wxid_li", {"added": [("李四 葡萄1串", "wxid_li")]}),
    "the same text twice in one copy is two orders": Case(
        [known(1, LI, "wxid_li")], [LI, entry(2, LI.raw, "李四")], "wxid_li",
        {"added": [(LI.raw, "wxid_li")]}),
    "a cancelled line still in the copy changes nothing": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li", active=False)], [WANG, LI], "wxid_li", {}),
    "a line that names nobody and changed: the new text is new, the old one missing": Case(
        [known(1, entry(1, "西瓜1个"), "wxid_li")], [entry(1, "西瓜2个")], "wxid_li",
        {"added": [("西瓜2个", "wxid_li")], "missing": [1]}),
    # 2026-12 issue 10: a cancel by its author cancels only what it names
    "a separate line naming a product withdraws only that product of the member's lines": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [WANG, LI, entry(3, "李四 西瓜不要了", "李四", cancel=True, withdraws=[("XG01", None)])], "wxid_li",
        {"cancel_lines": [([2], "李四 西瓜不要了")], "withdraws": [[("XG01", None)]]}),
    "a separate line cancelling part of an amount names the amount": Case(
        [known(1, WANG, "wxid_wang")],
        [WANG, entry(2, "王姐 取消一个西瓜", "王姐", cancel=True, withdraws=[("XG01", 1)])], "wxid_wang",
        {"cancel_lines": [([1], "王姐 取消一个西瓜")], "withdraws": [[("XG01", 1)]]}),
    "a cancelling line that also orders carries its order": Case(
        [known(1, WANG, "wxid_wang")],
        [WANG, entry(2, "王姐 西瓜不要了 换成葡萄1串", "王姐", cancel=True, withdraws=[("XG01", None)],
                     orders=[("PT01", 1)])], "wxid_wang",
        {"cancel_lines": [([1], "王姐 西瓜不要了 换成葡萄1串")], "withdraws": [[("XG01", None)]],
         "orders_too": [[("PT01", 1)]]}),
    "the author rewriting their line to withdraw one product is a named cancel of it": Case(
        [known(1, WANG, "wxid_wang")],
        [entry(1, "3栋502 王姐 西瓜不要了 葡萄照旧", "王姐", "3栋502", cancel=True, withdraws=[("XG01", None)])],
        "wxid_wang", {"cancels": [(1, "3栋502 王姐 西瓜不要了 葡萄照旧")], "withdraws": [[("XG01", None)]]}),
    "the author rewriting their line as 'cancel, order this instead' edits it": Case(
        [known(1, WANG, "wxid_wang")],
        [entry(1, "3栋502 王姐 不要了，换成葡萄2串", "王姐", "3栋502", cancel=True, orders=[("PT01", 2)])],
        "wxid_wang", {"edits": [(1, "3栋502 王姐 不要了，换成葡萄2串")]}),
    "a cancelling line that orders, by someone with no lines yet, is an order": Case(
        [known(1, WANG, "wxid_wang")],
        [WANG, entry(2, "赵哥 不要了，换成葡萄2串", "赵哥", cancel=True, orders=[("PT01", 2)])], "wxid_zhao",
        {"added": [("赵哥 不要了，换成葡萄2串", "wxid_zhao")]}),
    "a named cancel of someone else's product by a member goes to review": Case(
        [known(1, WANG, "wxid_wang")],
        [WANG, entry(2, "王姐 西瓜不要了", "王姐", cancel=True, withdraws=[("XG01", None)])], "wxid_zhao",
        {"reviews": [(None, "王姐 西瓜不要了")]}),
    "a renumbered line takes its new number": Case(
        [known(1, WANG, "wxid_wang"), known(2, LI, "wxid_li")],
        [entry(1, LI.raw, "李四")], "wxid_li", {"missing": [1], "renumbered": [(2, 1)]}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_diff_copy(case: Case):
    plan = diff_copy(case.known, case.copy, case.sender, {LEADER})
    expected = {key: [] for key in _summary(MergePlan())} | case.expect
    assert _summary(plan) == expected
    assert plan.changed == any(expected.values())


@pytest.mark.parametrize(("a", "b", "same"), [
    ("王姐|3栋502", "王姐|", True),
    ("王姐|3栋502", "|3栋502", True),
    ("王姐|", "李四|", False),
    ("", "", False),
    ("王姐|", "", False),
], ids=["same-name", "same-address", "different", "both-empty", "one-empty"])
def test_same_identity(a, b, same):
    assert same_identity(a, b) is same


def test_line_hash_ignores_spacing_only():
    assert line_hash("王姐  西瓜 2个") == line_hash("王姐 西瓜 2个")
    assert line_hash("王姐 西瓜2个") != line_hash("王姐 西瓜3个")
