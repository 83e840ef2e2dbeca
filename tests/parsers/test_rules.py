"""The parser's rule tables, one parametrised test per table: every row of every table has an
example here (a row without one fails `test_every_rule_has_an_example`), and each example
does what its row says. A platform or an engineer adding a row adds its example."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parsers import ChainParser, Product, ProductMatcher, parse_message
from parsers.corrections import MARKS, Mark, find_marks
from parsers.entry import MEAL_WORDS, UNIT_FACTORS
from parsers.identity import ADDRESS_PATTERNS, find_address
from parsers.model import FlagKind
from parsers.quantity import (
    NOT_QTY_PATTERNS,
    QTY_PATTERNS,
    SUSPECT_PATTERNS,
    find_quantities,
    non_quantities,
    suspect_numbers,
)
from parsers.structure import CHAIN_MARKERS
from parsers.synonyms import KINDS, SYNONYMS, VARIETY_MODIFIERS

QTY_EXAMPLES = {
    "times": ("×3", 3, ""), "plus": ("+2", 2, ""), "bracket": ("【12】", 12, ""), "people": ("两个人的", 2, "人"),
    "counted": ("西瓜俩", 2, ""), "unit": ("一斤半", 1.5, "斤"),
}


@pytest.mark.parametrize("kind", [k for k, _ in QTY_PATTERNS])
def test_quantity_patterns(kind: str) -> None:
    text, qty, unit = QTY_EXAMPLES[kind]
    assert [(q.kind, q.qty, q.unit) for q in find_quantities(text)] == [(kind, qty, unit)]


NOT_QTY_EXAMPLES = {
    "time": "18:30", "clock": "7点半", "payment": "已付116", "price": "15元/个", "phone": "尾号1234",
    "date": "12月3号", "code": "gt7",
}


@pytest.mark.parametrize("kind", [k for k, _ in NOT_QTY_PATTERNS])
def test_numbers_that_are_no_amounts(kind: str) -> None:
    text = NOT_QTY_EXAMPLES[kind]
    assert [(text[s.start:s.end], s.kind) for s in non_quantities(text)] == [(text, kind)]
    assert find_quantities(text.replace(text, " " * len(text))) == []


SUSPECT_EXAMPLES = {0: ("2-3个", FlagKind.RANGE), 1: ("三四", FlagKind.RANGE), 2: ("1.2345", FlagKind.IMPLAUSIBLE_QUANTITY)}


@pytest.mark.parametrize("row", range(len(SUSPECT_PATTERNS)))
def test_suspect_numbers(row: int) -> None:
    text, kind = SUSPECT_EXAMPLES[row]
    assert SUSPECT_PATTERNS[row][0] is kind
    assert [(f"{text}斤"[s.start:s.end], s.kind) for s in suspect_numbers(f"{text}斤")] == [(text, kind.value)]


MARK_EXAMPLES = {0: ("（取消）", Mark.CANCEL), 1: ("不要了", Mark.CANCEL), 2: ("改成", Mark.CHANGE), 3: ("再加", Mark.ADD),
                 4: ("少要", Mark.REDUCE), 5: ("照旧", Mark.KEEP)}


@pytest.mark.parametrize("row", range(len(MARKS)))
def test_marks(row: int) -> None:
    text, mark = MARK_EXAMPLES[row]
    assert MARKS[row][0] is mark
    assert [(m.mark, text[m.start:m.end]) for m in find_marks(text)] == [(mark, text)]


ADDRESS_EXAMPLES = {
    "building-unit-room": "3栋2单元502", "tower-room": "A座2103", "dash-3": "5-2-301", "dash-2": "295-909",
    "place-building": "云谷11栋", "building": "3号楼", "gate": "3号门", "floor": "6楼", "room": "1201室",
    "area": "E区东门", "area-code": "H1",
}


@pytest.mark.parametrize("name", [n for n, _ in ADDRESS_PATTERNS])
def test_address_patterns(name: str) -> None:
    text = ADDRESS_EXAMPLES[name]
    m = find_address(f"王姐 {text} 西瓜1个")
    assert m is not None and m.group(0).strip() == text


def _product(name: str, unit: str = "斤", sku: str = "P1", price: str = "10") -> Product:
    return Product(sku, name, Decimal(price), unit)


@pytest.mark.parametrize("group", SYNONYMS, ids=["/".join(g) for g in SYNONYMS])
def test_synonyms(group: tuple[str, ...]) -> None:
    matcher = ProductMatcher([_product(f"本地{group[0]}"), _product("无关商品", sku="P2")])
    for word in group[1:]:
        assert matcher.match(f"本地{word}").product.sku == "P1", word


@pytest.mark.parametrize(("words", "varieties"), KINDS, ids=[w[0] for w, _ in KINDS])
def test_kinds(words: tuple[str, ...], varieties: tuple[str, ...]) -> None:
    matcher = ProductMatcher([_product(varieties[0]), _product("无关商品", sku="P2")])
    for word in words:
        assert matcher.match(word).product.sku == "P1", word


@pytest.mark.parametrize("modifier", sorted(VARIETY_MODIFIERS))
def test_variety_modifiers(modifier: str) -> None:
    """小番茄 is no 西红柿: a modifier glued before a sold name makes another product, asked about."""
    entry = parse_message(f"#接龙\n团\n\n1. 王姐 {modifier}西红柿2斤", [_product("西红柿"), _product("土豆", sku="P2")]).entries[0]
    assert entry.items == [] and entry.unmatched, entry


@pytest.mark.parametrize(("units", "factor"), UNIT_FACTORS.items(), ids=[f"{a}>{b}" for a, b in UNIT_FACTORS])
def test_unit_factors(units: tuple[str, str], factor: float) -> None:
    written, sold = units
    amount = 500 if factor < 0.01 else 2  # 500 克 is a pound: what people write in grams
    entry = parse_message(f"#接龙\n团\n\n1. 王姐 西红柿{amount}{written}",
                          [_product("西红柿", sold), _product("土豆", sku="P2")]).entries[0]
    assert [(i.qty, i.unit) for i in entry.items] == [(round(amount * factor, 3), sold)], entry


@pytest.mark.parametrize("marker", CHAIN_MARKERS)
def test_chain_markers(marker: str) -> None:
    parsed = parse_message(f"{marker}\n周三水果团\n1. 王姐 西红柿2斤", [_product("西红柿")])
    assert parsed.is_chain and parsed.title == "周三水果团" and len(parsed.entries) == 1


@pytest.mark.parametrize("word", MEAL_WORDS)
def test_meal_words(word: str) -> None:
    """A lunch chain's set meal among cheap extras: a line naming only a person orders one."""
    catalog = [_product(f"红烧肉{word}", "份", "M", "18"), _product("小菜", "份", "S", "2")]
    entry = ChainParser(catalog).parse("#接龙\n午饭\n\n1. 王姐 少饭").entries[0]
    assert [(i.sku, i.qty) for i in entry.items] == [("M", 1.0)]


def test_every_rule_has_an_example() -> None:
    assert set(QTY_EXAMPLES) == {k for k, _ in QTY_PATTERNS}
    assert set(NOT_QTY_EXAMPLES) == {k for k, _ in NOT_QTY_PATTERNS}
    assert set(SUSPECT_EXAMPLES) == set(range(len(SUSPECT_PATTERNS)))
    assert set(MARK_EXAMPLES) == set(range(len(MARKS)))
    assert set(ADDRESS_EXAMPLES) == {n for n, _ in ADDRESS_PATTERNS}
