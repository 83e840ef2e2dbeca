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


def group_for_chat(session: Session, chat_id: str) -> Group | None:
    """The group whose room id this is (or, until its room has spoken, whose set-up name).
    A topic never identifies a group: messages go through storage.rooms.resolve_room."""
    return session.scalar(_GROUP_BY_CHAT, dict(chat=chat_id))


# Statements the bot runs for every message are built once.
_GROUP_BY_CHAT = select(Group).where(Group.chat_id == bindparam("chat")).limit(1)


def leader_ids(group: Group) -> set[str]:
    """Who may change anyone's line in this group: its leader."""
    return {group.leader_id} if group.leader_id else set()


def campaign_for_group(session: Session, group: Group, at: datetime) -> Campaign | None:
    """The one campaign of this group at this time, when only one can be meant.

    Among the campaigns for this group that have opened, the one still taking orders with
    the nearest deadline; if none is, the one whose deadline passed most recently (so a
    line written after the deadline is kept as late rather than lost). Where several run
    side by side, a chain's own campaign is chosen from `campaigns_for_group` by its title
    and products (bot.routing).
    """
    params = dict(group=group.id, at=at)
    return session.scalar(_RUNNING_CAMPAIGN, params) or session.scalar(_LAST_CAMPAIGN, params)


def campaigns_for_group(session: Session, group_id: int, at: datetime) -> list[Campaign]:
    """The campaigns a chain in this group may belong to at this time: every campaign of the
    group that has opened and whose deadline is not before the latest opening (those taking
    orders, and those closed since: a late line still finds its campaign; last week's is
    gone once this week's opened). Nearest deadline first."""
    return list(session.scalars(_CURRENT_CAMPAIGNS, dict(group=group_id, at=at)))


_OPENED_IN_GROUP = select(Campaign).where(
    or_(Campaign.all_groups.is_(True),
        Campaign.id.in_(select(CampaignGroup.campaign_id).where(CampaignGroup.group_id == bindparam("group")))),
    Campaign.opens <= bindparam("at"),
)
_RUNNING_CAMPAIGN = (_OPENED_IN_GROUP.where(Campaign.deadline >= bindparam("at"), Campaign.closed_at.is_(None))
                     .order_by(Campaign.deadline).limit(1))
_LAST_CAMPAIGN = _OPENED_IN_GROUP.order_by(Campaign.deadline.desc()).limit(1)
_LATEST_OPENING = _OPENED_IN_GROUP.with_only_columns(func.max(Campaign.opens)).scalar_subquery()
_CURRENT_CAMPAIGNS = _OPENED_IN_GROUP.where(Campaign.deadline >= _LATEST_OPENING).order_by(Campaign.deadline, Campaign.id)


def next_campaign_opening(session: Session, after: datetime) -> datetime | None:
    """When the next campaign (of any group) opens after this time."""
    return session.scalar(_NEXT_OPENING, dict(after=after))


_NEXT_OPENING = select(func.min(Campaign.opens)).where(Campaign.opens > bindparam("after"))


def group_by_id(session: Session, group_id: int) -> Group | None:
    return session.get(Group, group_id)


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


def current_campaigns(session: Session, group_ids: list[int], at: datetime) -> list[Campaign]:
    """The campaigns of these groups now (see `campaigns_for_group`), nearest deadline first."""
    found: dict[str, Campaign] = {}
    for group_id in group_ids:
        for campaign in campaigns_for_group(session, group_id, at):
            found.setdefault(campaign.id, campaign)
    return sorted(found.values(), key=lambda c: (c.deadline, c.id))


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
    """Campaigns taking orders at this time, else those closed since the latest opening (two
    that ran side by side are both still the current ones). Nearest deadline first."""
    running = list(session.scalars(
        select(Campaign).where(Campaign.opens <= at, Campaign.deadline >= at).order_by(Campaign.deadline, Campaign.id)))
    if running:
        return running
    latest = select(func.max(Campaign.opens)).where(Campaign.opens <= at).scalar_subquery()
    return list(session.scalars(select(Campaign).where(Campaign.opens <= at, Campaign.deadline >= latest)
                                .order_by(Campaign.deadline, Campaign.id)))


def campaigns_opened_by(session: Session, at: datetime) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.opens <= at).order_by(Campaign.opens, Campaign.id)))


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


def groups_running(session: Session, campaign: Campaign, group_ids: list[int]) -> list[int]:
    """Which of these groups the campaign runs in (P4: a leader posts only there)."""
    if campaign.all_groups or not group_ids:
        return list(group_ids)
    return list(session.scalars(select(CampaignGroup.group_id).where(
        CampaignGroup.campaign_id == campaign.id, CampaignGroup.group_id.in_(group_ids)).order_by(CampaignGroup.group_id)))
