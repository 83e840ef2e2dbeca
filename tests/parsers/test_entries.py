"""Entry lines → member, address, items, unmatched, notes, marks, flags, cancels. Tables grouped
by topic and by where the cases come from (BUGS_CAUGHT: dated); each case checks only the
fields it names. The labelled corpus (tests/parsers/test_corpus.py) scores whole chains; these
pin down the fields of single lines."""

from __future__ import annotations

import pytest

from parsers import ChainParser
from tests.parsers.catalogs import EGGS_ONLY, EXTRA_SYNONYMS, FRUIT, MORE, RICE_ONLY

CATALOGS = {"fruit": FRUIT, "eggs": EGGS_ONLY, "rice": RICE_ONLY, "none": None, **MORE}
_parsers: dict[str, ChainParser] = {}


# The header a product-number case is read under: the header's numbering, not the catalog's
# order, says which product "3号" is.
NUMBERED_HEADER = "1号 阳光玫瑰 2号 麒麟西瓜 3号 砂糖橘 4号 土鸡蛋"


def entry_of(line: str, catalog: str = "fruit", header: str = "测试团"):
    synonyms = EXTRA_SYNONYMS if catalog == "veg-extra" else None
    parser = _parsers.setdefault(catalog, ChainParser(CATALOGS[catalog], synonyms=synonyms))
    parsed = parser.parse(f"#接龙\n{header}\n\n1. {line}")
    assert parsed.is_chain and len(parsed.entries) == 1, parsed
    return parsed.entries[0]


# (id, line, expected) — expected keys: member, address, items [(sku, qty)], unmatched [text],
# note, cancel, paid, flags [kind], cancel_items [(sku, qty)], catalog, header
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
    ("chinese-lia", "王姐 西瓜俩", {"items": [("XG01", 2)]}),
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
    ("big-number-asked", "王姐 柠檬100个", {"items": [], "flags": ["implausible_quantity"]}),
    ("ninety-nine", "王姐 柠檬99个", {"items": [("LM01", 99)], "flags": []}),
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
    ("yibai-asked", "王姐 柠檬一百个", {"items": [], "flags": ["implausible_quantity"]}),
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
    ("name-only-one-portion", "王姐", {"catalog": "eggs", "items": [("JD01", 1)]}),
    ("room-only-one-portion", "8-1-602", {"catalog": "eggs", "items": [("JD01", 1)]}),
    ("note-only-one-portion", "王姐 放门口", {"catalog": "eggs", "items": [("JD01", 1)], "note": "放门口"}),
    ("cancel-single", "王姐 取消", {"catalog": "eggs", "cancel": True}),
    ("bracket-single", "王姐 【3】", {"catalog": "eggs", "items": [("JD01", 3)]}),
    ("wrong-unit-single", "王姐 2斤", {"catalog": "eggs", "items": [], "unmatched": ["2斤"]}),
]

H = {"header": NUMBERED_HEADER}
PRODUCT_NUMBERS = [
    ("hao-x", "王姐 1号x2", {**H, "items": [("PT01", 2)], "flags": []}),
    ("hao-unit", "王姐 3号2箱", {**H, "items": [("JZ01", 2)]}),
    ("hao-two-items", "王姐 1号x1 2号x2", {**H, "items": [("PT01", 1), ("XG01", 2)]}),
    ("hao-default-one", "王姐 4号", {**H, "items": [("JD01", 1)]}),
    ("hao-chinese", "王姐 二号 1个", {**H, "items": [("XG01", 1)]}),
    ("hao-circled", "王姐 ②x1", {**H, "items": [("XG01", 1)]}),
    ("hao-bare", "王姐 3号 2", {**H, "items": [("JZ01", 2)]}),
    ("hao-unknown", "王姐 99号x1", {**H, "items": [], "flags": ["unknown_product_number"]}),
    ("hao-without-header-asked", "王姐 1号x2", {"items": [], "flags": ["unknown_product_number"]}),
    ("hao-and-name-agree", "王姐 2号 西瓜1个", {**H, "items": [("XG01", 1)], "flags": []}),
    ("hao-and-name-disagree", "王姐 1号 西瓜", {**H, "items": [], "flags": ["code_conflict"]}),
    ("haolou-not-product", "3号楼 王姐 西瓜1个", {**H, "items": [("XG01", 1)], "address": "3号楼"}),
    ("haomen-not-product", "王姐 3号门 西瓜1个", {**H, "items": [("XG01", 1)], "flags": []}),
    ("date-hao-not-product", "王姐 西瓜1个 5号取", {**H, "items": [("XG01", 1)], "flags": []}),
]

