"""Catalogs the parser tests use: a realistic community fruit/veg/meat campaign."""

from __future__ import annotations

from decimal import Decimal

from parsers import Product


def p(sku: str, name: str, price: str, unit: str, *aliases: str) -> Product:
    return Product(sku=sku, name=name, price=Decimal(price), unit=unit, aliases=tuple(aliases))


FRUIT = [
    p("XG01", "麒麟西瓜", "15", "个", "西瓜"),
    p("PT01", "阳光玫瑰", "25", "串", "葡萄", "青提"),
    p("JZ01", "砂糖橘", "30", "箱", "橘子"),
    p("JD01", "土鸡蛋", "28", "盒", "鸡蛋"),
    p("RX01", "猪肉馅", "22", "斤"),
    p("RX02", "牛肉馅", "40", "斤"),
    p("PG01", "红富士苹果", "6", "斤", "苹果"),
    p("DM01", "东北大米", "45", "袋", "大米"),
    p("XJ01", "九节虾", "58", "斤"),
    p("SH01", "三黄鸡", "48", "只"),
    p("LM01", "柠檬", "3", "个"),
    p("NN01", "纯牛奶", "60", "箱", "牛奶"),
]

EGGS_ONLY = [p("JD01", "土鸡蛋", "28", "盒", "鸡蛋")]
RICE_ONLY = [p("DM01", "五常大米", "89", "袋", "大米")]

VEG = [
    p("XH01", "西红柿", "4", "斤"), p("TD01", "土豆", "2.5", "斤"), p("HS01", "红薯", "3", "斤"),
    p("HC01", "花菜", "5", "个"), p("BC01", "大白菜", "6", "颗"), p("DF01", "老豆腐", "3", "块", "豆腐"),
    p("NG01", "宁波年糕", "4", "块", "年糕"),
]
GROCERY = [
    p("HY01", "5L花生油", "89", "桶", "花生油"), p("DM01", "东北大米10斤装", "45", "袋", "大米"),
    p("NF01", "农夫山泉550ml*24", "36", "箱", "矿泉水"), p("JD30", "土鸡蛋30枚装", "28", "盒", "鸡蛋"),
]
DAIRY = [p("NN01", "纯牛奶", "60", "箱"), p("XN01", "鲜牛奶", "9", "瓶", "鲜奶"), p("SN01", "原味酸奶", "5", "杯", "酸奶")]
MORE = {
    "veg": VEG, "veg-extra": VEG, "grocery": GROCERY, "dairy": DAIRY,
    "mango": [p("MG01", "小台芒", "12", "斤"), p("XG01", "麒麟西瓜", "15", "个", "西瓜")],
    "oranges": [p("QC01", "赣南脐橙", "50", "箱", "脐橙", "橙子")],
    "lunch": [p("TC01", "红烧肉套餐", "18", "份", "套餐")],
    "breakfast": [p("MB01", "全麦面包", "8", "袋", "面包"), p("XJ01", "香蕉", "1.5", "根"), p("NN01", "纯牛奶", "60", "箱", "牛奶")],
    "codes": [p("A", "红烧肉饭", "18", "份"), p("B", "宫保鸡丁饭", "16", "份")],
}
# A platform's own words, passed to ChainParser(synonyms=…) by the set-up
EXTRA_SYNONYMS = [("西红柿", "洋柿子")]
