"""Bot tests run on SQLite only: the storage suite covers PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bot.db'}"
