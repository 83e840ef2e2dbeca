"""The set-up revision: bumped by every set-up change, by any writer, and by nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from storage.corrections import close_campaign
from storage.models import Campaign, Group, ProductRow
from storage.revision import bump_setup_revision, setup_revision
from storage.setup import apply_setup, load_setup_text
from tests.storage.helpers import SETUP, Feed, at, line, load

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture
def loaded(sessions):
    load(sessions)
    return sessions


def revision(sessions) -> int:
    with sessions() as session:
        return setup_revision(session)


def test_a_fresh_database_starts_at_zero(sessions):
    assert revision(sessions) == 0


@pytest.mark.parametrize("change", [
    pytest.param(lambda s: apply_setup(s, load_setup_text(SETUP.replace("price = 15", "price = 16"))),
                 id="load with a new price"),
    pytest.param(lambda s: close_campaign(s, "fruit-1124", [s.query(Group).first().id], NOW), id="截单"),
    pytest.param(lambda s: setattr(s.query(ProductRow).first(), "price", 99), id="a price"),
    pytest.param(lambda s: setattr(s.get(Campaign, "fruit-1124"), "deadline", NOW), id="a deadline"),
    pytest.param(lambda s: (s.execute(update(Group).values(leader_id=None)), bump_setup_revision(s)), id="Core"),
])
def test_every_set_up_change_bumps_it(loaded, change):
    before = revision(loaded)
    with loaded.begin() as session:
        change(session)
    assert revision(loaded) > before


def test_loading_the_same_set_up_again_is_no_change(loaded):
    before = revision(loaded)
    with loaded.begin() as session:
        apply_setup(session, load_setup_text(SETUP))
        product = session.query(ProductRow).first()
        product.price = product.price
    assert revision(loaded) == before


def test_orders_do_not_bump_it(loaded):
    before = revision(loaded)
    feed = Feed(loaded)
    copy = [line(1, "王姐", ("XG01", 2))]
    feed.chain("wxid_wang", copy, at(10))
    feed.chain("wxid_si", [*copy, line(2, "李四", ("JZ01", 1))], at(10, 5))
    assert revision(loaded) == before


def test_it_is_read_once_per_transaction(loaded):
    with loaded.begin() as session:
        first = setup_revision(session)
        with loaded.begin() as other:
            bump_setup_revision(other)
        assert setup_revision(session) == first  # this transaction keeps what it read
    assert revision(loaded) == first + 1
