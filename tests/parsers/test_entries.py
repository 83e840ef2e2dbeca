"""Entry lines → member, address, items, unmatched, notes, marks. One table, grouped by where
the cases come from; each case checks only the fields it names."""

from __future__ import annotations

import pytest

from parsers import ChainParser
from tests.parsers.catalogs import EGGS_ONLY, FRUIT, RICE_ONLY

CATALOGS = {"fruit": FRUIT, "eggs": EGGS_ONLY, "rice": RICE_ONLY, "none": None}
_parsers: dict[str, ChainParser] = {}


def entry_of(line: str, catalog: str = "fruit"):
    parser = _parsers.setdefault(catalog, ChainParser(CATALOGS[catalog]))
    parsed = parser.parse(f"#接龙\n测试团\n1. {line}")
    assert parsed.is_chain and len(parsed.entries) == 1, parsed
    return parsed.entries[0]


# (id, line, expected) — expected keys: member, address, items [(sku, qty)], unmatched [text],
# note, cancel, paid, catalog
IDENTITY = [
    ("building-room-name", "3栋502 王姐 西瓜1个", {"member": "王姐", "address": "3栋502"}),
    ("name-building-room", "王姐 3栋502 西瓜1个", {"member": "王姐", "address": "3栋502"}),
    ("glued-address-name", "3栋502王姐 西瓜1个", {"member": "王姐", "address": "3栋502"}),
    ("dash-three", "5-2-301 刘阿姨 西瓜1个", {"member": "刘阿姨", "address": "5-2-301"}),
    ("dash-three-long", "12-1-302 张三 鸡蛋1盒", {"member": "张三", "address": "12-1-302"}),
    ("dash-two", "295-909 小李 鸡蛋2盒", {"member": "小李", "address": "295-909"}),
    ("building-only", "3号楼 陈哥 西瓜1个", {"member": "陈哥", "address": "3号楼"}),
    ("tower-room", "A座2103 Lily 葡萄1串", {"member": "Lily", "address": "A座2103"}),
    ("unit-room", "3号楼2单元301 老赵 大米1袋", {"member": "老赵", "address": "3号楼2单元301"}),
    ("zhuang-room", "7幢1102 钱多多 苹果3斤", {"member": "钱多多", "address": "7幢1102"}),
    ("english-name", "Bruce_Chen 西瓜1个", {"member": "Bruce_Chen", "address": None}),
    ("emoji-name", "冰✡️saya🫧 西瓜1个", {"member": "冰✡saya🫧"}),
    ("name-dash-area", "真真-F区 西瓜1个", {"member": "真真", "address": "F区"}),
    ("area-gate", "妮，E区东门，鸡蛋1盒", {"member": "妮", "address": "E区东门"}),
    ("area-code", "张涛 H1 鸡蛋1盒", {"member": "张涛", "address": "H1"}),
    ("name-only", "王姐 西瓜1个", {"member": "王姐", "address": None}),
    ("address-only", "8栋601 西瓜1个", {"member": None, "address": "8栋601"}),
    ("room-suffix", "1201室 孙姐 鸡蛋1盒", {"member": "孙姐", "address": "1201室"}),
    ("fullwidth-address", "３栋５０２ 王姐 西瓜１个", {"member": "王姐", "address": "3栋502", "items": [("XG01", 1)]}),
    ("name-with-underscore", "葫芦大侠_欢 西瓜1个", {"member": "葫芦大侠_欢"}),
    ("trailing-space-name", "陈扬  西瓜1个 ", {"member": "陈扬"}),
    ("name-dot", "Brittany.蔡 西瓜1个", {"member": "Brittany.蔡"}),
    ("building-name-glued-item", "2栋301李姐西瓜1个", {"address": "2栋301", "member": "李姐", "items": [("XG01", 1)]}),
    ("chinese-name-3", "欧阳娜娜 9栋1002 葡萄2串", {"member": "欧阳娜娜", "address": "9栋1002"}),
    ("no-identity", "西瓜2个", {"member": None, "address": None, "items": [("XG01", 2)]}),
]

