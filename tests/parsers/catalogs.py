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
