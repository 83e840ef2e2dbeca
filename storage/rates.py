"""Commission rates over time: what a leader earned on an order is the rate in force when the
order was first seen, kept on the order item (as its unit price is). A set-up reload or an
admin's 授权团长 adds a rate from that moment on; orders already taken keep theirs, and a
rebuild finds the same rate again in this history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import CommissionRate

DEFAULT_RATE = Decimal("0.10")  # a platform that never set one

# (valid_from, rate) oldest first; valid_from None: from the start; rate None: the platform's
History = list[tuple[datetime | None, Decimal | None]]


@dataclass
class RateHistory:
    """One leader's rates and the platform's, as read once for many orders."""

    leader: History = field(default_factory=list)
    platform: History = field(default_factory=list)

    def rate_at(self, when: datetime) -> Decimal:
        own = _in_force(self.leader, when)
        if own is not None:
            return own
        return _in_force(self.platform, when) or DEFAULT_RATE

    @classmethod
    def load(cls, session: Session, leader_id: str | None) -> RateHistory:
        return cls.load_many(session, [leader_id] if leader_id is not None else [])[leader_id]

    @classmethod
    def load_many(cls, session: Session, leader_ids: list[str]) -> dict[str | None, RateHistory]:
        """The histories of these leaders (and, under None, the platform's alone), one query."""
        rows = session.execute(
            select(CommissionRate.leader_id, CommissionRate.valid_from, CommissionRate.rate)
            .where(or_(CommissionRate.leader_id.is_(None), CommissionRate.leader_id.in_(leader_ids)))
            .order_by(CommissionRate.valid_from.is_not(None), CommissionRate.valid_from, CommissionRate.id))
        platform: History = []
        own: dict[str, History] = {leader_id: [] for leader_id in leader_ids}
        for owner, valid_from, rate in rows:
            (platform if owner is None else own[owner]).append((valid_from, rate))
        histories: dict[str | None, RateHistory] = {lid: cls(rates, platform) for lid, rates in own.items()}
        histories[None] = cls([], platform)
        return histories


def _in_force(history: History, when: datetime) -> Decimal | None:
    rate = None
    for valid_from, value in history:
        if valid_from is None or valid_from <= when:
            rate = value
    return rate


def record_rate(session: Session, leader_id: str | None, rate: Decimal | None, at: datetime) -> bool:
    """A leader's rate (leader None: the platform's; rate None: the leader has the platform's)
    from `at` on, unless it is the rate in force then already. The first rate of a leader or
    of the platform holds from the start. True when the history changed."""
    history = RateHistory.load(session, leader_id)
    rows = history.platform if leader_id is None else history.leader
    if rows and _in_force(rows, at) == rate:  # Decimal("0.1") == Decimal("0.1000"); None == None
        return False
    session.add(CommissionRate(leader_id=leader_id, rate=rate, valid_from=at if rows else None))
    session.flush()
    return True