QUANTITIES = [
    ("arabic-unit", "王姐 西瓜2个", {"items": [("XG01", 2)]}),
    ("chinese-yi", "王姐 阳光玫瑰一串", {"items": [("PT01", 1)]}),
    ("chinese-liang", "王姐 两斤猪肉馅", {"items": [("RX01", 2)]}),
    ("chinese-liang-after", "王姐 猪肉馅两斤", {"items": [("RX01", 2)]}),
    ("chinese-lia", "王姐 西瓜俩", {"items": [("XG01", 2)], "xfail": "俩 without a unit"}),
    ("chinese-er", "王姐 鸡蛋二盒", {"items": [("JD01", 2)]}),
    ("chinese-shi", "王姐 柠檬十个", {"items": [("LM01", 10)]}),
    ("chinese-ershi", "王姐 柠檬二十个", {"items": [("LM01", 20)]}),
    ("chinese-shier", "王姐 柠檬十二个", {"items": [("LM01", 12)]}),
    ("half-jin", "王姐 半斤猪肉馅", {"items": [("RX01", 0.5)]}),
    ("one-and-half", "王姐 猪肉馅一斤半", {"items": [("RX01", 1.5)]}),
    ("decimal", "王姐 猪肉馅1.5斤", {"items": [("RX01", 1.5)]}),
    ("x-lower", "王姐 西瓜x2", {"items": [("XG01", 2)]}),
    ("x-upper", "王姐 西瓜X3", {"items": [("XG01", 3)]}),
    ("times-sign", "王姐 西瓜×2", {"items": [("XG01", 2)]}),
    ("star", "王姐 西瓜*2", {"items": [("XG01", 2)]}),
    ("fullwidth-star", "王姐 西瓜＊2", {"items": [("XG01", 2)]}),
    ("plus-one", "王姐 西瓜+1", {"items": [("XG01", 1)]}),
    ("jia-one", "王姐 西瓜加1", {"items": [("XG01", 1)]}),
    ("x-spaced", "王姐 西瓜 x 2", {"items": [("XG01", 2)]}),
    ("unit-spaced", "王姐 西瓜 2个", {"items": [("XG01", 2)]}),
    ("qty-before-spaced", "王姐 2个 西瓜", {"items": [("XG01", 2)]}),
    ("no-qty-default-one", "王姐 西瓜", {"items": [("XG01", 1)]}),
    ("kg-to-jin", "王姐 猪肉馅1公斤", {"items": [("RX01", 2)]}),
    ("kg-latin", "王姐 猪肉馅1kg", {"items": [("RX01", 2)]}),
    ("gram-to-jin", "王姐 猪肉馅500g", {"items": [("RX01", 1)]}),
    ("liang-weight", "王姐 猪肉馅五两", {"items": [("RX01", 0.5)]}),
    ("wrong-unit-flagged", "王姐 砂糖橘3斤", {"items": [], "unmatched": ["砂糖橘3斤"]}),
    ("box-of-milk", "王姐 牛奶2箱", {"items": [("NN01", 2)]}),
    ("bag-rice", "王姐 大米1袋", {"items": [("DM01", 1)]}),
    ("chicken-zhi", "王姐 三黄鸡1只", {"items": [("SH01", 1)]}),
    ("numeral-in-name", "王姐 九节虾2斤", {"items": [("XJ01", 2)]}),
    ("numeral-in-name-no-qty", "王姐 九节虾", {"items": [("XJ01", 1)]}),
    ("numeral-in-name-san", "王姐 三黄鸡", {"items": [("SH01", 1)]}),
    ("big-number", "王姐 柠檬100个", {"items": [("LM01", 100)]}),
    ("fullwidth-digit", "王姐 西瓜２个", {"items": [("XG01", 2)]}),
    ("bracket-qty", "王姐 西瓜【2】", {"items": [("XG01", 2)]}),
    ("x-chinese", "王姐 西瓜x两", {"items": [("XG01", 2)]}),
    ("yi-ge", "王姐 西瓜一个", {"items": [("XG01", 1)]}),
    ("liang-ge", "王姐 两个西瓜", {"items": [("XG01", 2)]}),
    ("san-he", "王姐 三盒鸡蛋", {"items": [("JD01", 3)]}),
    ("glued-name-qty-before", "王姐 2盒鸡蛋", {"items": [("JD01", 2)]}),
    ("two-after-each", "王姐 西瓜2个苹果3斤", {"items": [("XG01", 2), ("PG01", 3)]}),
    ("two-before-each", "王姐 两斤苹果三斤猪肉馅", {"items": [("PG01", 2), ("RX01", 3)]}),
    ("qty-jin-apple", "王姐 苹果5斤", {"items": [("PG01", 5)]}),
    ("ten-eggs-he", "王姐 鸡蛋10盒", {"items": [("JD01", 10)]}),
    ("half-after", "王姐 猪肉馅半斤", {"items": [("RX01", 0.5)]}),
    ("yibai", "王姐 柠檬一百个", {"items": [("LM01", 100)]}),
    ("two-units-same-product", "王姐 西瓜1个 西瓜1个", {"items": [("XG01", 1), ("XG01", 1)]}),
    ("mixed-fullwidth-x", "王姐 西瓜Ｘ２", {"items": [("XG01", 2)]}),
]

