"""What every handler, command and job receives: database sessions, a clock, settings.

Tests build one with a fixed clock and an in-memory database; nothing reads the wall clock
or the environment behind the app's back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from storage.settings import stored_settings


@dataclass
class Settings:
    """The defaults are those of `storage.settings` (a test keeps them equal); the set-up file's
    [settings] table overrides them, read by `load_settings`."""

    timezone: str = "Asia/Shanghai"
    group_min_interval: timedelta = timedelta(seconds=30)  # at most one message per 30 s
    group_max_per_hour: int = 20
    # Per bot account, over all its groups and private chats (processes serving one account
    # share it): a few at once, then one per interval, each interval longer by up to
    # `send_jitter` of itself at random, so a post to many groups never goes out as a burst.
    account_min_interval: timedelta = timedelta(seconds=3)
    account_burst: int = 3
    send_jitter: float = 0.5
    send_give_up_after: timedelta = timedelta(minutes=10)  # still failing: given up, admins told
    send_claim_timeout: timedelta = timedelta(minutes=2)  # a send never reported is tried again
    digest_interval: timedelta = timedelta(hours=2)  # at most one chain digest per group
    evening_summary_at: str = "21:30"
    reminder_before_deadline: timedelta = timedelta(hours=1)
    bot_id: str = "jielong-bot"  # the bot's own user id: its messages are dropped
    # A message whose transaction hits a transient database error (lost connection, lock past
    # the busy timeout, full disk) is tried again after each of these pauses, then set aside
    # (pending) for the next pass; after `max_attempts` such passes it is marked failed.
    retry_delays: tuple[float, ...] = (0.05, 0.25, 1.0, 3.0)
    max_attempts: int = 5


def load_settings(session: Session, **overrides) -> Settings:
    """The settings every command runs with (the live bot, the console, replay, the
    scheduler's jobs): the loaded set-up's, then what the command line overrides."""
    return Settings(**(stored_settings(session) | overrides))


@dataclass
class AppContext:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]  # returns an aware datetime
    settings: Settings = field(default_factory=Settings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)


class SettableClock:
    """A clock that shows whatever time it was last set to: replays, rebuilds, tests, the demo."""

    def __init__(self, now: datetime):
        self._now = now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def __call__(self) -> datetime:
        return self._now
