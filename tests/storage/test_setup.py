"""The set-up file: validation errors name the key; loading is an idempotent upsert."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.models import Admin, Campaign, CampaignGroup, Group, Leader, Platform, ProductRow
from storage.setup import SetupError, apply_setup, load_setup_text

SETUP = """
timezone = "Asia/Shanghai"
[platform]
name = "你我您"
admins = ["wxid_admin"]
commission_rate = 0.10
[[leaders]]
id = "wxid_li"
name = "李姐"
groups = ["阳光小区3期团购群"]
commission_rate = 0.12
[[leaders]]
id = "wxid_zhou"
name = "老周"
groups = ["翠苑二区邻里群"]
[[campaigns]]
id = "fruit-1125"
title = "周三水果团"
opens = 2026-11-24T09:00:00+08:00
deadline = 2026-11-24T22:00:00+08:00
pickup = 2026-11-25T16:00:00+08:00
pickup_place = "3栋门口"
link = "https://example.com/c/fruit-1125"
groups = ["阳光小区3期团购群"]
[[campaigns.products]]
sku = "XG01"
name = "麒麟西瓜"
price = 15
unit = "个"
aliases = ["西瓜"]
stock = 100
[[campaigns.products]]
sku = "JZ01"
name = "砂糖橘"
price = 30.5
unit = "箱"
[[campaigns]]
id = "veg-1126"
title = "周四蔬菜团"
opens = 2026-11-25T09:00:00
deadline = 2026-11-25T22:00:00
[[campaigns.products]]
sku = "BC01"
name = "大白菜"
price = 3
"""


def _counts(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Platform, Admin, Leader, Group, Campaign, CampaignGroup, ProductRow)}


def test_load_creates_everything(sessions):
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions() as session:
        assert _counts(session) == {"platform": 1, "admins": 1, "leaders": 2, "groups": 2, "campaigns": 2,
                                    "campaign_groups": 1, "products": 3}
        platform = session.get(Platform, 1)
        assert (platform.name, platform.timezone, platform.commission_rate) == ("你我您", "Asia/Shanghai",
                                                                               Decimal("0.1"))
        li = session.get(Leader, "wxid_li")
        assert (li.name, li.commission_rate) == ("李姐", Decimal("0.12"))
        assert session.get(Leader, "wxid_zhou").commission_rate is None
        group = session.scalar(select(Group).where(Group.name == "阳光小区3期团购群"))
        assert group.leader_id == "wxid_li"
        fruit = session.get(Campaign, "fruit-1125")
        assert fruit.deadline == datetime(2026, 11, 24, 14, 0, tzinfo=ZoneInfo("UTC"))
        assert not fruit.all_groups
        assert [p.sku for p in fruit.products] == ["XG01", "JZ01"]
        watermelon = fruit.products[0]
        assert (watermelon.price, watermelon.stock, watermelon.aliases) == (Decimal(15), Decimal(100), ["西瓜"])
        veg = session.get(Campaign, "veg-1126")
        # A time without an offset is in the set-up's time zone.
        assert veg.opens == datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert veg.all_groups


def test_loading_again_changes_nothing_and_edits_update_in_place(sessions):
    data = load_setup_text(SETUP)
    with sessions.begin() as session:
        apply_setup(session, data)
    with sessions() as session:
        before = _counts(session)
        ids = {p.sku: p.id for p in session.scalars(select(ProductRow))}
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions() as session:
        assert _counts(session) == before
    edited = (SETUP.replace("price = 15", "price = 16").replace('title = "周三水果团"', 'title = "周三水果专场"')
              .replace('groups = ["阳光小区3期团购群"]\n[[campaigns.products]]',
                       'groups = ["阳光小区3期团购群", "翠苑二区邻里群"]\n[[campaigns.products]]'))
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(edited))
    with sessions() as session:
        counts = _counts(session)
        assert counts == before | {"campaign_groups": 2}
        watermelon = session.scalar(select(ProductRow).where(ProductRow.sku == "XG01"))
        assert (watermelon.id, watermelon.price) == (ids["XG01"], Decimal(16))
        assert session.get(Campaign, "fruit-1125").title == "周三水果专场"


def test_a_group_known_by_its_room_id_is_matched_by_name(sessions):
    """A room already bound (its id known) that the set-up then names by its topic."""
    with sessions.begin() as session:
        session.add(Group(chat_id="123@chatroom", name="阳光小区3期团购群", room_known=True))
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions() as session:
        groups = session.scalars(select(Group).where(Group.name == "阳光小区3期团购群")).all()
        assert [(g.chat_id, g.leader_id, g.setup_name) for g in groups] == [
            ("123@chatroom", "wxid_li", "阳光小区3期团购群")]


def test_a_renamed_group_stays_the_set_ups_group_on_reload(sessions):
    """D4: a reload after the room was renamed finds the group by the name the set-up gave it."""
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions.begin() as session:
        group = session.scalar(select(Group).where(Group.setup_name == "阳光小区3期团购群"))
        group.chat_id, group.name, group.room_known = "123@chatroom", "阳光小区3期团购群🍉", True
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
    with sessions() as session:
        assert [(g.chat_id, g.name, g.leader_id) for g in session.scalars(select(Group).order_by(Group.id))
                if g.leader_id == "wxid_li"] == [("123@chatroom", "阳光小区3期团购群🍉", "wxid_li")]


CAMPAIGN = 'id = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\ndeadline = 2026-11-24T22:00:00\n'


def campaign(extra: str = "", product: str = 'sku = "A"\nname = "a"\nprice = 1') -> str:
    """One campaign with one product; `extra` goes into the campaign, `product` is the product."""
    return f"[[campaigns]]\n{CAMPAIGN}{extra}\n[[campaigns.products]]\n{product}\n"


ERRORS = {
    "not TOML": ("x = = 1", "not valid TOML"),
    "unknown time zone": ('timezone = "Mars/Base"', "timezone: unknown time zone"),
    "leader without id": ('[[leaders]]\nname = "李姐"', "leaders[0].id: missing"),
    "leader id not a string": ('[[leaders]]\nid = 3\nname = "李姐"', "leaders[0].id: must be a string"),
    "duplicate leader": ('[[leaders]]\nid = "a"\nname = "x"\n[[leaders]]\nid = "a"\nname = "y"',
                         "leaders: duplicate id 'a'"),
    "commission above 1": ("[platform]\ncommission_rate = 12", "platform.commission_rate: a rate between 0 and 1"),
    "negative price": (campaign(product='sku = "A"\nname = "a"\nprice = -1'),
                       "campaigns[0].products[0].price: must be a number ≥ 0"),
    "price missing": (campaign(product='sku = "A"\nname = "a"'), "campaigns[0].products[0].price: missing"),
    "deadline before opens": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n'
                              'deadline = 2026-11-23T22:00:00', "campaigns[0].deadline: must be after opens"),
    "deadline not a time": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\ndeadline = "soon"',
                            "campaigns[0].deadline: not a date-time"),
    "duplicate sku": (campaign(product='sku = "A"\nname = "a"\nprice = 1\n[[campaigns.products]]\n'
                                       'sku = "A"\nname = "b"\nprice = 2'),
                      "campaigns[0].products: duplicate sku 'A'"),
    "groups not a list": ('[[leaders]]\nid = "a"\nname = "x"\ngroups = "g"', "leaders[0].groups: must be a list"),
    "leaders not tables": ('leaders = ["a"]', "leaders: must be an array of tables"),
    # U2: typos and dangling names are named, with the nearest known key.
    "misspelt platform rate": ("[platform]\ncomission_rate = 0.1",
                               "platform.comission_rate: unknown key — did you mean commission_rate?"),
    "misspelt stock": (campaign(product='sku = "A"\nname = "a"\nprice = 1\nstok = 30'),
                       "campaigns[0].products[0].stok: unknown key — did you mean stock?"),
    "singular alias": (campaign(product='sku = "A"\nname = "a"\nprice = 1\nalias = ["b"]'),
                       "campaigns[0].products[0].alias: unknown key — did you mean aliases?"),
    "leader on a campaign": (campaign('leader = "wxid_nobody"'), "campaigns[0].leader: unknown key"),
    "misplaced products table": (campaign() + '[campaigns.products2]\nsku = "B"',
                                 "campaigns[0].products2: unknown key — did you mean products?"),
    "unknown top-level table": ('[platfrom]\nname = "x"', "platfrom: unknown key — did you mean platform?"),
    "unknown key without a near one": ("[platform]\nxyz = 1", "platform.xyz: unknown key (known here: name, admins"),
    "unknown setting": ("[settings]\ndigest_intervall = \"1h\"",
                        "settings.digest_intervall: unknown key — did you mean digest_interval?"),
    "group under two leaders": ('[[leaders]]\nid = "a"\nname = "甲"\ngroups = ["g"]\n'
                                '[[leaders]]\nid = "b"\nname = "乙"\ngroups = ["h", "g"]',
                                "leaders[1].groups: 'g' is already under leaders[0] (甲); a group has one leader"),
    "pickup before the deadline": (campaign("pickup = 2026-11-24T20:00:00"),
                                   "campaigns[0].pickup: must not be before the deadline"),
    # U1: values too long or too large for their columns, refused before any database sees them.
    "campaign id too long": (campaign().replace('id = "c"', f'id = "{"c" * 101}"'),
                             "campaigns[0].id: at most 100 characters, not 101"),
    "sku too long": (campaign(product=f'sku = "{"A" * 101}"\nname = "a"\nprice = 1'),
                     "campaigns[0].products[0].sku: at most 100 characters"),
    "product name too long": (campaign(product=f'sku = "A"\nname = "{"名" * 201}"\nprice = 1'),
                              "campaigns[0].products[0].name: at most 200 characters"),
    "unit too long": (campaign(product='sku = "A"\nname = "a"\nprice = 1\nunit = "' + "斤" * 21 + '"'),
                      "campaigns[0].products[0].unit: at most 20 characters"),
    "leader group too long": (f'[[leaders]]\nid = "a"\nname = "x"\ngroups = ["{"群" * 201}"]',
                              "leaders[0].groups[0]: at most 200 characters"),
    "leader id too long": (f'[[leaders]]\nid = "{"w" * 129}"\nname = "x"', "leaders[0].id: at most 128 characters"),
    "admin too long": (f'[platform]\nadmins = ["{"w" * 129}"]', "platform.admins[0]: at most 128 characters"),
    "link too long": (campaign(f'link = "https://x/{"a" * 500}"'), "campaigns[0].link: at most 500 characters"),
    "price too large": (campaign(product='sku = "A"\nname = "a"\nprice = 1e20'),
                        "campaigns[0].products[0].price: too large"),
    "price with three decimals": (campaign(product='sku = "A"\nname = "a"\nprice = 9.999'),
                                  "campaigns[0].products[0].price: at most 2 decimals"),
    "stock too large": (campaign(product='sku = "A"\nname = "a"\nprice = 1\nstock = 1e30'),
                        "campaigns[0].products[0].stock: too large"),
    "rate with five decimals": ("[platform]\ncommission_rate = 0.12345",
                                "platform.commission_rate: at most 4 decimals"),
    "year 1": (campaign().replace("opens = 2026", "opens = 0001"),
               "campaigns[0].opens: the year must be between 2000 and 2999, not 1"),
    "year 9999 pickup": (campaign("pickup = 9999-12-31T00:00:00"), "campaigns[0].pickup: the year must be"),
    # [settings]: each kind of value, with what a good one looks like.
    "duration without a unit": ("[settings]\ngroup_min_interval = 30",
                                'settings.group_min_interval: must be a duration like "30s"'),
    "duration nonsense": ('[settings]\ndigest_interval = "soon"', "settings.digest_interval: must be a duration"),
    "duration too long": ('[settings]\ngroup_min_interval = "2h"',
                          "settings.group_min_interval: must be between 0 and 1h, not '2h'"),
    "reminder of zero": ('[settings]\nreminder_before_deadline = "0"',
                         "settings.reminder_before_deadline: must be between 1m and 2d"),
    "count as text": ('[settings]\ngroup_max_per_hour = "20"', "settings.group_max_per_hour: must be a whole number"),
    "count of zero": ("[settings]\ngroup_max_per_hour = 0", "settings.group_max_per_hour: must be between 1 and 600"),
    "count as bool": ("[settings]\nmax_attempts = true",
                      "settings.max_attempts: must be a whole number"),
    "summary time out of the day": ('[settings]\nevening_summary_at = "25:00"',
                                    'settings.evening_summary_at: must be a time of day like "21:30"'),
    "summary time as a number": ("[settings]\nevening_summary_at = 2130", "settings.evening_summary_at: must be a time"),
    "unknown settings zone": ('[settings]\ntimezone = "Asia/Beijing"', "settings.timezone: unknown time zone"),
    "two different zones": ('timezone = "Asia/Shanghai"\n[settings]\ntimezone = "Europe/Berlin"',
                            "timezone: 'Asia/Shanghai' differs from settings.timezone 'Europe/Berlin'"),
    "settings not a table": ('settings = "fast"', "settings: must be a table"),
}


@pytest.mark.parametrize(("text", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_key_and_the_problem(text, message):
    with pytest.raises(SetupError) as info:
        load_setup_text(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_every_value_at_its_column_limit_loads(sessions):
    """The widths the loader checks are the columns' own: a value exactly at the limit fits on
    SQLite and PostgreSQL alike."""
    text = (f'[platform]\nname = "{"台" * 200}"\nadmins = ["{"a" * 128}"]\n'
            f'[[leaders]]\nid = "{"l" * 128}"\nname = "{"名" * 200}"\ngroups = ["{"群" * 200}"]\n'
            f'[[campaigns]]\nid = "{"c" * 100}"\ntitle = "{"团" * 200}"\nopens = 2026-11-24T09:00:00\n'
            f'deadline = 2026-11-24T22:00:00\npickup_place = "{"门" * 200}"\nlink = "{"k" * 500}"\n'
            f'groups = ["{"群" * 200}"]\n[[campaigns.products]]\nsku = "{"S" * 100}"\nname = "{"瓜" * 200}"\n'
            f'price = 9999999999.99\nunit = "{"斤" * 20}"\nstock = 99999999999.999\n')
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(text))
    with sessions() as session:
        product = session.scalar(select(ProductRow))
        assert (len(product.sku), product.price, product.stock) == (100, Decimal("9999999999.99"),
                                                                    Decimal("99999999999.999"))


def test_a_campaign_in_a_group_no_leader_runs_is_refused(sessions):
    text = SETUP.replace('groups = ["阳光小区3期团购群"]\n[[campaigns.products]]',
                         'groups = ["阳光小区3期团购群", "没人管的群"]\n[[campaigns.products]]')
    with pytest.raises(SetupError, match=r"campaigns\[0\]\.groups: no leader runs '没人管的群'"), \
            sessions.begin() as session:
        apply_setup(session, load_setup_text(text))
    with sessions() as session:
        assert _counts(session)["campaigns"] == 0  # nothing half-loaded


def test_a_campaign_may_name_a_group_a_leader_bound_before(sessions):
    """A campaigns-only file names groups that a leader bound with 绑定 (in the database)."""
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
        session.add(Group(chat_id="room@chatroom", name="新绑的群", leader_id="wxid_zhou", room_known=True))
    campaigns_only = "[[campaigns]]\n" + CAMPAIGN + 'groups = ["新绑的群"]\n'
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(campaigns_only))
    with sessions() as session:
        assert session.get(Campaign, "c") is not None


def test_a_group_moved_to_another_leader_is_told(sessions):
    with sessions.begin() as session:
        assert apply_setup(session, load_setup_text(SETUP)) == []
    moved = SETUP.replace('groups = ["翠苑二区邻里群"]', 'groups = ["翠苑二区邻里群", "阳光小区3期团购群"]').replace(
        'groups = ["阳光小区3期团购群"]\ncommission_rate = 0.12', "commission_rate = 0.12")
    with sessions.begin() as session:
        notes = apply_setup(session, load_setup_text(moved))
    assert notes == ["group '阳光小区3期团购群' moved from leader wxid_li to wxid_zhou"]


def test_settings_default_and_load(sessions):
    from storage.settings import stored_settings

    with sessions() as session:
        assert stored_settings(session)["group_min_interval"] == timedelta(seconds=30)  # no platform row yet
    tuned = SETUP.replace('timezone = "Asia/Shanghai"\n', "") + (
        '[settings]\ntimezone = "Europe/Berlin"\ngroup_min_interval = "45s"\ngroup_max_per_hour = 12\n'
        'digest_interval = "0"\nevening_summary_at = "8:05"\nreminder_before_deadline = "1h30m"\n'
        "max_attempts = 3\n")
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(tuned))
    with sessions() as session:
        assert stored_settings(session) == {
            "timezone": "Europe/Berlin", "group_min_interval": timedelta(seconds=45), "group_max_per_hour": 12,
            "digest_interval": timedelta(0), "evening_summary_at": "08:05",
            "reminder_before_deadline": timedelta(hours=1, minutes=30), "max_attempts": 3,
            "account_min_interval": timedelta(seconds=3), "account_burst": 3,
            "send_give_up_after": timedelta(minutes=10), "send_claim_timeout": timedelta(minutes=2)}
        assert session.get(Platform, 1).timezone == "Europe/Berlin"
    with sessions.begin() as session:  # a file without [settings] puts the defaults back
        apply_setup(session, load_setup_text(SETUP))
    with sessions() as session:
        assert stored_settings(session)["group_max_per_hour"] == 20
        assert stored_settings(session)["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)), ("2h", timedelta(hours=2)),
    ("1h30m", timedelta(hours=1, minutes=30)), ("1d", timedelta(days=1)), ("1D 2H", timedelta(days=1, hours=2)),
    ("0", timedelta(0)), (0, timedelta(0)), ("90s", timedelta(seconds=90)),
])
def test_durations(text, expected):
    from storage.settings import duration_text, parse_duration

    assert parse_duration(text) == expected
    assert parse_duration(duration_text(expected)) == expected


@pytest.mark.parametrize("text", ["", "h", "1x", "-1h", "1.5h", "1h 30", None, 30, True, [1]])
def test_bad_durations(text):
    from storage.settings import SettingError, parse_duration

    with pytest.raises(SettingError):
        parse_duration(text)
