"""What every command shares: the --db option, opening the database, loading a set-up file,
and the rule that every mistake ends in one line and a non-zero exit.

Two ways to open a database: `open_sessions` (load, db upgrade, demo: they may create one)
and `open_setup_db` (everything that reads what a set-up put there: it never creates an
empty database and refuses one without a set-up).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from storage.db import DatabaseNotReady, display_url, open_db, open_existing
from storage.setup import SetupError, apply_setup, load_setup_text

log = logging.getLogger("jielong.cli")

DB_OPTION = click.option("--db", "db_url", help="Database URL (default $JIELONG_DB or sqlite:///jielong.db).")
POSTGRES_EXTRA = "PostgreSQL needs the postgres extra: pip install 'jielong[postgres]' (or scripts/setup.sh postgres)"


def db_error(db_url: str | None, exc: BaseException) -> click.ClickException:
    """An unreachable or unusable database as one line (the driver's first line)."""
    if _missing_postgres_driver(exc):
        return click.ClickException(POSTGRES_EXTRA)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return click.ClickException(f"database {display_url(db_url)}: {detail[0] if detail else type(exc).__name__}")


def open_sessions(db_url: str | None):
    """Open (and create, for SQLite) a database, migrated to the newest schema."""
    try:
        return open_db(db_url)
    except (SQLAlchemyError, OSError, ImportError) as exc:
        raise db_error(db_url, exc) from None


def open_setup_db(db_url: str | None):
    """Open a database that exists and holds a set-up; anything else is one clear line."""
    url = display_url(db_url)
    try:
        return open_existing(db_url)
    except DatabaseNotReady as exc:
        raise click.ClickException(
            f"database {url} {exc}; load a set-up into it with: jielong load SETUP.toml --db {url}") from None
    except (SQLAlchemyError, OSError, ImportError) as exc:
        raise db_error(db_url, exc) from None


def load_setup_file(path: str, db_url: str | None) -> list[str]:
    """Read, validate and apply a set-up file; errors are one clear line. Returns the notes
    worth telling the operator (each also printed to stderr)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = load_setup_text(text)
    except SetupError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    sessions = open_sessions(db_url)
    try:
        with sessions.begin() as session:
            notes = apply_setup(session, data)
    except SetupError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    except SQLAlchemyError as exc:
        raise db_error(db_url, exc) from None
    finally:
        sessions.kw["bind"].dispose()
    for note in notes:
        click.echo(f"note: {note}", err=True)
    return notes


class OneLineErrors(click.Group):
    """The top-level group: whatever escapes a command (a database gone mid-run, a full disk,
    a bug) is one line on stderr and exit 1, never a traceback; -v shows the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except BrokenPipeError:
            # The reader went away (`jielong export orders | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except Exception as exc:  # noqa: BLE001 - the one place every unexpected error is turned into a line
            log.debug("unexpected error", exc_info=True)
            raise one_line(exc) from None


def one_line(exc: Exception) -> click.ClickException:
    if _missing_postgres_driver(exc):
        return click.ClickException(POSTGRES_EXTRA)
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return click.ClickException(f"database error: {detail[0] if detail else type(exc).__name__}")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return click.ClickException(f"{where}{exc.strerror or exc}")
    first = str(exc).strip().splitlines()
    hint = "" if logging.getLogger().isEnabledFor(logging.DEBUG) else " (run with -v for the traceback)"
    return click.ClickException(f"unexpected {type(exc).__name__}: {first[0] if first else ''}{hint}")


def _missing_postgres_driver(exc: BaseException) -> bool:
    return isinstance(exc, ImportError) and (exc.name or "").split(".")[0] in ("psycopg", "psycopg2")
