"""`jielong load`, `jielong export`, `jielong db upgrade`: set-up, CSV exports, migrations."""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import SQLAlchemyError

from bot import texts
from bot.cli import main
from storage.db import database_url, open_db, upgrade
from storage.exports import KINDS, ExportFilter, export
from storage.lookup import platform
from storage.setup import SetupError, apply_setup, load_setup_text

DB_OPTION = click.option("--db", "db_url", help="Database URL (default $JIELONG_DB or sqlite:///jielong.db).")


def _db_error(db_url: str | None, exc: Exception) -> click.ClickException:
    """An unreachable or unusable database as one line (the driver's first line)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return click.ClickException(f"database {database_url(db_url)}: {detail}")


def open_sessions(db_url: str | None):
    try:
        return open_db(db_url)
    except (SQLAlchemyError, OSError) as exc:
        raise _db_error(db_url, exc) from None


def load_setup_file(path: str, db_url: str | None) -> None:
    """Read, validate and apply a set-up file; errors are one clear line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    try:
        data = load_setup_text(text)
    except SetupError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    sessions = open_sessions(db_url)
    try:
        with sessions.begin() as session:
            apply_setup(session, data)
    except SQLAlchemyError as exc:
        raise _db_error(db_url, exc) from None


@main.command("load")
@click.argument("setup_file", type=click.Path(dir_okay=False))
@DB_OPTION
def load_command(setup_file: str, db_url: str | None) -> None:
    """Load (or update) the platform, leaders, groups and campaigns from a TOML set-up file."""
    load_setup_file(setup_file, db_url)
    click.echo(f"loaded {setup_file} into {database_url(db_url)}", err=True)


def _day(value: str | None, tz: ZoneInfo, what: str, *, through: bool = False) -> datetime | None:
    """The first instant of a day in the platform's zone; with `through`, of the day after
    (a --to day is included, as people mean it)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-01", param_hint=what) from None
    if through:
        try:
            day += timedelta(days=1)
        except OverflowError:
            raise click.BadParameter(f"{value!r} is the last day there is", param_hint=what) from None
    return datetime.combine(day, time(0), tzinfo=tz)


@main.command("export")
@click.argument("kind", type=click.Choice(KINDS))
@DB_OPTION
@click.option("--campaign", help="Only this campaign id.")
@click.option("--leader", help="Only this leader id.")
@click.option("--from", "start", help="From this day (inclusive), YYYY-MM-DD.")
@click.option("--to", "end", help="To this day (inclusive), YYYY-MM-DD.")
@click.option("--zh", "chinese", is_flag=True, help="Chinese column headers (中文表头).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def export_command(kind, db_url, campaign, leader, start, end, chinese, out_path) -> None:
    """Export orders, pickup lists, procurement totals or leader statements as CSV.

    Statements have one row per leader, calendar month and commission rate (cut at
    --from/--to), each adding up on its own (gross + adjustments = net, net × rate =
    commission), then a totals row; without dates they cover every month from the first
    order to the last."""
    sessions = open_sessions(db_url)
    headers = texts.EXPORT_HEADERS_ZH if chinese else None
    with sessions() as session:
        tz = ZoneInfo(platform(session).timezone)
        flt = ExportFilter(campaign, leader, _day(start, tz, "--from"), _day(end, tz, "--to", through=True))
        if out_path:
            with open(out_path, "w", encoding="utf-8", newline="") as out:
                count = export(session, kind, out, flt, tz, headers)
        else:
            sys.stdout.reconfigure(newline="")
            count = export(session, kind, sys.stdout, flt, tz, headers)
    click.echo(f"{count} rows", err=True)


@main.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@DB_OPTION
def db_upgrade(db_url: str | None) -> None:
    """Apply schema migrations."""
    try:
        upgrade(db_url)
    except (SQLAlchemyError, OSError) as exc:
        raise _db_error(db_url, exc) from None
    click.echo(f"{database_url(db_url)} is up to date", err=True)