# "Account for every number": each number on the line is an amount, or explained, or asked about.
BARE_NUMBERS = [
    ("after-glued", "王姐 西瓜3", {"items": [("XG01", 3)], "flags": []}),
    ("after-spaced", "王姐 西瓜 2", {"items": [("XG01", 2)], "flags": []}),
    ("before-spaced", "王姐 2 西瓜", {"items": [("XG01", 2)], "flags": []}),
    ("two-products", "王姐 西瓜2 葡萄1", {"items": [("XG01", 2), ("PT01", 1)]}),
    ("glued-two", "王姐 西瓜2葡萄1", {"items": [("XG01", 2), ("PT01", 1)]}),
    ("building-then-bare", "1栋 西瓜2", {"items": [("XG01", 2)], "address": "1栋"}),
    ("room-without-building", "王姐 502 西瓜1个", {"items": [("XG01", 1)], "address": "502", "flags": []}),
    ("lone-bare-asked", "王姐 西瓜1个 7", {"items": [("XG01", 1)], "flags": ["unexplained_number"]}),
    ("nickname-digits", "小雨123 西瓜1个", {"member": "小雨123", "items": [("XG01", 1)], "flags": []}),
    ("latin-nickname-digits", "Amy2020 西瓜1个", {"items": [("XG01", 1)], "flags": []}),
    ("bare-half", "王姐 猪肉馅1.5", {"items": [("RX01", 1.5)]}),
    ("bare-too-many", "王姐 西瓜300", {"items": [], "flags": ["implausible_quantity"]}),
]

MONEY_AND_TIMES = [
    ("paid-amount", "王姐 西瓜1个 已付15", {"items": [("XG01", 1)], "paid": True, "flags": []}),
    ("transfer-decimal", "王姐 西瓜1个 转了36.5", {"items": [("XG01", 1)], "flags": []}),
    ("pay-kuai", "王姐 橘子1箱 付30块", {"items": [("JZ01", 1)], "flags": []}),
    ("total", "王姐 西瓜1个 苹果2斤 共27", {"items": [("XG01", 1), ("PG01", 2)], "flags": []}),
    ("red-packet", "王姐 西瓜2个 红包30", {"items": [("XG01", 2)], "flags": []}),
    ("yuan-after-paid", "王姐 西瓜2个 30元已转", {"items": [("XG01", 2)], "paid": True, "flags": []}),
    ("wechat-transfer", "王姐 西瓜2个 微信转30", {"items": [("XG01", 2)], "flags": []}),
    ("total-is-amount", "王姐 一共2箱橘子", {"items": [("JZ01", 2)]}),
    ("phone-tail-colon", "王姐 尾号:5678 西瓜1个", {"items": [("XG01", 1)], "flags": []}),
    ("date-dot-pickup", "王姐 西瓜1个 11.25取", {"items": [("XG01", 1)], "flags": []}),
    ("hour-range", "王姐 西瓜1个 10-12点取", {"items": [("XG01", 1)], "flags": []}),
    ("month-day", "王姐 西瓜1个 12月3号取", {"items": [("XG01", 1)], "flags": []}),
    ("worth-of-money-asked", "王姐 西瓜20块钱的", {"items": [], "flags": ["unexplained_number"]}),
]

