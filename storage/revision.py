"""The set-up revision: one counter that every change to the set-up bumps, in any process.

What the bot keeps in memory between messages (a chat's group, its campaign, the catalog a
parser was built for, a chain's products, prices and 截单 time) is valid while the counter
has not moved. Reading it is one primary-key lookup per message, remembered for the rest of
the transaction; the bump happens at flush, for every ORM change to a set-up table, so no
writer has to remember to do it.
"""

from __future__ import annotations

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from storage.fast import FastStatement
from storage.models import (
    Admin,
    Campaign,
    CampaignGroup,
    CommissionRate,
    Group,
    Leader,
    Platform,
    ProductPrice,
    ProductRow,
    SetupRevision,
)

SETUP_CLASSES = (Platform, Admin, Leader, Group, Campaign, CampaignGroup, ProductRow, ProductPrice, CommissionRate)
_TABLE = SetupRevision.__table__
_READ = FastStatement(select(_TABLE.c.value).where(_TABLE.c.id == 1))
_BUMP = update(_TABLE).where(_TABLE.c.id == 1).values(value=_TABLE.c.value + 1)
_MEMO = "jielong.setup_revision"


def setup_revision(session: Session) -> int:
    """The current revision (0 on a database that never had a set-up change)."""
    value = session.info.get(_MEMO)
    if value is None:
        row = _READ.fetch_one(session, {})
        value = row[0] if row else 0
        session.info[_MEMO] = value
    return value


def remember_setup_revision(session: Session, value: int) -> None:
    """The revision as a statement of this transaction just read it (storage.log reads it with
    the message it logs), so `setup_revision` needs no query of its own."""
    session.info[_MEMO] = value


def bump_setup_revision(session: Session) -> None:
    """For set-up changes made without the ORM (Core statements)."""
    connection = session.connection()
    if connection.execute(_BUMP).rowcount == 0:  # a schema made without the migrations
        connection.execute(insert(_TABLE).values(id=1, value=1))
    session.info.pop(_MEMO, None)


@event.listens_for(Session, "before_flush")
def _bump_on_setup_change(session: Session, _context, _instances) -> None:
    changed = (*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o)))
    if any(isinstance(obj, SETUP_CLASSES) for obj in changed):
        bump_setup_revision(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, _transaction) -> None:
    session.info.pop(_MEMO, None)
