"""Whole messages: chain detection, header vs entries, index styles, wrapped and flattened
chains, examples, tails, type 53, sender prefixes."""

from __future__ import annotations

import pytest

from parsers import parse_message
from tests.parsers.catalogs import FRUIT

NATIVE = """wxid_sender1:
<?xml version="1.0"?>
<msg><appmsg appid="" sdkver="0"><title>#接龙
周五蔬菜团

1. 3栋502 王姐 西瓜1个
2. 5栋101 李哥 鸡蛋2盒</title><type>53</type><extinfo><solitaire_info><![CDATA[<solitaire><tt>0-8</tt><au>wxid_leader</au><content><s>2</s><i><u>wxid_wang</u><t>1700000000</t><r>12-13</r></i><i><u>wxid_li</u><t>1700000100</t><r>28-13</r></i></content></solitaire>]]></solitaire_info></extinfo></appmsg></msg>"""

# (id, text, expected): is_chain, title, seqs, members, entries (count), tail, sender, warnings_contain
CHAINS = [
    ("marker-simplified", "#接龙\n水果团\n1. 王姐 西瓜1个\n2. 李哥 鸡蛋1盒", {"is_chain": True, "title": "水果团", "seqs": [1, 2]}),
    ("marker-traditional", "#接龍\n水果團\n1. 王姐 西瓜1个", {"is_chain": True, "seqs": [1]}),
    ("marker-english", "#Group Note\nFruit\n1. 王姐 西瓜1个", {"is_chain": True, "title": "Fruit"}),
    ("marker-with-title-same-line", "#接龙 周三水果团\n1. 王姐 西瓜1个", {"title": "周三水果团"}),
    ("text-before-marker", "@真AI健身教练Jessie 打卡#接龙\n6月26日打卡\n1. Kevin 打卡", {"is_chain": True, "title": "6月26日打卡"}),
    ("sender-prefix", "wxid_abc123:\n#接龙\n水果团\n1. 王姐 西瓜1个", {"sender": "wxid_abc123", "seqs": [1]}),
    ("index-dun", "#接龙\n团\n1、王姐 西瓜1个\n2、李哥 西瓜2个", {"seqs": [1, 2]}),
    ("index-paren", "#接龙\n团\n1) 王姐 西瓜1个\n2) 李哥 西瓜2个", {"seqs": [1, 2]}),
    ("index-fullwidth", "#接龙\n团\n１．王姐 西瓜1个\n２．李哥 西瓜2个", {"seqs": [1, 2], "members": ["王姐", "李哥"]}),
    ("index-space", "#接龙\n团\n1 王姐 西瓜1个\n2 李哥 西瓜2个", {"seqs": [1, 2]}),
    ("index-no-space", "#接龙\n团\n1.2栋301 李姐 西瓜1个", {"seqs": [1], "members": ["李姐"]}),
    ("empty-first-entry", "#接龙\n团\n1.\n2. 李哥 西瓜2个", {"seqs": [1, 2], "members": [None, "李哥"]}),
    ("wrapped-entry", "#接龙\n团\n1. 王姐 西瓜1个\n要大的\n2. 李哥 鸡蛋1盒", {"seqs": [1, 2], "notes": ["要大的", None]}),
    ("tail-after-blank", "#接龙\n团\n1. 王姐 西瓜1个\n\n今晚10点截单", {"seqs": [1], "tail": ["今晚10点截单"]}),
    ("example-line", "#接龙\n团\n例 3栋502 王姐 西瓜1个\n\n1. 李哥 西瓜2个", {"seqs": [1], "members": ["李哥"]}),
    ("example-multiline", "#接龙\n团\n例 打卡第X天\n训练部位：训练动作\n\n1. Kevin 打卡", {"seqs": [1]}),
    ("header-price-list", "#接龙\n水果团\n1. 麒麟西瓜 15元/个\n2. 阳光玫瑰 25元/串\n\n1. 王姐 西瓜1个", {"seqs": [1], "members": ["王姐"]}),
    ("header-only-price-list", "#开团\n水果团\n1. 麒麟西瓜 15元/个\n2. 阳光玫瑰 25元/串", {"is_chain": True, "entries": 0}),
    ("flattened", "#接龙\n团\n1. 2. 倪彩霞 gt7 3. 莓心 4. 王燕燕 512 白色", {"seqs": [1, 2, 3, 4], "members": [None, "倪彩霞", "莓心", "王燕燕"]}),
    ("partial-paste", "6. 王姐 西瓜1个\n7. 李哥 西瓜2个\n8. 赵哥 鸡蛋1盒", {"is_chain": True, "seqs": [6, 7, 8]}),
    ("two-chains-last-wins", "#接龙\n团A\n1. 王姐 西瓜1个\n2. 李哥 西瓜2个\n#接龙\n团A\n1. 赵哥 鸡蛋1盒", {"seqs": [1], "members": ["赵哥"]}),
    ("gap-warning", "#接龙\n团\n1. 王姐 西瓜1个\n3. 李哥 西瓜2个", {"seqs": [1, 3], "warnings_contain": "编号不连续"}),
    ("duplicate-warning", "#接龙\n团\n1. 王姐 西瓜1个\n1. 李哥 西瓜2个", {"seqs": [1, 1], "warnings_contain": "重复编号"}),
    ("unmarked-list-warning", "1. 王姐 西瓜1个\n2. 李哥 西瓜2个", {"is_chain": True, "warnings_contain": "没有#接龙"}),
    ("not-chain-chat", "大家好，明天几点到货？", {"is_chain": False}),
    ("not-chain-single-number", "1. 我觉得可以", {"is_chain": False}),
    ("not-chain-empty", "", {"is_chain": False}),
    ("not-chain-time-lines", "7:30 出门\n8:00 到", {"is_chain": False}),
    ("native-type53", NATIVE, {"is_chain": True, "seqs": [1, 2], "authors": ["wxid_wang", "wxid_li"], "sender": "wxid_sender1"}),
    ("native-broken-xml", "<msg><appmsg><type>53</type><title>#接龙", {"warnings_contain": "格式损坏"}),
    ("crlf-lines", "#接龙\r\n团\r\n1. 王姐 西瓜1个\r\n2. 李哥 西瓜2个", {"seqs": [1, 2]}),
    ("decimal-not-index", "#接龙\n团\n1. 王姐 西瓜1个\n5.30左右到\n2. 李哥 西瓜2个", {"seqs": [1, 2]}),
    ("chain-key-stable-emoji", "#接龙\n🍉周三水果团🍉\n1. 王姐 西瓜1个", {"chain_key": "周三水果团"}),
    ("chain-key-stable-fullwidth", "#接龙\n周三水果团　\n1. 王姐 西瓜1个", {"chain_key": "周三水果团"}),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CHAINS])