PACK_SIZES = [
    ("spec-before-name", "王姐 5L花生油1桶", {"catalog": "grocery", "items": [("HY01", 1)], "flags": []}),
    ("spec-after-name", "王姐 花生油5L 2桶", {"catalog": "grocery", "items": [("HY01", 2)], "flags": []}),
    ("spec-litre-word", "王姐 5升花生油1桶", {"catalog": "grocery", "items": [("HY01", 1)], "flags": []}),
    ("spec-zhuang", "王姐 大米10斤装1袋", {"catalog": "grocery", "items": [("DM01", 1)], "flags": []}),
    ("spec-spaced", "王姐 大米 10斤 1袋", {"catalog": "grocery", "items": [("DM01", 1)], "flags": []}),
    ("spec-times-in-name", "王姐 农夫山泉550ml*24 2箱", {"catalog": "grocery", "items": [("NF01", 2)], "flags": []}),
    ("spec-pieces", "王姐 鸡蛋30枚装x1", {"catalog": "grocery", "items": [("JD30", 1)], "flags": []}),
    ("count-not-spec", "王姐 鸡蛋60枚", {"catalog": "grocery", "items": [], "unmatched": ["鸡蛋60枚"]}),
]

CORRECTIONS = [
    ("change-amount", "王姐 大米2袋 改成1袋", {"items": [("DM01", 1)], "cancel": False}),
    ("cancel-part", "王姐 牛奶两箱 取消一箱", {"items": [("NN01", 1)], "cancel": False}),
    ("cancel-one-keep-other", "王姐 苹果不要了，西瓜照旧",
     {"items": [], "cancel": True, "cancel_items": [("PG01", None)]}),
    ("cancel-then-order", "王姐 不要了，换成葡萄2串", {"items": [("PT01", 2)], "cancel": True, "cancel_items": []}),
    ("whole-line-cancel-names", "王姐 西瓜1个 取消", {"items": [], "cancel": True, "cancel_items": [("XG01", 1)]}),
    ("bare-cancel", "王姐 取消", {"items": [], "cancel": True, "cancel_items": []}),
    ("arrow", "王姐 西瓜2个→3个", {"items": [("XG01", 3)]}),
    ("gai-digit", "王姐 橘子2箱改1箱", {"items": [("JZ01", 1)]}),
    ("change-product", "王姐 苹果3斤 改成猪肉馅3斤", {"items": [("RX01", 3)], "cancel": False}),
    ("swap-named", "王姐 西瓜换成葡萄1串", {"items": [("PT01", 1)], "cancel": True, "cancel_items": [("XG01", None)]}),
    ("add-more", "王姐 西瓜2个 再加1个", {"items": [("XG01", 3)]}),
    ("plus-after-amount", "王姐 牛奶1箱 加1箱", {"items": [("NN01", 2)]}),
    ("reduce", "王姐 柠檬6个 少2个", {"items": [("LM01", 4)]}),
    ("cancel-in-line", "王姐 西瓜1个 葡萄1串 葡萄取消", {"items": [("XG01", 1)], "cancel": False}),
    ("cancel-named-with-amount", "王姐 取消一箱橘子", {"items": [], "cancel": True, "cancel_items": [("JZ01", 1)]}),
    ("cancel-named-after", "王姐 牛奶取消两箱", {"items": [], "cancel": True, "cancel_items": [("NN01", 2)]}),
    ("cancel-words", "王姐 作废", {"cancel": True}),
    ("cancel-deleted-bracket", "王姐 西瓜1个（删）", {"cancel": True, "cancel_items": [("XG01", 1)]}),
    ("cancel-withdraw", "王姐 退出", {"cancel": True}),
    ("cancel-crossed", "王姐 划掉", {"cancel": True}),
    ("cancel-not-needed", "王姐 不需要了", {"cancel": True}),
    ("not-cancel-dont-want-ripe", "王姐 西瓜1个 不要太熟", {"cancel": False, "items": [("XG01", 1)]}),
    ("dangling-change-asked", "王姐 西瓜改成", {"flags": ["unclear_correction"]}),
    ("cancel-amount-without-product-asked", "王姐 取消1个", {"flags": ["unclear_correction"], "cancel": False}),
    ("single-cancel-one", "王姐 取消1盒", {"catalog": "eggs", "cancel": True, "cancel_items": [("JD01", 1)]}),
]

