"""The set-up file: validation errors name the key; loading is an idempotent upsert."""

from __future__ import annotations

from datetime import datetime
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


ERRORS = {
    "not TOML": ("x = = 1", "not valid TOML"),
    "unknown time zone": ('timezone = "Mars/Base"', "timezone: unknown time zone"),
    "leader without id": ('[[leaders]]\nname = "李姐"', "leaders[0].id: missing"),
    "leader id not a string": ('[[leaders]]\nid = 3\nname = "李姐"', "leaders[0].id: must be a string"),
    "duplicate leader": ('[[leaders]]\nid = "a"\nname = "x"\n[[leaders]]\nid = "a"\nname = "y"',
                         "leaders: duplicate id 'a'"),
    "commission above 1": ("[platform]\ncommission_rate = 12", "platform.commission_rate: a rate between 0 and 1"),
    "negative price": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n'
                       'deadline = 2026-11-24T22:00:00\n[[campaigns.products]]\nsku = "A"\nname = "a"\nprice = -1',
                       "campaigns[0].products[0].price: must be a number ≥ 0"),
    "price missing": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n'
                      'deadline = 2026-11-24T22:00:00\n[[campaigns.products]]\nsku = "A"\nname = "a"',
                      "campaigns[0].products[0].price: missing"),
    "deadline before opens": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n'
                              'deadline = 2026-11-23T22:00:00', "campaigns[0].deadline: must be after opens"),
    "deadline not a time": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\ndeadline = "soon"',
                            "campaigns[0].deadline: not a date-time"),
    "duplicate sku": ('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n'
                      'deadline = 2026-11-24T22:00:00\n[[campaigns.products]]\nsku = "A"\nname = "a"\nprice = 1\n'
                      '[[campaigns.products]]\nsku = "A"\nname = "b"\nprice = 2',
                      "campaigns[0].products: duplicate sku 'A'"),
    "groups not a list": ('[[leaders]]\nid = "a"\nname = "x"\ngroups = "g"', "leaders[0].groups: must be a list"),
    "leaders not tables": ('leaders = ["a"]', "leaders: must be an array of tables"),
}


@pytest.mark.parametrize(("text", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_key_and_the_problem(text, message):
    with pytest.raises(SetupError) as info:
        load_setup_text(text)
    assert message in str(info.value)
