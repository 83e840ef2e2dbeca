"""The fast path of the merger (a copy that only appends lines to the last copy) decides
exactly what the full comparison decides. Hypothesis builds copy sequences with concurrent
copies, edits and repeats, applies each plan to two indexes — one allowed the fast path, one
not — and compares the plans."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from parsers import ChainParser
from parsers.merge import KnownIndex, KnownLine, MergePlan, diff_copy, identity_of
from tests.parsers.catalogs import FRUIT

LINES = ["3栋502 王姐 西瓜2个", "5栋101 张叔 鸡蛋1盒", "小陈 西瓜1个", "刘姐 葡萄1串", "王姐 西瓜1个",
         "6栋302 赵哥 大米1袋", "小陈 西瓜1个 取消", "3栋502 王姐 西瓜3个", "Amy 柠檬2个",
         "3栋502 王姐 西瓜不要了 葡萄照旧", "小陈 不要了，换成葡萄2串", "刘姐 取消一串葡萄"]


def apply(index: KnownIndex, plan: MergePlan, next_id: list[int]) -> None:
    """What storage.chains does with a plan, as far as the known lines go."""

    def remember(new, active: bool = True) -> None:
        next_id[0] += 1
        index.put(KnownLine(next_id[0], new.line_hash, new.author, new.entry.seq, identity_of(new.entry), active))

    for new in plan.added:
        remember(new)
    for _line, new in plan.reviews:
        remember(new, active=False)  # kept for the leader, never counted
    # A named cancel withdraws products and leaves the line active (this index does not know
    # items; storage keeps a line active while anything of it is left); a whole cancel ends it.
    for line, new in plan.cancels:
        index.put(replace(line, line_hash=new.line_hash, active=bool(new.withdraws)))
    for targets, new in plan.cancel_lines:
        for line in targets:
            index.put(replace(index.lines[line.entry_id], active=bool(new.withdraws)))
        remember(new, active=bool(new.orders))
    for line, new in plan.edits:
        index.put(replace(line, line_hash=new.line_hash, seq=new.entry.seq, identity=identity_of(new.entry),
                          missing=False))
    for line in plan.missing:
        index.put(replace(line, missing=True))
    for line in plan.reappeared:
        index.put(replace(index.lines[line.entry_id], missing=False))
    for line, seq in plan.renumbered:
        index.put(replace(index.lines[line.entry_id], seq=seq))


def summary(plan: MergePlan) -> tuple:
    return (sorted(n.line_hash for n in plan.added), sorted(k.entry_id for k, _ in plan.edits),
            sorted(k.entry_id for k in plan.missing), sorted(k.entry_id for k in plan.reappeared),
            sorted((k.entry_id, s) for k, s in plan.renumbered), len(plan.reviews), len(plan.cancel_lines))


# A step: ("append", line) extends the current copy; ("fork", keep, line) copies an older
# version (its first `keep` lines) and appends a line, as a concurrent copier does.
STEP = st.one_of(st.tuples(st.just("append"), st.sampled_from(LINES)),
                 st.tuples(st.just("fork"), st.integers(0, 6), st.sampled_from(LINES)))


# Found by hypothesis (2026-12): two known lines tie for an edit; the fast path and the full
# comparison picked different ones until ties went to the oldest line.
TIE_ON_EDIT = ([("append", "王姐 西瓜1个"), ("append", "3栋502 王姐 西瓜2个"), ("append", "3栋502 王姐 西瓜2个"),
                ("fork", 0, "3栋502 王姐 西瓜2个"), ("append", "3栋502 王姐 西瓜3个")], ["wxid_a"] * 14)


@settings(max_examples=150, deadline=None)
@example(*TIE_ON_EDIT)
@given(st.lists(STEP, min_size=1, max_size=14), st.lists(st.sampled_from(["wxid_a", "wxid_b", "wxid_c"]), min_size=14, max_size=14))
def test_fast_path_equals_full_comparison(steps, senders) -> None:
    parser = ChainParser(FRUIT)
    fast, full = KnownIndex(), KnownIndex()
    ids_fast, ids_full = [0], [0]
    lines: list[str] = []
    for step, sender in zip(steps, senders, strict=False):
        lines = [*lines, step[1]] if step[0] == "append" else [*lines[:step[1]], step[2]]
        text = "#接龙\n周三水果团\n" + "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
        entries = parser.parse(text).entries
        full.last_copy = None  # never the fast path
        plan_fast = diff_copy(fast, entries, sender)
        plan_full = diff_copy(full, entries, sender)
        assert summary(plan_fast) == summary(plan_full), (step, lines)
        apply(fast, plan_fast, ids_fast)
        apply(full, plan_full, ids_full)
