"""How texts read: the refund in a commission reads as taken off the sales (not as part of the
commission), and every text of bot/texts.py is well formed."""

from __future__ import annotations

import string

from bot import texts
from tests.bot.test_leader_commands import LEADER, orders  # noqa: F401  (the fixture)
from tests.conftest import at


def test_a_refund_reads_as_taken_off_the_sales(orders) -> None:  # noqa: F811
    orders.private(LEADER, "李姐", "缺货 西瓜 1", at=at(26, 15))
    out = orders.private(LEADER, "李姐", "佣金", at=at(26, 15, 5))  # after the 缺货: time only goes forward
    reply = "\n".join(m.text for m in out if m.to == LEADER)
    assert reply.startswith("11月佣金：3单，销售额")
    sales, commission = reply.split("，按", 1)
    assert sales.endswith("（已扣缺货退款15元）") and commission.startswith("12%算，佣金")


def _all_texts():
    for name in dir(texts):
        value = getattr(texts, name)
        if name.isupper() and isinstance(value, str):
            yield name, value
        elif name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            for i, v in enumerate(value):
                yield f"{name}[{i}]", v


def test_every_text_is_a_valid_template_without_stray_spaces() -> None:
    for name, value in _all_texts():
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(value) if f is not None]
        assert all(f and f.isidentifier() for f in fields), name  # no "{}" or "{0}"
        assert value == value.strip() or value.endswith("1. ") or value.startswith("  "), name
        assert "  " not in value.replace("{usage}  {help}", "") or name.startswith("CONSOLE"), name
