"""Which rows an export covers: a campaign, a leader, a span of days."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from storage.models import Campaign, Leader, OrderItem


@dataclass
class ExportFilter:
    campaign: str | None = None
    leader: str | None = None
    start: datetime | None = None  # first_seen >= start
    end: datetime | None = None  # first_seen < end



def filtered(query, flt: ExportFilter, indexed: bool = True):
    column = (lambda c: c) if indexed else unindexed
    if flt.campaign:
        query = query.where(column(OrderItem.campaign_id) == flt.campaign)
    if flt.leader:
        query = query.where(column(OrderItem.leader_id) == flt.leader)
    if flt.start:
        query = query.where(column(OrderItem.first_seen) >= flt.start)
    if flt.end:
        query = query.where(column(OrderItem.first_seen) < flt.end)
    return query


def unindexed(column):
    """`+column`, the same value, but SQLite no longer answers the condition from an index:
    a chunk of rows in id order is then read along the table, not sorted out of every
    matching index entry again for each chunk."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


class FilterError(ValueError):
    """A filter naming something that does not exist; the message names it."""


def check_filter(session: Session, flt: ExportFilter) -> None:
    """An unknown campaign or leader is a mistake, not an empty export: say which, and the
    nearest known ones."""
    if flt.campaign and session.get(Campaign, flt.campaign) is None:
        raise FilterError(f"unknown campaign {flt.campaign!r}{_nearest(flt.campaign, session.scalars(select(Campaign.id)))}")
    if flt.leader and session.get(Leader, flt.leader) is None:
        raise FilterError(f"unknown leader {flt.leader!r}{_nearest(flt.leader, session.scalars(select(Leader.id)))}")
    if flt.start and flt.end and flt.start >= flt.end:
        raise FilterError("the span is empty: --from must be before --to")


def _nearest(name: str, known: Iterable[str]) -> str:
    known = list(known)
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if near:
        return f" — did you mean {', '.join(near)}?"
    if not known:
        return " (there are none: load a set-up first)"
    return f" (known: {', '.join(sorted(known)[:8])}{', …' if len(known) > 8 else ''})"