def test_chain_structure(text: str, expected: dict) -> None:
    parsed = parse_message(text, FRUIT)
    checks = {
        "is_chain": lambda: parsed.is_chain,
        "title": lambda: parsed.title,
        "seqs": lambda: [e.seq for e in parsed.entries],
        "members": lambda: [e.member for e in parsed.entries],
        "notes": lambda: [e.note for e in parsed.entries],
        "entries": lambda: len(parsed.entries),
        "sender": lambda: parsed.sender,
        "authors": lambda: [e.author for e in parsed.entries],
        "chain_key": lambda: parsed.chain_key,
    }
    for key, value in expected.items():
        if key == "tail":
            continue
        if key == "warnings_contain":
            assert any(value in w for w in parsed.warnings), parsed.warnings
            continue
        assert checks[key]() == value, (key, parsed)
    if "tail" in expected:
        assert all(t not in (parsed.entries[-1].raw + (parsed.entries[-1].note or "")) for t in expected["tail"])


def test_copies_of_one_chain_share_a_key() -> None:
    a = parse_message("#接龙\n周三水果团 今晚截单\n1. 王姐 西瓜1个", FRUIT)
    b = parse_message("#接龍\n 周三水果团 今晚截单 \n1. 王姐 西瓜1个\n2. 李哥 西瓜2个", FRUIT)
    assert a.chain_key == b.chain_key != ""


def test_header_products_become_the_catalog_without_one() -> None:
    parsed = parse_message("#接龙\n明天水果团\n麒麟西瓜 15元/个\n阳光玫瑰 25元一串\n\n1. 王姐 西瓜2个 阳光玫瑰1串")
    assert [(p.name, int(p.price), p.unit) for p in parsed.products] == [("麒麟西瓜", 15, "个"), ("阳光玫瑰", 25, "串")]
    assert [(i.name, i.qty) for i in parsed.entries[0].items] == [("麒麟西瓜", 2.0), ("阳光玫瑰", 1.0)]


def test_product_numbers_refer_to_the_header_list() -> None:
    parsed = parse_message("#接龙\n团\n1) 水饺 50元/包\n2) 馄饨 30元/包\n\n1. 王姐 2号x2")
    assert [(i.name, i.qty) for i in parsed.entries[0].items] == [("馄饨", 2.0)]


HEADER_PRODUCTS = [
    ("per-unit", ["麒麟西瓜 15元/个"], [("麒麟西瓜", 15, "个")]),
    ("yi-unit", ["阳光玫瑰 25元一串"], [("阳光玫瑰", 25, "串")]),
    ("yen-sign", ["土鸡蛋30枚 ¥28/盒"], [("土鸡蛋", 28, "盒")]),
    ("pack-size-dropped", ["砂糖橘 5斤装 30元/箱"], [("砂糖橘", 30, "箱")]),
    ("two-on-a-line", ["九节虾58元/斤 三黄鸡48元/只"], [("九节虾", 58, "斤"), ("三黄鸡", 48, "只")]),
    ("price-next-line", ["(2)砂鍋魚頭火鍋", "一包230元"], [("砂锅鱼头火锅", 230, "包")]),
    ("name-with-fee-like-char", ["减脂沙拉 25元/份", "满口香饺子 30元/袋", "收获南瓜 5元/个"],
     [("减脂沙拉", 25, "份"), ("满口香饺子", 30, "袋"), ("收获南瓜", 5, "个")]),
    ("fees-are-not-products", ["换其他主食加2元", "共30元", "运费5元", "满99元包邮"], []),
    ("budget-is-not-a-price", ["I：自选 50 元内项目"], []),
]


@pytest.mark.parametrize(("lines", "expected"), [pytest.param(ls, e, id=i) for i, ls, e in HEADER_PRODUCTS])
def test_header_products(lines: list[str], expected: list) -> None:
    from parsers.header import products_from_header

    assert [(p.name, int(p.price), p.unit) for p in products_from_header(lines)] == expected