MATCHING = [
    ("short-name", "王姐 西瓜1个", {"items": [("XG01", 1)]}),
    ("full-name", "王姐 麒麟西瓜1个", {"items": [("XG01", 1)]}),
    ("alias", "王姐 青提1串", {"items": [("PT01", 1)]}),
    ("alias-2", "王姐 葡萄2串", {"items": [("PT01", 2)]}),
    ("typo-homophone", "王姐 杨光玫瑰1串", {"items": [("PT01", 1)]}),
    ("typo-variant", "王姐 沙糖桔1箱", {"items": [("JZ01", 1)]}),
    ("typo-variant-2", "王姐 砂糖桔1箱", {"items": [("JZ01", 1)]}),
    ("traditional", "王姐 蘋果3斤", {"items": [("PG01", 3)]}),
    ("traditional-2", "王姐 豬肉餡2斤", {"items": [("RX01", 2)]}),
    ("partial-word", "王姐 玫瑰1串", {"items": [("PT01", 1)]}),
    ("extra-word", "王姐 阳光玫瑰葡萄1串", {"items": [("PT01", 1)]}),
    ("name-in-longer-word-note", "王姐 西瓜要大的", {"items": [("XG01", 1)], "note": "要大的"}),
    ("two-glued-products", "王姐 麒麟西瓜阳光玫瑰", {"items": [("XG01", 1), ("PT01", 1)]}),
    ("pinyin-typo-apple", "王姐 平果2斤", {"items": [("PG01", 2)]}),
    ("latin-upper", "王姐 柠檬3个", {"items": [("LM01", 3)]}),
    ("egg-alias", "王姐 鸡蛋2盒", {"items": [("JD01", 2)]}),
    ("egg-full", "王姐 土鸡蛋2盒", {"items": [("JD01", 2)]}),
    ("rice-alias", "王姐 大米1袋", {"items": [("DM01", 1)]}),
    ("milk-alias", "王姐 牛奶1箱", {"items": [("NN01", 1)]}),
    ("beef-filling", "王姐 牛肉馅1斤", {"items": [("RX02", 1)]}),
    ("pork-filling", "王姐 猪肉馅1斤", {"items": [("RX01", 1)]}),
    ("orange-alias", "王姐 橘子1箱", {"items": [("JZ01", 1)]}),
    ("emoji-code-not-product", "王姐 西瓜1个[玫瑰]", {"items": [("XG01", 1)], "unmatched": []}),
    ("emoji-code-only", "王姐 [强][强]", {"items": [], "unmatched": []}),
    ("want-prefix", "王姐 我要西瓜2个", {"items": [("XG01", 2)]}),
    ("plus-item-list", "王姐 西瓜 + 葡萄", {"items": [("XG01", 1), ("PT01", 1)]}),
    ("slash-separator", "王姐 西瓜1个/鸡蛋1盒", {"items": [("XG01", 1), ("JD01", 1)]}),
    ("dun-separator", "王姐 西瓜1个、鸡蛋1盒", {"items": [("XG01", 1), ("JD01", 1)]}),
    ("comma-separator", "王姐 西瓜1个，鸡蛋1盒", {"items": [("XG01", 1), ("JD01", 1)]}),
    ("semicolon-separator", "王姐 西瓜1个;鸡蛋1盒", {"items": [("XG01", 1), ("JD01", 1)]}),
]

