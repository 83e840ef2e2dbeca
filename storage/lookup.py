"""Set-up lookups: who leads, which group a chat is, which campaign runs where, catalogs.

Read by the live bot for every message (so the hot ones are prebuilt statements) and by
commands, broadcasts, the scheduler and summaries.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from parsers.model import Product
from storage.models import Admin, Campaign, CampaignGroup, Group, Leader, Platform, ProductRow


def group_for_chat(session: Session, chat_id: str, chat_name: str | None = None) -> Group | None:
    group = session.scalar(_GROUP_BY_CHAT, dict(chat=chat_id, name=chat_name or chat_id))
    if group is None and chat_name:
        group = session.scalar(_GROUP_BY_NAME, dict(name=chat_name))
    return group


# Statements the bot runs for every message are built once.
_GROUP_BY_CHAT = select(Group).where(Group.chat_id.in_([bindparam("chat"), bindparam("name")])).limit(1)
_GROUP_BY_NAME = select(Group).where(Group.name == bindparam("name")).limit(1)


def bind_group(session: Session, chat_id: str, chat_name: str | None, leader_id: str, at: datetime) -> Group:
    group = group_for_chat(session, chat_id, chat_name)
    if group is None:
        group = Group(chat_id=chat_id, name=chat_name or chat_id)
        session.add(group)
    group.leader_id, group.bound_at = leader_id, at
    session.flush()
    return group


def leader_ids(group: Group) -> set[str]:
    """Who may change anyone's line in this group: its leader."""
    return {group.leader_id} if group.leader_id else set()


def campaign_for_group(session: Session, group: Group, at: datetime) -> Campaign | None:
    """The campaign a chain in this group belongs to at this time.

    Among the campaigns for this group that have opened, the one still taking orders with
    the nearest deadline; if none is, the one whose deadline passed most recently (so a
    line written after the deadline is kept as late rather than lost).
    """
    params = dict(group=group.id, at=at)
    return session.scalar(_RUNNING_CAMPAIGN, params) or session.scalar(_LAST_CAMPAIGN, params)


_OPENED_IN_GROUP = select(Campaign).where(
    or_(Campaign.all_groups.is_(True),
        Campaign.id.in_(select(CampaignGroup.campaign_id).where(CampaignGroup.group_id == bindparam("group")))),
    Campaign.opens <= bindparam("at"),
)
_RUNNING_CAMPAIGN = (_OPENED_IN_GROUP.where(Campaign.deadline >= bindparam("at"), Campaign.closed_at.is_(None))
                     .order_by(Campaign.deadline).limit(1))
_LAST_CAMPAIGN = _OPENED_IN_GROUP.order_by(Campaign.deadline.desc()).limit(1)


def next_campaign_opening(session: Session, after: datetime) -> datetime | None:
    """When the next campaign (of any group) opens after this time."""
    return session.scalar(_NEXT_OPENING, dict(after=after))


_NEXT_OPENING = select(func.min(Campaign.opens)).where(Campaign.opens > bindparam("after"))


def catalog_of(session: Session, campaign: Campaign) -> list[Product]:
    rows = session.scalars(
        select(ProductRow).where(ProductRow.campaign_id == campaign.id).order_by(ProductRow.position, ProductRow.id)
    )
    return [Product(sku=r.sku, name=r.name, price=r.price, unit=r.unit, aliases=tuple(r.aliases or ()),
                    stock=r.stock) for r in rows]


# --- chains --------------------------------------------------------------------------------

def leader_of(session: Session, user_id: str) -> Leader | None:
    leader = session.get(Leader, user_id)
    return leader if leader is not None and leader.active else None


def is_admin(session: Session, user_id: str) -> bool:
    return session.get(Admin, user_id) is not None


def leader_groups(session: Session, leader_id: str) -> list[Group]:
    return list(session.scalars(select(Group).where(Group.leader_id == leader_id).order_by(Group.id)))


def platform(session: Session) -> Platform:
    return session.get(Platform, 1) or Platform(id=1, name="", timezone="Asia/Shanghai", commission_rate=Decimal("0.10"))


def current_campaign(session: Session, group_ids: list[int], at: datetime) -> Campaign | None:
    """The campaign running in these groups now (or the one that closed most recently)."""
    best = None
    for group_id in group_ids:
        campaign = campaign_for_group(session, session.get(Group, group_id), at)
        if campaign is not None and (best is None or campaign.opens > best.opens):
            best = campaign
    return best


# --- orders ----------------------------------------------------------------------------------

def commission_rate(session: Session, leader: Leader) -> Decimal:
    """The leader's own rate, else the platform's."""
    return leader.commission_rate if leader.commission_rate is not None else platform(session).commission_rate


def catalog_stamp(session: Session, campaign_id: str) -> tuple:
    """What a campaign's catalog is made of (sku, name, price, unit per product): equal
    stamps, equal catalogs, so a parser built for one serves the other."""
    return tuple(session.execute(_CATALOG_STAMP, {"campaign": campaign_id}).all())


_CATALOG_STAMP = (select(ProductRow.sku, ProductRow.name, ProductRow.price, ProductRow.unit)
                  .where(ProductRow.campaign_id == bindparam("campaign")).order_by(ProductRow.id))


def campaign_products(session: Session, campaign_id: str) -> list[ProductRow]:
    """A campaign's products in the order its post lists them."""
    return list(session.scalars(
        select(ProductRow).where(ProductRow.campaign_id == campaign_id).order_by(ProductRow.position, ProductRow.id)))


def find_campaign(session: Session, name: str) -> Campaign | None:
    """A campaign by its id or its exact title."""
    return session.scalar(select(Campaign).where((Campaign.id == name) | (Campaign.title == name)))


def running_campaigns(session: Session, at: datetime) -> list[Campaign]:
    """Campaigns taking orders at this time, else the one that closed last."""
    running = list(session.scalars(
        select(Campaign).where(Campaign.opens <= at, Campaign.deadline >= at).order_by(Campaign.opens)))
    if running:
        return running
    latest = session.scalar(select(Campaign).where(Campaign.opens <= at).order_by(Campaign.deadline.desc()))
    return [latest] if latest else []


def campaigns_with_deadline_after(session: Session, at: datetime) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.deadline >= at).order_by(Campaign.opens, Campaign.id)))


def campaign_groups(session: Session, campaign: Campaign) -> list[Group]:
    """The bound groups a campaign runs in."""
    query = select(Group).where(Group.leader_id.is_not(None)).order_by(Group.id)
    if not campaign.all_groups:
        query = query.where(Group.id.in_(select(CampaignGroup.group_id).where(CampaignGroup.campaign_id == campaign.id)))
    return list(session.scalars(query))


def active_leaders(session: Session) -> list[Leader]:
    return list(session.scalars(select(Leader).where(Leader.active.is_(True)).order_by(Leader.id)))


def admins(session: Session) -> list[Admin]:
    return list(session.scalars(select(Admin).order_by(Admin.user_id)))


def first_bound_group(session: Session) -> Group | None:
    return session.scalar(select(Group).where(Group.leader_id.is_not(None)).order_by(Group.id).limit(1))
