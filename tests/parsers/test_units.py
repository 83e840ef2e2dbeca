"""Quantities, numerals, matching tiers, free-text orders and the catalog CSV, case by case."""

from __future__ import annotations

import pytest

from parsers import CatalogError, ProductMatcher, parse_catalog_csv, parse_message
from parsers.quantity import cn_to_number, find_quantities, mask_non_quantities
from tests.parsers.catalogs import FRUIT

NUMERALS = [("一", 1), ("两", 2), ("俩", 2), ("二", 2), ("三", 3), ("十", 10), ("十二", 12), ("二十", 20),
            ("二十五", 25), ("一百", 100), ("一百零五", 105), ("半", 0.5), ("3", 3), ("1.5", 1.5), ("仨", 3)]


@pytest.mark.parametrize(("text", "number"), NUMERALS, ids=[t for t, _ in NUMERALS])
def test_numerals(text: str, number: float) -> None:
    assert cn_to_number(text) == number


def test_not_a_numeral() -> None:
    assert cn_to_number("西瓜") is None


QTYS = [
    ("2个", [(2, "个")]), ("x2", [(2, "")]), ("×3", [(3, "")]), ("*2", [(2, "")]), ("+1", [(1, "")]),
    ("加1", [(1, "")]), ("【12】", [(12, "")]), ("一斤半", [(1.5, "斤")]), ("半斤", [(0.5, "斤")]),
    ("两斤", [(2, "斤")]), ("三两", [(3, "两")]), ("1kg", [(1, "kg")]), ("2公斤", [(2, "公斤")]),
    ("7:30", []), ("18:00取", []), ("付了25元", []), ("gt7", []), ("尾号1234", []), ("13812345678", []),
    ("5.30左右", []), ("11月25日", []), ("10点半", []), ("¥30", []), ("西瓜2个苹果3斤", [(2, "个"), (3, "斤")]),
]


@pytest.mark.parametrize(("text", "expected"), QTYS, ids=[t for t, _ in QTYS])
def test_quantities(text: str, expected: list) -> None:
    found = [(q.qty, q.unit) for q in find_quantities(mask_non_quantities(text))]
    assert found == [(float(n), u) for n, u in expected]


MATCHES = [
    ("西瓜", "XG01", "exact"), ("麒麟西瓜", "XG01", "exact"), ("杨光玫瑰", "PT01", "sound"),
    ("沙糖桔", "JZ01", "sound"), ("蘋果", "PG01", "exact"), ("玫瑰", "PT01", "part"), ("大西瓜", "XG01", "around"),
    ("牛奶", "NN01", "exact"), ("鸡蛋", "JD01", "exact"), ("平果", "PG01", "sound"),
    ("鸭蛋", None, ""), ("羊肉馅", None, ""), ("肉馅", None, ""), ("榴莲", None, ""), ("哈密瓜", None, ""),
    ("三黄鸭", None, ""), ("酸奶", None, ""), ("", None, ""),
]


@pytest.fixture(scope="module")
def matcher() -> ProductMatcher:
    return ProductMatcher(FRUIT)


@pytest.mark.parametrize(("word", "sku", "kind"), MATCHES, ids=[w or "empty" for w, _, _ in MATCHES])
def test_matching(matcher: ProductMatcher, word: str, sku: str | None, kind: str) -> None:
    match = matcher.match(word)
    assert (match.product.sku if match.product else None) == sku
    if sku:
        assert match.kind == kind
    else:
        assert match.reason  # a miss always says why


def test_near_miss_names_the_product_it_resembles(matcher: ProductMatcher) -> None:
    assert matcher.match("鸭蛋").near.sku == "JD01"
    assert "土鸡蛋" in matcher.match("鸭蛋").reason


def test_ten_thousand_products_still_match() -> None:
    from parsers import Product

    products = [Product(f"S{i:05d}", f"商品{i}号{'苹果梨桃'[i % 4]}", 1, "个") for i in range(10_000)]
    products.append(Product("XG01", "麒麟西瓜", 15, "个", ("西瓜",)))
    big = ProductMatcher(products)
    assert big.match("西瓜").product.sku == "XG01"
    assert big.match("麒麟西瓜").product.sku == "XG01"


FREE = [
    ("+1 西瓜", [("XG01", 1)]), ("西瓜+1", [("XG01", 1)]), ("我要两斤猪肉馅", [("RX01", 2)]),
    ("@团长 我的西瓜改成3个", [("XG01", 3)]), ("鸡蛋x2", [("JD01", 2)]), ("来一箱砂糖橘", [("JZ01", 1)]),
    ("好的谢谢", None), ("明天几点到货", None), ("收到", None), ("[强][强]", None), ("👍", None),
    ("西瓜甜吗？", None), ("鸡蛋还有吗", None), ("西瓜不错", None), ("今天的葡萄好吃", None),
]


@pytest.mark.parametrize(("text", "items"), FREE, ids=[t for t, _ in FREE])
def test_free_text_orders(text: str, items) -> None:
    parsed = parse_message(text, FRUIT)
    assert parsed.is_chain is False
    if items is None:
        assert not parsed.order
    else:
        assert [(i.sku, i.qty) for i in parsed.order] == [(s, float(q)) for s, q in items]


def test_free_text_without_catalog_is_nothing() -> None:
    assert parse_message("+1 西瓜").order is None


CSV_OK = "\ufeffname,sku,price,unit,aliases,stock\n麒麟西瓜,XG01,15,个,西瓜|瓜,100\n阳光玫瑰,PT01,25.5,串,,\n"


def test_catalog_csv_any_column_order_and_bom() -> None:
    products = parse_catalog_csv(CSV_OK)
    assert [(p.sku, p.name, str(p.price), p.aliases, p.stock) for p in products] == [
        ("XG01", "麒麟西瓜", "15", ("西瓜", "瓜"), 100), ("PT01", "阳光玫瑰", "25.5", (), None)]


BAD_CSVS = [
    ("missing-price-column", "sku,name\nA,b\n", "line 1"),
    ("bad-price", "sku,name,price\nA,b,abc\n", "line 2"),
    ("negative-price", "sku,name,price\nA,b,-1\n", "line 2"),
    ("missing-name", "sku,name,price\nA,,1\n", "line 2"),
    ("duplicate-sku", "sku,name,price\nA,b,1\nA,c,2\n", "line 3"),
    ("bad-stock", "sku,name,price,stock\nA,b,1,lots\n", "line 2"),
    ("empty", "sku,name,price\n", "no products"),
    ("nan-price", "sku,name,price\nA,b,NaN\n", "line 2"),
]


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BAD_CSVS], ids=[i for i, _, _ in BAD_CSVS])
def test_broken_catalog_names_the_line(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog_csv(text)
