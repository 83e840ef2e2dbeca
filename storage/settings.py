"""What an operator tunes in the set-up file's `[settings]` table: pacing, digests, the evening
summary, reminders, the time zone, send-failure alerts.

The table below is the one description of every setting: `storage.setup` validates the file
against it, the platform row keeps the values, `stored_settings` reads them back (defaults
filled in) for `bot.context.load_settings`, and `docs/setup.md` is checked against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from storage.models import Platform


class SettingKind(StrEnum):
    DURATION = "duration"  # "30s", "2h", "1h30m", "0" (off, where allowed)
    COUNT = "count"  # a whole number
    CLOCK = "clock"  # "21:30", local time of day
    TIMEZONE = "timezone"  # an IANA zone name


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: SettingKind
    default: str | int  # as written in the file
    help: str
    low: timedelta | int | None = None  # inclusive bounds (durations, counts)
    high: timedelta | int | None = None


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("timezone", SettingKind.TIMEZONE, "Asia/Shanghai",
                "the platform's time zone: deadlines without an offset, summaries, exports"),
    SettingSpec("group_min_interval", SettingKind.DURATION, "30s",
                "at most one bot message per group in this time (replies waiting are merged)",
                timedelta(0), timedelta(hours=1)),
    SettingSpec("group_max_per_hour", SettingKind.COUNT, 20,
                "at most this many bot messages per group in any hour", 1, 600),
    SettingSpec("digest_interval", SettingKind.DURATION, "2h",
                "at most one chain digest (接龙已有N单) per group in this time; 0 turns digests off",
                timedelta(0), timedelta(days=7)),
    SettingSpec("evening_summary_at", SettingKind.CLOCK, "21:30",
                "when leaders and admins get the day's summary (local time)"),
    SettingSpec("reminder_before_deadline", SettingKind.DURATION, "1h",
                "the deadline reminder goes out this long before the deadline",
                timedelta(minutes=1), timedelta(days=2)),
    SettingSpec("account_min_interval", SettingKind.DURATION, "3s",
                "per bot account, over all its groups and private chats: after a few messages at once "
                "(account_burst), at most one per this time, spread a little at random",
                timedelta(0), timedelta(minutes=10)),
    SettingSpec("account_burst", SettingKind.COUNT, 3,
                "how many messages one bot account may send at once before its pacing starts", 1, 100),
    SettingSpec("send_give_up_after", SettingKind.DURATION, "10m",
                "a message still failing to send this long after its first failure is given up, and the "
                "platform admins are told", timedelta(minutes=1), timedelta(days=2)),
    SettingSpec("send_claim_timeout", SettingKind.DURATION, "2m",
                "a message handed to the transport and never reported (the process died mid-send) is sent "
                "again after this long", timedelta(seconds=10), timedelta(hours=1)),
    SettingSpec("max_attempts", SettingKind.COUNT, 5,
                "a message the database keeps refusing (lost connection, lock, full disk) is marked failed "
                "after this many passes; `jielong retry` applies it after the fix", 1, 100),
)
SPECS = {spec.key: spec for spec in SETTINGS}

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SettingError(ValueError):
    """A setting value that cannot be used; the message says what a good one looks like."""


def parse_setting(spec: SettingSpec, value) -> timedelta | int | str:
    """A value as written in the file → the value the bot uses (timedelta, int or text)."""
    if spec.kind is SettingKind.DURATION:
        result = parse_duration(value)
    elif spec.kind is SettingKind.COUNT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(f"must be a whole number, not {value!r}")
        result = value
    elif spec.kind is SettingKind.CLOCK:
        if not isinstance(value, str) or not _CLOCK.match(value.strip()):
            raise SettingError(f'must be a time of day like "21:30", not {value!r}')
        hour, minute = value.strip().split(":")
        return f"{int(hour):02d}:{minute}"
    else:
        return parse_timezone(value)
    if spec.low is not None and result < spec.low or spec.high is not None and result > spec.high:
        raise SettingError(f"must be between {_shown(spec.low)} and {_shown(spec.high)}, not {value!r}")
    return result


def parse_duration(value) -> timedelta:
    """"30s", "2h", "1h30m", "1d", or 0 → a timedelta."""
    if value == 0 and not isinstance(value, bool):
        return timedelta(0)
    text = value.strip().lower().replace(" ", "") if isinstance(value, str) else None
    match = _DURATION.match(text) if text else None
    if text == "0":
        return timedelta(0)
    if not match:
        raise SettingError(f'must be a duration like "30s", "10m", "2h" or "1h30m", not {value!r}')
    days, hours, minutes, seconds = (int(x or 0) for x in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_timezone(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingError(f'must be a time zone name like "Asia/Shanghai", not {value!r}')
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"unknown time zone {value!r}") from None
    return value.strip()


def duration_text(value: timedelta) -> str:
    """A timedelta as the file writes it: 30s, 2h, 1h30m (0 for none)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _shown(bound) -> str:
    return duration_text(bound) if isinstance(bound, timedelta) else str(bound)


def defaults() -> dict[str, timedelta | int | str]:
    return {spec.key: parse_setting(spec, spec.default) for spec in SETTINGS}


def to_stored(values: dict[str, timedelta | int | str]) -> dict[str, int | str]:
    """Settings as the platform row keeps them (JSON): durations in seconds. The time zone
    has its own column."""
    return {key: int(value.total_seconds()) if isinstance(value, timedelta) else value
            for key, value in values.items() if key != "timezone"}


def stored_settings(session: Session) -> dict[str, timedelta | int | str]:
    """Every setting as the bot uses it: what the last set-up loaded, defaults for the rest."""
    row = session.get(Platform, 1)
    values = defaults()
    if row is None:
        return values
    values["timezone"] = row.timezone or values["timezone"]
    for key, value in (row.settings or {}).items():
        spec = SPECS.get(key)
        if spec is None:
            continue  # a setting this version no longer knows
        values[key] = timedelta(seconds=value) if spec.kind is SettingKind.DURATION else value
    return values