# D6 and U6 of the adversarial review: odd amounts are asked about, never counted as something else.
ODD_AMOUNTS = [
    ("d6-four-decimals", "王姐 猪肉馅1.2345斤", {"items": [], "flags": ["implausible_quantity"]}),
    ("d6-decimals-count", "王姐 西瓜12.5678个", {"items": [], "flags": ["implausible_quantity"]}),
    ("d6-tiny", "王姐 猪肉馅0.0001斤", {"items": [], "flags": ["implausible_quantity"]}),
    ("d6-pi", "王姐 猪肉馅3.14159斤", {"items": [], "flags": ["implausible_quantity"]}),
    ("d6-keeps-other-item", "王姐 猪肉馅1.2345斤 西瓜1个", {"items": [("XG01", 1)], "flags": ["implausible_quantity"]}),
    ("u6-negative", "王姐 西瓜-3个", {"items": [], "flags": ["negative_quantity"]}),
    ("u6-zero", "王姐 西瓜0个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-nine-nines", "王姐 西瓜999999999个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-seven-digits", "王姐 西瓜1234567个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-exponent", "王姐 西瓜1e308个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-billion", "王姐 西瓜十亿个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-millions", "王姐 西瓜九百九十九万个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-inf", "王姐 西瓜inf个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-nan", "王姐 西瓜NaN个", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-huge-kg", "王姐 猪肉馅999999公斤", {"items": [], "flags": ["implausible_quantity"]}),
    ("u6-huge-times", "王姐 西瓜x999999", {"items": [], "flags": ["implausible_quantity"]}),
    ("part-of-a-fish", "王姐 三黄鸡1.5只", {"items": [], "flags": ["implausible_quantity"]}),
    ("range-cn", "王姐 苹果三四斤", {"items": [], "flags": ["range"]}),
    ("range-dash", "王姐 西瓜2-3个", {"items": [], "flags": ["range"]}),
    ("range-two-three", "王姐 西瓜两三个", {"items": [], "flags": ["range"]}),
    ("range-or", "王姐 苹果4或5斤", {"items": [], "flags": ["range"]}),
    ("range-keeps-other", "王姐 苹果2~3斤 西瓜1个", {"items": [("XG01", 1)], "flags": ["range"]}),
    ("two-liang-is-weight", "王姐 猪肉馅二两", {"items": [("RX01", 0.2)], "flags": []}),
    ("lone-minus-one-cancels", "王姐 -1", {"cancel": True, "flags": []}),
]

KUAI = [
    ("kuai-unit-after", "王姐 豆腐3块", {"catalog": "veg", "items": [("DF01", 3)], "flags": []}),
    ("kuai-unit-before", "王姐 2块豆腐", {"catalog": "veg", "items": [("DF01", 2)]}),
    ("kuai-unit-then-times", "王姐 豆腐 块x2", {"catalog": "veg", "items": [("DF01", 2)]}),
    ("kuai-paid", "王姐 豆腐3块 已付9块", {"catalog": "veg", "items": [("DF01", 3)], "flags": []}),
    ("kuai-per-unit-price", "王姐 15块一个的白菜1颗", {"catalog": "veg", "items": [("BC01", 1)], "flags": []}),
    ("kuai-price-after", "王姐 白菜1颗 6块", {"catalog": "veg", "items": [("BC01", 1)], "flags": []}),
    ("kuai-money-worth", "王姐 豆腐2块钱的", {"catalog": "veg", "items": [], "flags": ["unexplained_number"]}),
]

SYNONYMS = [
    ("tomato", "王姐 番茄2斤", {"catalog": "veg", "items": [("XH01", 2)]}),
    ("potato", "王姐 马铃薯3斤", {"catalog": "veg", "items": [("TD01", 3)]}),
    ("sweet-potato", "王姐 地瓜2斤", {"catalog": "veg", "items": [("HS01", 2)]}),
    ("cauliflower", "王姐 菜花1个", {"catalog": "veg", "items": [("HC01", 1)]}),
    ("cherry-tomato-asked", "王姐 小番茄1斤", {"catalog": "veg", "items": [], "unmatched": ["小番茄1斤"]}),
    ("purple-potato-asked", "王姐 紫薯2斤", {"catalog": "veg", "items": [], "unmatched": ["紫薯2斤"]}),
    ("platform-synonym", "王姐 洋柿子2斤", {"catalog": "veg-extra", "items": [("XH01", 2)]}),
    ("mango-kind", "王姐 芒果2斤", {"catalog": "mango", "items": [("MG01", 2)]}),
    ("abbreviation", "王姐 猪馅2斤", {"items": [("RX01", 2)]}),
    ("abbreviation-melon", "王姐 麒麟瓜兩個", {"items": [("XG01", 2)]}),
    ("unit-picks-milk", "王姐 牛奶2瓶", {"catalog": "dairy", "items": [("XN01", 2)]}),
    ("milk-without-unit-asked", "王姐 牛奶2", {"catalog": "dairy", "items": [], "unmatched": ["牛奶2"]}),
]

GLUED = [
    ("one-char-name", "陈西瓜2个", {"member": "陈", "items": [("XG01", 2)]}),
    ("name-and-kin", "王姐西瓜2个葡萄1串", {"member": "王姐", "items": [("XG01", 2), ("PT01", 1)]}),
    ("and", "王姐 西瓜1个和葡萄1串", {"items": [("XG01", 1), ("PT01", 1)]}),
    ("plus-sign", "王姐 西瓜1个+葡萄2串", {"items": [("XG01", 1), ("PT01", 2)]}),
    ("each", "王姐 西瓜、葡萄各2", {"items": [("XG01", 2), ("PT01", 2)]}),
    ("fullwidth-space", "王姐 西瓜1个　葡萄1串", {"items": [("XG01", 1), ("PT01", 1)]}),
    ("nickname-holds-product", "橙子控 8栋 1", {"catalog": "oranges", "member": "橙子控", "items": [("QC01", 1)]}),
    ("colon-after-name", "Tony：西瓜1个", {"member": "Tony", "items": [("XG01", 1)]}),
]

# Bugs found in the wild, price-parser style: when, and what went wrong before.
BUGS_CAUGHT = [
    # 2026-12 issue 10: a bare number after a product was put in the note, the item counted 1
    ("2026-12-bare-after-product", "王姐 香蕉3", {"catalog": "breakfast", "items": [("XJ01", 3)]}),
    # 2026-12 issue 10: a payment amount was summed into a one-product chain's quantity (118)
    ("2026-12-paid-summed", "王姐 2箱 已付116", {"catalog": "oranges", "items": [("QC01", 2)], "flags": []}),
    ("2026-12-transfer-summed", "王姐 一份 转36", {"catalog": "lunch", "items": [("TC01", 1)], "flags": []}),
    # 2026-12 issue 10: several "N块" entries were taken for the header's price list: no entries
    ("2026-12-kuai-entries", "王姐 年糕3块", {"catalog": "veg", "items": [("NG01", 3)]}),
    # 2026-12 issue 10: header product numbers were read by the catalog's order
    ("2026-12-number-by-position", "王姐 1号x1", {"header": NUMBERED_HEADER, "items": [("PT01", 1)]}),
    # 2026-12 red-team D6: 1.2345 was read as 2345 and 1
    ("2026-12-d6", "王姐 猪肉馅1.2345斤", {"items": [], "flags": ["implausible_quantity"]}),
    # 2026-12 red-team U6: a negative amount was counted as positive
    ("2026-12-u6-negative", "王姐 西瓜-3个", {"items": [], "flags": ["negative_quantity"]}),
    # 2026-12 issue 10: a range was read as one number (三四 → 34)
    ("2026-12-range-as-number", "王姐 苹果三四斤", {"items": [], "flags": ["range"]}),
    # 2026-12 issue 10: a nickname holding a product's name became an item
    ("2026-12-nickname-item", "橙子控 8栋 1", {"catalog": "oranges", "items": [("QC01", 1)]}),
    # 2026-12 issue 10: a letter code and its dish were two items
    ("2026-12-code-and-name", "王姐 B 宫保鸡丁", {"catalog": "codes", "header": "A：红烧肉饭 B：宫保鸡丁饭",
                                                  "items": [("B", 1)]}),
    # 2026-12 hypothesis (test_never_raises): a cancel of nothing was a cancel of 0
    ("2026-12-hypothesis-cancel-zero", "王姐 西瓜取消0个", {"cancel": False, "cancel_items": [],
                                                          "flags": ["implausible_quantity"]}),
    ("2026-12-hypothesis-cancel-zero-named", "王姐 取消0个西瓜", {"cancel": False, "cancel_items": [],
                                                               "flags": ["implausible_quantity"]}),
    ("2026-12-hypothesis-change-to-zero", "王姐 西瓜改成0个", {"items": [], "cancel": True,
                                                             "cancel_items": [("XG01", None)]}),
    ("cancel-more-than-ordered-asked", "王姐 西瓜1个 取消2个", {"items": [("XG01", 1)],
                                                               "flags": ["unclear_correction"]}),
    # 2026-12 issue 10: 两个人的 in a lunch chain was no portion
    ("2026-12-two-people", "王姐 两个人的", {"catalog": "lunch", "items": [("TC01", 2)]}),
]

CASES = [
    pytest.param(line, expected, id=f"{group}/{case_id}",
                 marks=[pytest.mark.xfail(strict=True, reason=expected["xfail"])] if "xfail" in expected else [])
    for group, table in [("identity", IDENTITY), ("quantity", QUANTITIES), ("matching", MATCHING),
                         ("near-miss", NEAR_MISSES), ("not-quantity", NOT_QUANTITIES), ("notes", NOTES_MARKS),
                         ("single-product", SINGLE_PRODUCT), ("product-number", PRODUCT_NUMBERS),
                         ("bare-number", BARE_NUMBERS), ("money-time", MONEY_AND_TIMES), ("pack-size", PACK_SIZES),
                         ("correction", CORRECTIONS), ("odd-amount", ODD_AMOUNTS), ("kuai", KUAI),
                         ("synonym", SYNONYMS), ("glued", GLUED), ("bugs-caught", BUGS_CAUGHT)]
    for case_id, line, expected in table
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_entry_line(line: str, expected: dict) -> None:
    entry = entry_of(line, expected.get("catalog", "fruit"), expected.get("header", "测试团"))
    for key in ("member", "address", "note", "cancel", "paid"):
        if key in expected:
            assert getattr(entry, key) == expected[key], (key, entry)
    if "items" in expected:
        assert [(i.sku, i.qty) for i in entry.items] == [(s, float(q)) for s, q in expected["items"]], entry
    if "unmatched" in expected:
        assert [u.text for u in entry.unmatched] == expected["unmatched"], entry
    if "reason_contains" in expected:
        assert any(expected["reason_contains"] in u.reason for u in entry.unmatched), entry
    if "flags" in expected:
        assert [f.kind.value for f in entry.flags] == expected["flags"], entry
    if "cancel_items" in expected:
        assert [(c.sku, c.qty) for c in entry.cancel_items] == expected["cancel_items"], entry
