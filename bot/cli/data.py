"""`jielong load`, `jielong export`, `jielong db upgrade`: set-up, exports, migrations."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import SQLAlchemyError

from bot import texts
from bot.cli import main
from bot.cli.common import DB_OPTION, db_error, load_setup_file, open_sessions, open_setup_db
from bot.cli.progress import progress_bar
from bot.context import load_settings
from storage.db import display_url, sqlite_file, upgrade
from storage.exports import (
    FORMATS,
    KINDS,
    ExportFilter,
    FilterError,
    all_columns,
    check_filter,
    export,
)
from storage.exports.files import OutputError, check_output, replacing

__all__ = ["DB_OPTION", "load_setup_file", "open_sessions", "open_setup_db"]  # shared with other commands

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)  # filters beyond these are typos


@main.command("load")
@click.argument("setup_file", type=click.Path(dir_okay=False))
@DB_OPTION
def load_command(setup_file: str, db_url: str | None) -> None:
    """Load (or update) the platform, leaders, groups, campaigns and settings from a TOML
    set-up file (reference: docs/setup.md). Creates the database if needed."""
    load_setup_file(setup_file, db_url)
    click.echo(f"loaded {setup_file} into {display_url(db_url)}", err=True)


def _day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.ClickException(f"{what}: {value!r} is not a date like 2026-11-01") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise click.ClickException(f"{what}: {value} is outside {FIRST_DAY}…{LAST_DAY} "
                                   "(leave the option out for no limit)")
    return day


def _midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=tz)


def header_names() -> set[str]:
    """Every header cell an export may have written, in English and in Chinese."""
    return all_columns() | set(texts.EXPORT_HEADERS.values())


@main.command("export")
@click.argument("kind", type=click.Choice(KINDS))
@DB_OPTION
@click.option("--campaign", help="Only this campaign id (orders, pickup, procurement).")
@click.option("--leader", help="Only this leader id.")
@click.option("--from", "start", help="From this day (inclusive), YYYY-MM-DD.")
@click.option("--to", "end", help="To this day (inclusive), YYYY-MM-DD.")
@click.option("--out", "out_path", default="-", show_default=True,
              help="Write here: a new file or a previous export (replaced only once the export is complete); "
                   "- is stdout.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="csv (UTF-8 with a BOM) or xlsx (typed cells); default: xlsx when --out ends in .xlsx, else csv.")
@click.option("--headers", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="The header row: English column names (stable, for scripts) or Chinese.")
def export_command(kind, db_url, campaign, leader, start, end, out_path, fmt, headers) -> None:
    """Export orders, pickup lists, procurement totals or leader statements (docs/exports.md).

    Statements have one row per leader, calendar month and commission rate (cut at
    --from/--to; --campaign keeps that campaign's orders), each adding up on its own (gross +
    adjustments = net, net × rate = commission = payable), then a totals row; without dates
    they cover every month from the first order to the last."""
    first, last = _day(start, "--from"), _day(end, "--to")
    last = last + timedelta(days=1) if last else None  # --to names the last day included
    fmt = fmt or ("xlsx" if out_path.lower().endswith(".xlsx") else "csv")
    to_stdout = out_path == "-"
    if fmt == "xlsx" and to_stdout and sys.stdout.isatty():
        raise click.ClickException("xlsx is a binary file: give --out FILE.xlsx (or redirect stdout)")
    target = None if to_stdout else Path(out_path)
    if target is not None:
        try:
            check_output(target, header_names(), sqlite_file(db_url))
        except OutputError as exc:
            raise click.ClickException(str(exc)) from None
    sessions = open_setup_db(db_url)
    labels = texts.EXPORT_HEADERS if headers == "zh" else None
    with sessions() as session:
        tz = ZoneInfo(load_settings(session).timezone)
        flt = ExportFilter(campaign, leader, _midnight(first, tz), _midnight(last, tz))
        try:
            check_filter(session, flt)
        except FilterError as exc:
            raise click.ClickException(str(exc)) from None
        with progress_bar(f"export {kind}", prints_to_stdout=to_stdout) as progress:
            try:
                if target is None:
                    count = _to_stdout(session, kind, flt, tz, fmt, labels, progress)
                else:
                    with replacing(target, binary=fmt == "xlsx") as out:
                        count = export(session, kind, out, flt, tz, fmt=fmt, labels=labels, progress=progress)
            except OSError as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                raise click.ClickException(f"cannot write {out_path}: {exc.strerror or exc}") from None
    click.echo(f"{count} rows", err=True)


def _to_stdout(session, kind, flt, tz, fmt, labels, progress) -> int:
    if fmt == "xlsx":
        count = export(session, kind, sys.stdout.buffer, flt, tz, fmt=fmt, labels=labels, progress=progress)
        sys.stdout.buffer.flush()
        return count
    sys.stdout.reconfigure(newline="")
    count = export(session, kind, sys.stdout, flt, tz, labels=labels, progress=progress)
    sys.stdout.flush()
    return count


@main.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@DB_OPTION
def db_upgrade(db_url: str | None) -> None:
    """Apply schema migrations (creates the database if needed)."""
    try:
        upgrade(db_url)
    except (SQLAlchemyError, OSError, ImportError) as exc:
        raise db_error(db_url, exc) from None
    click.echo(f"{display_url(db_url)} is up to date", err=True)