NEAR_MISSES = [
    ("duck-egg", "王姐 鸭蛋1盒", {"items": [], "unmatched": ["鸭蛋1盒"]}),
    ("lamb-filling", "王姐 羊肉馅2斤", {"items": [], "unmatched": ["羊肉馅2斤"]}),
    ("ambiguous-filling", "王姐 肉馅2斤", {"items": [], "unmatched": ["肉馅2斤"]}),
    ("unknown-fruit", "王姐 榴莲1个", {"items": [], "unmatched": ["榴莲1个"]}),
    ("unknown-with-known", "王姐 榴莲1个 西瓜2个", {"items": [("XG01", 2)], "unmatched": ["榴莲1个"]}),
    ("known-with-unknown", "王姐 西瓜2个 鸭蛋1盒", {"items": [("XG01", 2)], "unmatched": ["鸭蛋1盒"]}),
    ("goose-egg", "王姐 鹅蛋1盒", {"items": [], "unmatched": ["鹅蛋1盒"]}),
    ("hami-melon", "王姐 哈密瓜1个", {"items": [], "unmatched": ["哈密瓜1个"]}),
    ("green-lemon", "王姐 青柠2个", {"items": [], "unmatched": ["青柠2个"]}),
    ("chicken-wings", "王姐 鸡翅2斤", {"items": [], "unmatched": ["鸡翅2斤"]}),
    ("yoghurt", "王姐 酸奶1箱", {"items": [], "unmatched": ["酸奶1箱"]}),
    ("mutton", "王姐 羊肉2斤", {"items": [], "unmatched": ["羊肉2斤"]}),
    ("lone-qty-multi-catalog", "王姐 2个", {"items": [], "unmatched": ["2个"]}),
    ("shrimp-other", "王姐 基围虾1斤", {"items": [], "unmatched": ["基围虾1斤"]}),
    ("duck", "王姐 三黄鸭1只", {"items": [], "unmatched": ["三黄鸭1只"]}),
    ("reason-names-near", "王姐 鸭蛋1盒", {"reason_contains": "鸡蛋"}),
    ("reason-ambiguous", "王姐 肉馅2斤", {"reason_contains": "猪肉馅"}),
]

NOT_QUANTITIES = [
    ("time-colon", "王姐 西瓜1个 18:00取", {"items": [("XG01", 1)], "note": "18:00取"}),
    ("time-dot", "王姐 西瓜1个 5.30左右到", {"items": [("XG01", 1)]}),
    ("time-dian", "王姐 西瓜1个 7点半取", {"items": [("XG01", 1)]}),
    ("price-paid", "王姐 西瓜1个 付了25元", {"items": [("XG01", 1)]}),
    ("price-yuan", "王姐 西瓜1个 15元", {"items": [("XG01", 1)]}),
    ("phone-tail", "王姐 尾号1234 西瓜1个", {"items": [("XG01", 1)]}),
    ("phone-full", "王姐 13812345678 西瓜1个", {"items": [("XG01", 1)]}),
    ("model-code", "倪彩霞 gt7 西瓜1个", {"items": [("XG01", 1)]}),
    ("room-number-not-qty", "王姐 502 西瓜1个", {"items": [("XG01", 1)]}),
    ("building-not-qty", "3栋502 西瓜1个", {"items": [("XG01", 1)]}),
    ("time-range", "王姐 西瓜1个 7:20-8:35", {"items": [("XG01", 1)]}),
    ("date", "王姐 11月25日 西瓜1个", {"items": [("XG01", 1)]}),
    ("dash-address-not-qty", "5-2-301 西瓜1个", {"items": [("XG01", 1)]}),
    ("no-catalog-no-items", "Mvtm 张璐 4人", {"catalog": "none", "items": [], "unmatched": []}),
    ("nickname-with-jin", "王半斤", {"catalog": "none", "member": "王半斤", "items": []}),
    ("count-in-brackets-no-catalog", "WeChat 许月英【11人】", {"catalog": "none", "items": []}),
    ("yuan-after-item", "王姐 西瓜2个30元", {"items": [("XG01", 2)]}),
    ("rmb-sign", "王姐 西瓜2个 ¥30", {"items": [("XG01", 2)]}),
    ("clock-in-name-line", "王姐 明天10点前送 西瓜1个", {"items": [("XG01", 1)]}),
    ("area-code-h3", "Stacey H3 西瓜1个", {"items": [("XG01", 1)], "address": "H3"}),
]

