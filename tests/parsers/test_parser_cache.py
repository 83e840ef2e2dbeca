"""The caching ChainParser (remembered copies extended by their new lines, entry lines and
word splits read once) reads every message exactly as a fresh parse does, with many chains
interleaved, copies appending several lines at once, forks, repeats and forgotten copies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parsers.chain
from parsers import ChainParser, parse_message
from parsers.entry import parse_entry
from tests.parsers.catalogs import FRUIT

LINES = ["3栋502 王姐 西瓜2个", "5栋101 张叔 鸡蛋1盒", "小陈 西瓜1个", "刘姐葡萄1串", "王姐 西瓜1个 不要太熟",
         "6栋302 赵哥 大米1袋", "小陈 西瓜1个 取消", "Amy 柠檬2个", "钱多多麒麟西瓜阳光玫瑰各一", "西瓜王姐2个", "我要西瓜要大的3个", "例 3栋502 王姐 西瓜1个",
         "王姐 苹果不要了，西瓜照旧", "小雨123 西瓜2 葡萄1", "李哥 牛奶两箱 取消一箱", "张叔 苹果三四斤 西瓜1个", "刘姐 1号x2"]
TAILS = ["", "\n", "\n\n截单后不再加", "\n8栋"]

# A step: (chain, how many of its lines to keep, lines to append, tail)
STEP = st.tuples(st.integers(0, 5), st.integers(0, 8), st.lists(st.sampled_from(LINES), max_size=4),
                 st.sampled_from(TAILS))


def chain_text(chain: int, lines: list[str], tail: str) -> str:
    return f"#接龙\n第{chain}团 周三水果\n" + "\n".join(f"{n}. {line}" for n, line in enumerate(lines, 1)) + tail


@pytest.fixture
def few_remembered_copies(monkeypatch):
    monkeypatch.setattr(parsers.chain, "RECENT_CHAINS", 4)  # forgetting happens too


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=30))
@pytest.mark.usefixtures("few_remembered_copies")
def test_a_cached_parse_equals_a_fresh_parse(steps) -> None:
    parser = ChainParser(FRUIT)
    chains: dict[int, list[str]] = {}
    for chain, keep, appended, tail in steps:
        lines = chains[chain] = chains.get(chain, [])[:keep] + appended
        text = chain_text(chain, lines, tail)
        assert parser.parse(text) == parse_message(text, FRUIT), text


def test_two_hundred_interleaved_chains_each_extend_their_own_copy() -> None:
    parser = ChainParser(FRUIT)
    chains = {c: [] for c in range(200)}
    for round_ in range(3):
        for chain, lines in chains.items():
            lines.append(f"{chain}栋{round_}01 邻居{chain} 西瓜{round_ + 1}个")
            text = chain_text(chain, lines, "")
            parsed = parser.parse(text)
            assert parsed == parse_message(text, FRUIT)
            assert [e.address for e in parsed.entries] == [f"{chain}栋{r}01" for r in range(round_ + 1)]


@pytest.mark.parametrize("first, again, unmatched", [
    ("西瓜王姐2个", "小陈 西瓜王姐2个", ["王姐2个"]),
    ("我要西瓜要大的3个", "8栋 我要西瓜要大的3个", ["要大的3个"]),
])
def test_a_glued_word_read_again_elsewhere_in_a_line_keeps_its_place(first, again, unmatched) -> None:
    """A word's split is remembered; where its parts sit in the next line is that line's own:
    the quantity glued to the part before it stays with that part."""
    ctx = ChainParser(FRUIT).context_for(FRUIT)
    parse_entry(first, 1, ctx)
    entry = parse_entry(again, 2, ctx)
    assert [(i.name, i.qty) for i in entry.items] == [("麒麟西瓜", 1.0)]
    assert [u.text for u in entry.unmatched] == unmatched
