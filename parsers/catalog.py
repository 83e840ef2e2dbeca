"""Catalog CSV text → products. Columns sku,name,price,unit,aliases,stock in any order."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from parsers.model import Product

REQUIRED = ("sku", "name", "price")
OPTIONAL = ("unit", "aliases", "stock")


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the line and the problem."""


def parse_catalog_csv(text: str) -> list[Product]:
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise CatalogError(f"line 1: missing column(s) {', '.join(missing)}")
    reader.fieldnames = columns
    products: list[Product] = []
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        product = _product(row, line_no)
        if product.sku in seen:
            raise CatalogError(f"line {line_no}: duplicate sku {product.sku!r}")
        seen.add(product.sku)
        products.append(product)
    if not products:
        raise CatalogError("the catalog has no products")
    return products


def _product(row: dict, line_no: int) -> Product:
    def cell(name: str) -> str:
        value = row.get(name)
        return value.strip() if isinstance(value, str) else ""

    sku, name = cell("sku"), cell("name")
    if not sku or not name:
        raise CatalogError(f"line {line_no}: sku and name are required")
    price = _decimal(cell("price"), "price", line_no)
    if price is None or price < 0:
        raise CatalogError(f"line {line_no}: bad price {cell('price')!r}")
    stock = _decimal(cell("stock"), "stock", line_no) if cell("stock") else None
    aliases = tuple(a.strip() for a in cell("aliases").split("|") if a.strip())
    return Product(sku=sku, name=name, price=price, unit=cell("unit"), aliases=aliases, stock=stock)


def _decimal(value: str, column: str, line_no: int) -> Decimal | None:
    try:
        number = Decimal(value.replace("¥", "").replace("元", "").strip())
    except InvalidOperation:
        raise CatalogError(f"line {line_no}: bad {column} {value!r}") from None
    if not number.is_finite():
        raise CatalogError(f"line {line_no}: bad {column} {value!r}")
    return number