NOTES_MARKS = [
    ("note-after", "王姐 西瓜1个 不要太熟", {"note": "不要太熟"}),
    ("note-want-big", "王姐 西瓜1个 要大的", {"note": "要大的"}),
    ("note-late-pickup", "王姐 西瓜1个 晚点取", {"note": "晚点取"}),
    ("note-for-neighbour", "王姐 西瓜1个 代邻居拿", {"note": "代邻居拿"}),
    ("paid", "王姐 西瓜1个 已付", {"paid": True, "items": [("XG01", 1)]}),
    ("paid-full", "王姐 西瓜1个 已付款", {"paid": True}),
    ("paid-transfer", "王姐 西瓜1个 已转", {"paid": True}),
    ("not-paid", "王姐 西瓜1个", {"paid": False}),
    ("cancel-word", "王姐 西瓜1个 取消", {"cancel": True}),
    ("cancel-bracket", "王姐 西瓜1个（取消）", {"cancel": True}),
    ("cancel-buyao", "王姐 不要了", {"cancel": True}),
    ("cancel-only", "取消", {"cancel": True}),
    ("cancel-minus-one", "王姐 -1", {"cancel": True}),
    ("cancel-already", "王姐 已取消", {"cancel": True}),
    ("not-cancel-buyao-tai", "王姐 西瓜1个 不要太熟", {"cancel": False}),
    ("not-cancel-plain", "王姐 西瓜1个", {"cancel": False}),
    ("cancel-keeps-member", "6栋101 赵哥 取消", {"cancel": True, "member": "赵哥"}),
    ("note-no-catalog", "Leon H区 少饭", {"catalog": "none", "member": "Leon", "address": "H区", "note": "少饭"}),
    ("note-two-words", "王姐 西瓜1个 不要太熟 谢谢", {"note": "不要太熟 谢谢"}),
    ("note-before-item", "王姐 帮我挑 西瓜1个", {"items": [("XG01", 1)]}),
]

SINGLE_PRODUCT = [
    ("qty-only", "3栋502 王姐 2盒", {"catalog": "eggs", "items": [("JD01", 2)]}),
    ("plus-one-only", "王姐 +1", {"catalog": "eggs", "items": [("JD01", 1)]}),
    ("bare-number", "王姐 2", {"catalog": "eggs", "items": [("JD01", 2)]}),
    ("name-glued-qty", "钟予馨2盒", {"catalog": "eggs", "member": "钟予馨", "items": [("JD01", 2)]}),
    ("chinese-qty-only", "王姐 两盒", {"catalog": "eggs", "items": [("JD01", 2)]}),
    ("product-named", "王姐 鸡蛋3盒", {"catalog": "eggs", "items": [("JD01", 3)]}),
    ("x-qty-only", "王姐 x2", {"catalog": "eggs", "items": [("JD01", 2)]}),
    ("bag-rice", "3-1-201 李哥 2袋", {"catalog": "rice", "items": [("DM01", 2)]}),
    ("name-only-no-item", "王姐", {"catalog": "eggs", "items": []}),
    ("cancel-single", "王姐 取消", {"catalog": "eggs", "cancel": True}),
    ("bracket-single", "王姐 【3】", {"catalog": "eggs", "items": [("JD01", 3)]}),
    ("wrong-unit-single", "王姐 2斤", {"catalog": "eggs", "items": [], "unmatched": ["2斤"]}),
]

PRODUCT_NUMBERS = [
    ("hao-x", "王姐 1号x2", {"items": [("XG01", 2)]}),
    ("hao-unit", "王姐 3号2箱", {"items": [("JZ01", 2)]}),
    ("hao-two-items", "王姐 1号x1 2号x2", {"items": [("XG01", 1), ("PT01", 2)]}),
    ("hao-default-one", "王姐 4号", {"items": [("JD01", 1)]}),
    ("hao-unknown", "王姐 99号x1", {"items": []}),
    ("haolou-not-product", "3号楼 王姐 西瓜1个", {"items": [("XG01", 1)], "address": "3号楼"}),
]

CASES = [
    pytest.param(line, expected, id=f"{group}/{case_id}",
                 marks=[pytest.mark.xfail(strict=True, reason=expected["xfail"])] if "xfail" in expected else [])
    for group, table in [("identity", IDENTITY), ("quantity", QUANTITIES), ("matching", MATCHING),
                         ("near-miss", NEAR_MISSES), ("not-quantity", NOT_QUANTITIES), ("notes", NOTES_MARKS),
                         ("single-product", SINGLE_PRODUCT), ("product-number", PRODUCT_NUMBERS)]
    for case_id, line, expected in table
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_entry_line(line: str, expected: dict) -> None:
    entry = entry_of(line, expected.get("catalog", "fruit"))
    for key in ("member", "address", "note", "cancel", "paid"):
        if key in expected:
            assert getattr(entry, key) == expected[key], (key, entry)
    if "items" in expected:
        assert [(i.sku, i.qty) for i in entry.items] == [(s, float(q)) for s, q in expected["items"]], entry
    if "unmatched" in expected:
        assert [u.text for u in entry.unmatched] == expected["unmatched"], entry
    if "reason_contains" in expected:
        assert any(expected["reason_contains"] in u.reason for u in entry.unmatched), entry
