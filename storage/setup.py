"""The set-up file (TOML): platform, admins, leaders, groups, campaigns and their products.

`load_setup_text` validates and returns plain data; `apply_setup` upserts it, so loading the
same file again changes nothing and an edited file updates rows in place.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Admin,
    Campaign,
    CampaignGroup,
    Group,
    Leader,
    Platform,
    ProductPrice,
    ProductRow,
)
from storage.rates import record_rate


class SetupError(ValueError):
    """A set-up file that cannot be loaded; the message names the key and the problem."""


@dataclass
class ProductSpec:
    sku: str
    name: str
    price: Decimal
    unit: str = ""
    aliases: list[str] = field(default_factory=list)
    stock: Decimal | None = None


@dataclass
class CampaignSpec:
    id: str
    title: str
    opens: datetime
    deadline: datetime
    pickup: datetime | None
    pickup_place: str
    link: str
    groups: list[str] | None  # None: every group
    products: list[ProductSpec]


@dataclass
class LeaderSpec:
    id: str
    name: str
    groups: list[str]
    commission_rate: Decimal | None


@dataclass
class SetupData:
    timezone: str = "Asia/Shanghai"
    platform_name: str = ""
    admins: list[str] = field(default_factory=list)
    commission_rate: Decimal = Decimal("0.10")
    leaders: list[LeaderSpec] = field(default_factory=list)
    campaigns: list[CampaignSpec] = field(default_factory=list)


def load_setup_text(text: str) -> SetupData:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"not valid TOML: {exc}") from None
    tz_name = _str(raw, "timezone", "timezone", default="Asia/Shanghai")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SetupError(f"timezone: unknown time zone {tz_name!r}") from None
    platform = _table(raw, "platform", "platform")
    data = SetupData(
        timezone=tz_name,
        platform_name=_str(platform, "name", "platform.name", default=""),
        admins=_str_list(platform, "admins", "platform.admins", default=[]),
        commission_rate=_rate(platform, "commission_rate", "platform.commission_rate", Decimal("0.10")),
    )
    for i, leader in enumerate(_list_of_tables(raw, "leaders")):
        where = f"leaders[{i}]"
        data.leaders.append(LeaderSpec(
            id=_str(leader, "id", f"{where}.id"),
            name=_str(leader, "name", f"{where}.name"),
            groups=_str_list(leader, "groups", f"{where}.groups", default=[]),
            commission_rate=_rate(leader, "commission_rate", f"{where}.commission_rate", None),
        ))
    _unique([leader.id for leader in data.leaders], "leaders", "id")
    for i, campaign in enumerate(_list_of_tables(raw, "campaigns")):
        data.campaigns.append(_campaign(campaign, f"campaigns[{i}]", tz))
    _unique([c.id for c in data.campaigns], "campaigns", "id")
    return data


def _campaign(raw: dict, where: str, tz: ZoneInfo) -> CampaignSpec:
    products = []
    for j, product in enumerate(_list_of_tables(raw, "products", where)):
        pw = f"{where}.products[{j}]"
        stock = product.get("stock")
        products.append(ProductSpec(
            sku=_str(product, "sku", f"{pw}.sku"),
            name=_str(product, "name", f"{pw}.name"),
            price=_decimal(product.get("price"), f"{pw}.price", required=True),
            unit=_str(product, "unit", f"{pw}.unit", default=""),
            aliases=_str_list(product, "aliases", f"{pw}.aliases", default=[]),
            stock=None if stock is None else _decimal(stock, f"{pw}.stock", required=True),
        ))
    _unique([p.sku for p in products], f"{where}.products", "sku")
    spec = CampaignSpec(
        id=_str(raw, "id", f"{where}.id"),
        title=_str(raw, "title", f"{where}.title"),
        opens=_when(raw.get("opens"), f"{where}.opens", tz, required=True),
        deadline=_when(raw.get("deadline"), f"{where}.deadline", tz, required=True),
        pickup=_when(raw.get("pickup"), f"{where}.pickup", tz, required=False),
        pickup_place=_str(raw, "pickup_place", f"{where}.pickup_place", default=""),
        link=_str(raw, "link", f"{where}.link", default=""),
        groups=_str_list(raw, "groups", f"{where}.groups", default=None),
        products=products,
    )
    if spec.deadline <= spec.opens:
        raise SetupError(f"{where}.deadline: must be after opens")
    return spec


# --- validation helpers ------------------------------------------------------------------


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise SetupError(f"{where}: must be a table")
    return value


def _list_of_tables(raw: dict, key: str, where: str = "") -> list[dict]:
    value = raw.get(key, [])
    name = f"{where}.{key}" if where else key
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SetupError(f"{name}: must be an array of tables ([[{name}]])")
    return value


def _str(raw: dict, key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise SetupError(f"{where}: missing")
    if not isinstance(value, str):
        raise SetupError(f"{where}: must be a string")
    if default is None and not value.strip():
        raise SetupError(f"{where}: must not be empty")
    return value.strip()


def _str_list(raw: dict, key: str, where: str, default):
    value = raw.get(key, default)
    if value is default:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SetupError(f"{where}: must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _decimal(value, where: str, required: bool) -> Decimal:
    if value is None and required:
        raise SetupError(f"{where}: missing")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SetupError(f"{where}: must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise SetupError(f"{where}: must be a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise SetupError(f"{where}: must be a number ≥ 0, not {value!r}")
    return number


def _rate(raw: dict, key: str, where: str, default):
    if key not in raw:
        return default
    rate = _decimal(raw[key], where, required=True)
    if rate > 1:
        raise SetupError(f"{where}: a rate between 0 and 1 (0.10 for 10%), not {raw[key]!r}")
    return rate


def _when(value, where: str, tz: ZoneInfo, required: bool) -> datetime | None:
    if value is None:
        if required:
            raise SetupError(f"{where}: missing")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SetupError(f"{where}: not a date-time: {value!r}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    if not isinstance(value, datetime):
        raise SetupError(f"{where}: must be a date-time like 2026-11-24T22:00:00+08:00")
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _unique(values: list[str], where: str, key: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise SetupError(f"{where}: duplicate {key} {value!r}")
        seen.add(value)


# --- applying --------------------------------------------------------------------------


def apply_setup(session: Session, data: SetupData, at: datetime | None = None) -> None:
    """Upsert everything the set-up describes. Rows it does not mention are left alone.

    A changed price or commission rate applies to items first ordered from `at` (default:
    now) on; items ordered before keep theirs (see ProductPrice, storage.rates)."""
    at = at or datetime.now(UTC)
    platform = session.get(Platform, 1) or Platform(id=1)
    platform.name, platform.timezone = data.platform_name, data.timezone
    platform.commission_rate = data.commission_rate
    session.add(platform)
    for user_id in data.admins:
        session.merge(Admin(user_id=user_id))
    for spec in data.leaders:
        leader = session.get(Leader, spec.id) or Leader(id=spec.id)
        leader.name, leader.commission_rate, leader.active = spec.name, spec.commission_rate, True
        session.add(leader)
        for chat in spec.groups:
            group = _group(session, chat)
            group.leader_id = spec.id
    session.flush()
    record_rate(session, None, data.commission_rate, at)
    for spec in data.leaders:
        record_rate(session, spec.id, spec.commission_rate, at)
    for spec in data.campaigns:
        _apply_campaign(session, spec, at)
    session.flush()


def _group(session: Session, chat: str) -> Group:
    """The group the set-up means by `chat`: the one it named so before (whatever its room is
    called now), a room id, or the only room already bound under that topic. Otherwise a new
    group that learns its room id when a room with that topic first speaks (storage.rooms)."""
    group = session.scalar(select(Group).where(Group.setup_name == chat)) or \
        session.scalar(select(Group).where(Group.chat_id == chat))
    if group is None:
        named = session.scalars(select(Group).where(Group.room_known.is_(True), Group.name == chat).limit(2)).all()
        group = named[0] if len(named) == 1 else None
    if group is None:
        group = Group(chat_id=chat, name=chat, room_known=False)
        session.add(group)
    group.setup_name = chat
    session.flush()
    return group


def _apply_campaign(session: Session, spec: CampaignSpec, at: datetime) -> None:
    campaign = session.get(Campaign, spec.id) or Campaign(id=spec.id)
    campaign.title, campaign.opens, campaign.deadline = spec.title, spec.opens, spec.deadline
    campaign.pickup, campaign.pickup_place, campaign.link = spec.pickup, spec.pickup_place, spec.link
    campaign.all_groups = spec.groups is None
    session.add(campaign)
    session.flush()
    wanted = {_group(session, chat).id for chat in spec.groups or []}
    current = {cg.group_id: cg for cg in session.scalars(select(CampaignGroup).where(CampaignGroup.campaign_id == spec.id))}
    for group_id in wanted - current.keys():
        session.add(CampaignGroup(campaign_id=spec.id, group_id=group_id))
    for group_id in current.keys() - wanted:
        session.delete(current[group_id])
    existing = {p.sku: p for p in session.scalars(select(ProductRow).where(ProductRow.campaign_id == spec.id))}
    for position, product in enumerate(spec.products):
        row = existing.get(product.sku)
        if row is None:
            row = ProductRow(campaign_id=spec.id, sku=product.sku, name=product.name, price=product.price,
                             unit=product.unit, aliases=list(product.aliases), stock=product.stock,
                             position=position)
            session.add(row)
            session.flush()
            session.add(ProductPrice(product_id=row.id, price=product.price, valid_from=None))
        elif row.price != product.price:
            session.add(ProductPrice(product_id=row.id, price=product.price, valid_from=at))
        row.name, row.price, row.unit = product.name, product.price, product.unit
        row.aliases, row.stock, row.position = list(product.aliases), product.stock, position
