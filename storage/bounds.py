"""Values the database will take, the same on SQLite and PostgreSQL.

SQLite stores whatever it is given; PostgreSQL refuses a NUL in text and a string longer than
its VARCHAR, and neither driver can encode a lone UTF-16 surrogate. A refused value fails the
whole message, and every later copy of the same chain carries it again (D1), so values are
made storable before they reach an INSERT: at the transport edge for what a platform sends
(bot/transports/edge.py), and where storage writes what the parser made of it. A nickname or
an address the parser reads from a line is TEXT (any first word fits, and a line is always
known by the same nickname it is stored with); a native 接龙 author id and the author's
display name are cut to their columns when an entry is written (storage.orders.new_entry).
"""

from __future__ import annotations

import re

from sqlalchemy import Column
from sqlalchemy.orm import InstrumentedAttribute

REPLACEMENT = "\ufffd"  # what a character no database can keep becomes
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """The text with NUL bytes and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def width(column: Column | InstrumentedAttribute) -> int:
    """How many characters a VARCHAR column holds."""
    length = getattr(column.type, "length", None)
    if not length:
        raise ValueError(f"{column} has no width")
    return length


def fit(value: str | None, column: Column | InstrumentedAttribute) -> str | None:
    """A value cut to its column's width. For display names; an id a platform sends is refused
    at the edge instead (cut, it could name someone else)."""
    if value is None:
        return None
    value = storable(value)
    limit = width(column)
    return value if len(value) <= limit else value[:limit]
