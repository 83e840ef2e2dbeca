"""Corrections a leader makes by command: 截单 (close early), 核销 (picked up), 缺货 (shortage).

Edits and deletions of single entries (改单, 删单) are `storage.orders.update_entry` and
`cancel_entry` with the leader's event kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.formatting import plain_number
from storage.models import (
    Adjustment,
    CampaignGroup,
    EntryEvent,
    EntryRow,
    EventKind,
    ItemStatus,
    OrderItem,
)


def mark_picked_up(session: Session, entry_ids: list[int], at: datetime) -> int:
    """核销: these orders were picked up (a second mark keeps the first time)."""
    result = session.execute(
        update(EntryRow).where(EntryRow.id.in_(entry_ids), EntryRow.picked_up_at.is_(None)).values(picked_up_at=at)
    )
    return result.rowcount or 0


def mark_paid(session: Session, entry_ids: list[int], at: datetime) -> int:
    """已付: the leader got the money for these orders (kept apart from 已付 written on the
    line, so a member's later edit of the line cannot take it back)."""
    result = session.execute(
        update(EntryRow).where(EntryRow.id.in_(entry_ids), EntryRow.paid_at.is_(None)).values(paid_at=at)
    )
    return result.rowcount or 0



def close_campaign(session: Session, campaign_id: str, group_ids: list[int], at: datetime) -> None:
    """A leader's 截单: lines first seen after `at` in these groups are late."""
    for group_id in group_ids:
        row = session.get(CampaignGroup, (campaign_id, group_id))
        if row is None:
            row = CampaignGroup(campaign_id=campaign_id, group_id=group_id)
            session.add(row)
        if row.closed_at is None:
            row.closed_at = at
    session.flush()



@dataclass
class ShortageCut:
    member_id: str
    member: str
    group_id: int
    product: str
    qty_cut: Decimal
    refund: Decimal


def apply_shortage(session: Session, campaign_id: str, group_ids: list[int], sku: str, qty_short: Decimal,
                   at: datetime, leader_id: str) -> list[ShortageCut]:
    """Cut `qty_short` from the last orders first; each cut is an adjustment in statements."""
    items = session.scalars(
        select(OrderItem).where(OrderItem.campaign_id == campaign_id, OrderItem.sku == sku,
                                OrderItem.status == ItemStatus.OK, OrderItem.group_id.in_(group_ids))
        .order_by(OrderItem.first_seen.desc(), OrderItem.id.desc())
    ).all()
    cuts: list[ShortageCut] = []
    left = Decimal(qty_short)
    for item in items:
        if left <= 0:
            break
        cut = min(left, item.qty)
        refund = (cut * item.unit_price).quantize(Decimal("0.01"))
        before = item.qty
        item.qty -= cut
        item.amount = (item.qty * item.unit_price).quantize(Decimal("0.01"))
        item.last_changed = at
        if item.qty == 0:
            item.status = ItemStatus.CANCELLED
        entry = session.get(EntryRow, item.entry_id)
        session.add(EntryEvent(entry_id=entry.id, kind=EventKind.SHORTAGE, actor_id=leader_id,
                               before=f"{item.product_name}×{plain_number(before)}", after=f"{item.product_name}×{plain_number(item.qty)}", at=at))
        session.add(Adjustment(leader_id=item.leader_id or leader_id, campaign_id=campaign_id, order_item_id=item.id,
                               amount=-refund, reason=f"缺货 {item.product_name}×{plain_number(cut)}", at=at))
        cuts.append(ShortageCut(item.member_id, entry.member or entry.author_name, item.group_id,
                                item.product_name or sku, cut, refund))
        left -= cut
    session.flush()
    return cuts


# --- money -------------------------------------------------------------------------------------
