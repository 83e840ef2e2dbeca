"""Any text at all: the parser returns a result (never raises) and never hangs. Hypothesis
draws arbitrary text and text built from the pieces chains are made of."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import ChainParser, ParsedMessage, parse_message
from parsers.accounting import MAX_PLAUSIBLE
from parsers.merge import KnownIndex, diff_copy
from parsers.model import FlagKind
from tests.parsers.catalogs import EGGS_ONLY, FRUIT

PIECES = ["#接龙", "#接龍", "\n", "1.", "2、", "3)", "１．", " ", "3栋502", "5-2-301", "王姐", "西瓜", "麒麟西瓜",
          "2个", "x2", "×3", "+1", "两斤", "半", "一串", "鸭蛋", "取消", "不要了", "已付", "18:00", "5.30",
          "[玫瑰]", "例", "【12】", "¥28", "15元/个", "<appmsg>", "<type>53</type>", "<title>", "😀", "\u2005",
          "wxid_abc:", "号", "斤", "9" * 30, "-", "～", "（", "）",
          # the rules of issue 10: corrections, codes, ranges, odd amounts, money, pack sizes
          "改成", "取消一箱", "不要了", "照旧", "换成", "→", "再加", "少", "3号", "①", "A：", "B", "各",
          "2-3个", "三四斤", "1.2345", "1e308", "inf", "十亿", "5L", "30枚装", "*24", "已付116", "转36", "块",
          "块钱的", "两个人的", "俩", "-3个", "12月3号", "6楼", "其中", "份", "套餐", "番茄", "小番茄", "¥", "0个"]
BOUNDED = settings(max_examples=150, deadline=timedelta(seconds=2),
                   suppress_health_check=[HealthCheck.too_slow])


def check(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for entry in parsed.entries:
        assert isinstance(entry.seq, int) and isinstance(entry.raw, str)
        # every counted amount is one a neighbour could mean (the rest is asked about)
        assert all(0 < item.qty < MAX_PLAUSIBLE for item in entry.items), entry
        assert all(c.qty is None or c.qty > 0 for c in entry.cancel_items), entry
        assert all(isinstance(f.kind, FlagKind) for f in entry.flags)


@BOUNDED
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    check(parse_message(text, FRUIT))
    check(parse_message(text))


@BOUNDED
@given(st.lists(st.sampled_from(PIECES), max_size=80).map("".join))
def test_chain_shaped_text(text: str) -> None:
    check(parse_message(text, FRUIT))
    check(parse_message(text, EGGS_ONLY))


HEADERS = ["1号 麒麟西瓜 2号 阳光玫瑰", "A：麒麟西瓜 15元/份 B：阳光玫瑰 25元/串", "① 西瓜 ② 葡萄", "团"]


@BOUNDED
@given(st.sampled_from(HEADERS), st.lists(st.lists(st.sampled_from(PIECES), max_size=14).map("".join), max_size=8))
def test_entry_lines_under_numbered_headers(header: str, lines: list[str]) -> None:
    """The header's product codes and letters, with any entry lines under them."""
    text = f"#接龙\n{header}\n\n" + "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
    check(parse_message(text, FRUIT))
    check(parse_message(text))


@settings(max_examples=60, deadline=timedelta(seconds=2))
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), min_size=1, max_size=6))
def test_successive_copies_merge_without_errors(lines: list[str]) -> None:
    parser = ChainParser(FRUIT)
    index = KnownIndex()
    text = "#接龙\n团"
    for n, line in enumerate(lines, start=1):
        text += f"\n{n}. {line}"
        entries = parser.parse(text).entries
        plan = diff_copy(index, entries, f"wxid_{n}")
        assert len(plan.added) <= len(entries)


def test_huge_inputs_return() -> None:
    check(parse_message("1" * 1_000_000, FRUIT))
    check(parse_message("西瓜" * 300_000, FRUIT))
    check(parse_message("#接龙\n" + "\n".join(f"{k}. 王姐{k} 西瓜{k % 9}个" for k in range(1, 5001)), FRUIT))
