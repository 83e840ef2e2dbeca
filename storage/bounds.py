"""Values the database will take, the same on SQLite and PostgreSQL.

SQLite stores whatever it is given; PostgreSQL refuses a NUL in text and a string longer than
its VARCHAR, and neither driver can encode a lone UTF-16 surrogate. A refused value fails the
whole message, and every later copy of the same chain carries it again (D1), so values are
made storable before they reach an INSERT: at the transport edge for what a platform sends
(bot/transports/edge.py), here for what the parser makes of it (nicknames, addresses, authors).
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import Column
from sqlalchemy.orm import InstrumentedAttribute

from parsers.model import Entry
from storage.models import EntryRow, OrderItem

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
    """A display value cut to its column's width (an id is never cut: see the edge)."""
    if value is None:
        return None
    value = storable(value)
    limit = width(column)
    return value if len(value) <= limit else value[:limit]


_MEMBER, _ADDRESS = width(EntryRow.member), width(EntryRow.address)
_AUTHOR = width(EntryRow.author_id)
_UNIT = width(OrderItem.unit)


def storable_entry(entry: Entry) -> Entry:
    """A parsed line whose nickname, address, native author and units fit their columns.

    A line whose first word runs for 200 characters reads as a 200-character "nickname"; it
    is kept, cut to the column, rather than failing the chain for good. The same entry comes
    back unchanged (no copy) when everything fits, which is every real line."""
    if not _too_wide(entry):
        return entry
    return replace(
        entry,
        member=fit(entry.member, EntryRow.member), address=fit(entry.address, EntryRow.address),
        author=fit(entry.author, EntryRow.author_id),
        items=[replace(i, unit=fit(i.unit, OrderItem.unit)) if len(i.unit) > _UNIT else i for i in entry.items],
        unmatched=[replace(u, unit=fit(u.unit, OrderItem.unit)) if len(u.unit) > _UNIT else u
                   for u in entry.unmatched],
    )


def _too_wide(entry: Entry) -> bool:
    return ((entry.member is not None and len(entry.member) > _MEMBER)
            or (entry.address is not None and len(entry.address) > _ADDRESS)
            or (entry.author is not None and len(entry.author) > _AUTHOR)
            or any(len(i.unit) > _UNIT for i in entry.items)
            or any(len(u.unit) > _UNIT for u in entry.unmatched))
