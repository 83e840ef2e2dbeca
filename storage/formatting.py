"""How numbers and item lists are written, the same in exports, reports and the bot's messages."""

from __future__ import annotations

from decimal import Decimal


def items_text(items, separator: str = "；") -> str:
    """[(name, qty, unit)] → "麒麟西瓜×2；砂糖橘×3斤" (个 goes without saying)."""
    return separator.join(f"{name}×{plain_number(qty)}{'' if unit in ('', '个') else unit}" for name, qty, unit in items)


def plain_number(value) -> str:
    """A quantity or amount as people write it: 2 not 2.000, 1.5 stays 1.5."""
    value = Decimal(str(value))
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value.normalize())

