"""Which rows an export covers: a campaign, a leader, a span of days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from storage.models import OrderItem


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
