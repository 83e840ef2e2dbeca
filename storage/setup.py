"""The set-up file (TOML): platform, admins, leaders, groups, campaigns and their products,
and the operator's [settings].

`load_setup_text` validates and returns plain data; `apply_setup` upserts it, so loading the
same file again changes nothing and an edited file updates rows in place. Validation is
strict and names the key: an unknown key (with the nearest known one), a wrong type, a value
too long or too large for its column, a group under two leaders, a campaign in a group no
leader runs, a pickup before the deadline — all refused before the database sees them.
`SETUP_KEYS` lists every key the loader knows (docs/setup.md is checked against it).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

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
from storage.settings import (
    SETTINGS,
    SettingError,
    defaults,
    parse_setting,
    parse_timezone,
    to_stored,
)

# Every key of every table, by where the table sits ("" is the top level; [] an array of tables).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "": ("timezone", "platform", "leaders", "campaigns", "settings"),
    "platform": ("name", "admins", "commission_rate"),
    "settings": tuple(spec.key for spec in SETTINGS),
    "leaders[]": ("id", "name", "groups", "commission_rate"),
    "campaigns[]": ("id", "title", "opens", "deadline", "pickup", "pickup_place", "link", "groups", "products"),
    "campaigns[].products[]": ("sku", "name", "price", "unit", "aliases", "stock"),
}
SETUP_KEYS: frozenset[str] = frozenset(
    f"{table}.{key}" if table else key for table, keys in TABLE_KEYS.items() for key in keys)

YEARS = (2000, 2999)  # a campaign's dates: anything else is a typo


def _width(column) -> int:
    return column.type.length


# Column widths the values must fit (checked here, so SQLite and PostgreSQL refuse alike).
WIDTHS = {
    "timezone": _width(Platform.timezone), "platform.name": _width(Platform.name),
    "admin": _width(Admin.user_id), "leader.id": _width(Leader.id), "leader.name": _width(Leader.name),
    "group": min(_width(Group.chat_id), _width(Group.name)), "campaign.id": _width(Campaign.id),
    "campaign.title": _width(Campaign.title), "campaign.pickup_place": _width(Campaign.pickup_place),
    "campaign.link": _width(Campaign.link), "product.sku": _width(ProductRow.sku),
    "product.name": _width(ProductRow.name), "product.unit": _width(ProductRow.unit),
}
# Numeric(precision, scale) of money, quantities and rates: the largest value and the decimals.
MONEY = (ProductRow.price.type.precision, ProductRow.price.type.scale)
QUANTITY = (ProductRow.stock.type.precision, ProductRow.stock.type.scale)
RATE = (Leader.commission_rate.type.precision, Leader.commission_rate.type.scale)


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
    settings: dict = field(default_factory=defaults)  # storage.settings: key → value, defaults filled


def load_setup_text(text: str) -> SetupData:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"not valid TOML: {exc}") from None
    _known_keys(raw, "", "")
    settings = _settings(raw)
    tz_name = settings["timezone"]
    tz = ZoneInfo(tz_name)
    platform = _table(raw, "platform", "platform")
    _known_keys(platform, "platform", "platform")
    data = SetupData(
        timezone=tz_name,
        platform_name=_str(platform, "name", "platform.name", default="", width=WIDTHS["platform.name"]),
        admins=_str_list(platform, "admins", "platform.admins", default=[], width=WIDTHS["admin"]),
        commission_rate=_rate(platform, "commission_rate", "platform.commission_rate", Decimal("0.10")),
        settings=settings,
    )
    for i, leader in enumerate(_list_of_tables(raw, "leaders")):
        where = f"leaders[{i}]"
        _known_keys(leader, "leaders[]", where)
        data.leaders.append(LeaderSpec(
            id=_str(leader, "id", f"{where}.id", width=WIDTHS["leader.id"]),
            name=_str(leader, "name", f"{where}.name", width=WIDTHS["leader.name"]),
            groups=_str_list(leader, "groups", f"{where}.groups", default=[], width=WIDTHS["group"]),
            commission_rate=_rate(leader, "commission_rate", f"{where}.commission_rate", None),
        ))
    _unique([leader.id for leader in data.leaders], "leaders", "id")
    _one_leader_per_group(data.leaders)
    for i, campaign in enumerate(_list_of_tables(raw, "campaigns")):
        data.campaigns.append(_campaign(campaign, f"campaigns[{i}]", tz))
    _unique([c.id for c in data.campaigns], "campaigns", "id")
    return data


def _settings(raw: dict) -> dict:
    """The [settings] table over the defaults; the top-level `timezone` (the key set-up files
    had before [settings]) means the same as settings.timezone."""
    table = _table(raw, "settings", "settings")
    _known_keys(table, "settings", "settings")
    values = defaults()
    for spec in SETTINGS:
        if spec.key in table:
            try:
                values[spec.key] = parse_setting(spec, table[spec.key])
            except SettingError as exc:
                raise SetupError(f"settings.{spec.key}: {exc}") from None
    if "timezone" in raw:
        try:
            top = parse_timezone(raw["timezone"])
        except SettingError as exc:
            raise SetupError(f"timezone: {exc}") from None
        if "timezone" in table and values["timezone"] != top:
            raise SetupError(f"timezone: {top!r} differs from settings.timezone {values['timezone']!r}; keep one")
        values["timezone"] = top
    if len(values["timezone"]) > WIDTHS["timezone"]:
        raise SetupError(f"settings.timezone: at most {WIDTHS['timezone']} characters")
    return values


def _campaign(raw: dict, where: str, tz: ZoneInfo) -> CampaignSpec:
    _known_keys(raw, "campaigns[]", where)
    products = []
    for j, product in enumerate(_list_of_tables(raw, "products", where)):
        pw = f"{where}.products[{j}]"
        _known_keys(product, "campaigns[].products[]", pw)
        stock = product.get("stock")
        products.append(ProductSpec(
            sku=_str(product, "sku", f"{pw}.sku", width=WIDTHS["product.sku"]),
            name=_str(product, "name", f"{pw}.name", width=WIDTHS["product.name"]),
            price=_decimal(product.get("price"), f"{pw}.price", required=True, fits=MONEY),
            unit=_str(product, "unit", f"{pw}.unit", default="", width=WIDTHS["product.unit"]),
            aliases=_str_list(product, "aliases", f"{pw}.aliases", default=[], width=WIDTHS["product.name"]),
            stock=None if stock is None else _decimal(stock, f"{pw}.stock", required=True, fits=QUANTITY),
        ))
    _unique([p.sku for p in products], f"{where}.products", "sku")
    spec = CampaignSpec(
        id=_str(raw, "id", f"{where}.id", width=WIDTHS["campaign.id"]),
        title=_str(raw, "title", f"{where}.title", width=WIDTHS["campaign.title"]),
        opens=_when(raw.get("opens"), f"{where}.opens", tz, required=True),
        deadline=_when(raw.get("deadline"), f"{where}.deadline", tz, required=True),
        pickup=_when(raw.get("pickup"), f"{where}.pickup", tz, required=False),
        pickup_place=_str(raw, "pickup_place", f"{where}.pickup_place", default="",
                          width=WIDTHS["campaign.pickup_place"]),
        link=_str(raw, "link", f"{where}.link", default="", width=WIDTHS["campaign.link"]),
        groups=_str_list(raw, "groups", f"{where}.groups", default=None, width=WIDTHS["group"]),
        products=products,
    )
    if spec.deadline <= spec.opens:
        raise SetupError(f"{where}.deadline: must be after opens")
    if spec.pickup is not None and spec.pickup < spec.deadline:
        raise SetupError(f"{where}.pickup: must not be before the deadline ({spec.deadline.isoformat()})")
    return spec


def _one_leader_per_group(leaders: list[LeaderSpec]) -> None:
    owner: dict[str, int] = {}
    for i, leader in enumerate(leaders):
        for chat in leader.groups:
            if chat in owner and owner[chat] != i:
                first = leaders[owner[chat]]
                raise SetupError(f"leaders[{i}].groups: {chat!r} is already under leaders[{owner[chat]}] "
                                 f"({first.name}); a group has one leader")
            owner[chat] = i


# --- validation helpers ------------------------------------------------------------------


def _known_keys(raw: dict, table: str, where: str) -> None:
    known = TABLE_KEYS[table]
    for key in raw:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" — did you mean {near[0]}?" if near else f" (known here: {', '.join(known)})"
            raise SetupError(f"{where + '.' if where else ''}{key}: unknown key{hint}")


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


def _str(raw: dict, key: str, where: str, default: str | None = None, width: int | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise SetupError(f"{where}: missing")
    if not isinstance(value, str):
        raise SetupError(f"{where}: must be a string")
    if default is None and not value.strip():
        raise SetupError(f"{where}: must not be empty")
    return _fits(value.strip(), where, width)


def _fits(value: str, where: str, width: int | None) -> str:
    if width is not None and len(value) > width:
        raise SetupError(f"{where}: at most {width} characters, not {len(value)}")
    return value


def _str_list(raw: dict, key: str, where: str, default, width: int | None = None):
    value = raw.get(key, default)
    if value is default:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SetupError(f"{where}: must be a list of strings")
    return [_fits(v.strip(), f"{where}[{i}]", width) for i, v in enumerate(value) if v.strip()]


def _decimal(value, where: str, required: bool, fits: tuple[int, int] | None = None) -> Decimal:
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
    if fits is not None:
        precision, scale = fits
        if number >= Decimal(10) ** (precision - scale):
            raise SetupError(f"{where}: too large ({value!r}); at most {precision - scale} digits before the point")
        if number != number.quantize(Decimal(1).scaleb(-scale)):
            raise SetupError(f"{where}: at most {scale} decimals, not {value!r}")
    return number


def _rate(raw: dict, key: str, where: str, default):
    if key not in raw:
        return default
    rate = _decimal(raw[key], where, required=True)
    if rate > 1:
        raise SetupError(f"{where}: a rate between 0 and 1 (0.10 for 10%), not {raw[key]!r}")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE[1])):
        raise SetupError(f"{where}: at most {RATE[1]} decimals, not {raw[key]!r}")
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
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise SetupError(f"{where}: the year must be between {YEARS[0]} and {YEARS[1]}, not {value.year}")
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _unique(values: list[str], where: str, key: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise SetupError(f"{where}: duplicate {key} {value!r}")
        seen.add(value)


# --- applying --------------------------------------------------------------------------


def apply_setup(session: Session, data: SetupData, at: datetime | None = None) -> list[str]:
    """Upsert everything the set-up describes. Rows it does not mention are left alone.

    A changed price or commission rate applies to items first ordered from `at` (default:
    now) on; items ordered before keep theirs (see ProductPrice, storage.rates). Returns notes
    worth telling the operator (a group that moved to another leader); raises SetupError for a
    campaign in a group no leader runs (nothing is applied: the caller's transaction rolls back)."""
    at = at or datetime.now(UTC)
    notes: list[str] = []
    platform = session.get(Platform, 1) or Platform(id=1)
    platform.name, platform.timezone = data.platform_name, data.timezone
    platform.commission_rate = data.commission_rate
    platform.settings = to_stored(data.settings)
    session.add(platform)
    for user_id in data.admins:
        session.merge(Admin(user_id=user_id))
    for spec in data.leaders:
        leader = session.get(Leader, spec.id) or Leader(id=spec.id)
        leader.name, leader.commission_rate, leader.active = spec.name, spec.commission_rate, True
        session.add(leader)
        for chat in spec.groups:
            group = _group(session, chat)
            if group.leader_id not in (None, spec.id):
                notes.append(f"group {chat!r} moved from leader {group.leader_id} to {spec.id}")
            group.leader_id = spec.id
    session.flush()
    record_rate(session, None, data.commission_rate, at)
    for spec in data.leaders:
        record_rate(session, spec.id, spec.commission_rate, at)
    for i, spec in enumerate(data.campaigns):
        _check_campaign_groups(session, spec, f"campaigns[{i}]")
        _apply_campaign(session, spec, at)
    session.flush()
    return notes


def _check_campaign_groups(session: Session, spec: CampaignSpec, where: str) -> None:
    """A campaign runs only in groups a leader runs (in this file or bound before)."""
    for chat in spec.groups or []:
        group = _existing_group(session, chat) or _only_room_named(session, chat)
        if group is None or group.leader_id is None:
            raise SetupError(f"{where}.groups: no leader runs {chat!r}; list it under a leader's groups "
                             f"(or have the leader send 绑定 {chat})")


def _existing_group(session: Session, chat: str) -> Group | None:
    """The group a set-up name stands for: named so by the set-up before, or a room id."""
    return session.scalar(select(Group).where(Group.setup_name == chat)) or \
        session.scalar(select(Group).where(Group.chat_id == chat))


def _only_room_named(session: Session, topic: str) -> Group | None:
    named = session.scalars(select(Group).where(Group.room_known.is_(True), Group.name == topic).limit(2)).all()
    return named[0] if len(named) == 1 else None


def _group(session: Session, chat: str) -> Group:
    """The group the set-up means by `chat`: the one it named so before (whatever its room is
    called now), a room id, or the only room already bound under that topic. Otherwise a new
    group that learns its room id when a room with that topic first speaks (storage.rooms)."""
    group = _existing_group(session, chat) or _only_room_named(session, chat)
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
