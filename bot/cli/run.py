"""`jielong replay`, `jielong rebuild`, `jielong console`, `jielong demo`."""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path

import click

from bot import texts
from bot.app import App, rebuild
from bot.cli import main
from bot.cli.common import DB_OPTION, load_setup_file, open_setup_db
from bot.cli.progress import progress_bar
from bot.context import AppContext, SettableClock, load_settings
from bot.events import MessageNotRecorded, OutgoingText, SendResult
from bot.transports.names import NameBook
from bot.transports.replay import ReplayResult, replay_lines
from storage.db import display_url
from storage.inbox import RebuildRunning
from storage.log import message_count


def make_app(db_url: str | None, clock=None) -> tuple[App, SettableClock | None]:
    """The app on a database that holds a set-up, with its settings (one-line errors otherwise)."""
    sessions = open_setup_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    settable = clock or SettableClock(datetime.now().astimezone())
    return App(AppContext(sessions, settable, settings)), settable


def format_out(out: OutgoingText, as_json: bool, names: NameBook | None = None) -> str:
    if as_json:
        return json.dumps({"to": out.to, "text": out.text, "mentions": list(out.mentions)}, ensure_ascii=False)
    if names is not None:
        return f"[{names.where(out)}] {out.text}"
    return f"[{out.to}] {out.text}" if out.is_group else f"[{texts.TRANSCRIPT_PRIVATE.format(name=out.to)}] {out.text}"


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _ticking(lines, tick):
    """The lines of a file, telling `tick` how far the replay has come."""
    for number, line in enumerate(lines, start=1):
        if tick and number % 100 == 0:
            tick(number)
        yield line


@main.command("replay")
@click.argument("chat_file", type=click.Path(exists=True, dir_okay=False))
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message the bot sends.")
def replay_command(chat_file: str, db_url: str | None, as_json: bool) -> None:
    """Feed a recorded conversation (JSONL) through the bot; print what it would send."""
    app, clock = make_app(db_url)
    names = NameBook(app.ctx.sessions)
    result = ReplayResult()

    def report(number: int, problem: str) -> None:
        click.echo(f"{chat_file}:{number}: skipped: {problem}", err=True)

    with (progress_bar("replay", _count_lines(chat_file), prints_to_stdout=True) as tick,
          open(chat_file, encoding="utf-8-sig", errors="replace") as lines):
        try:
            for out in replay_lines(app, clock, _ticking(lines, tick), result, report):
                click.echo(format_out(out, as_json, names))
        except MessageNotRecorded as exc:
            raise click.ClickException(f"{exc}; run the replay again to go on from there") from None
    for out in app.flush():
        click.echo(format_out(out, as_json, names))
        app.report(out, SendResult.sent())
    click.echo(f"{result.fed} messages, {result.skipped} skipped", err=True)


@main.command("rebuild")
@DB_OPTION
def rebuild_command(db_url: str | None) -> None:
    """Re-derive every order from the message log with the current parser. Safe while the bot
    runs: messages arriving meanwhile are recorded and applied by the rebuild, in order."""
    app, _clock = make_app(db_url)
    with app.ctx.sessions() as session:
        total = message_count(session)
    with progress_bar("rebuild", total) as tick:
        try:
            count = rebuild(app.ctx, on_progress=tick or (lambda n: click.echo(f"{n} messages…", err=True)))
        except RebuildRunning as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"rebuilt from {count} messages", err=True)


@main.command("console")
@click.option("--db", "db_url", help="Work on this database (what you type is stored in it); default: a throw-away one.")
@click.option("--setup", "setup_file", type=click.Path(dir_okay=False),
              help="Try this set-up in a throw-away database (default: the example set-up).")
@click.option("--at", "start", help="Start the clock here, e.g. 2026-11-25T09:00 (default: now if a campaign is "
                                    "running, else when the next or last campaign opens).")
@click.option("--group", "group", default=None, help="Group to start in (default: the first bound group).")
@click.option("--as", "user", default="wxid_member", help="User id to start as.")
@click.option("--images", "image_dir", default="console-out", show_default=True, type=click.Path(file_okay=False),
              help="Where pictures the bot sends (the evening summary's) are saved.")
def console_command(db_url: str | None, setup_file: str | None, start: str | None, group: str | None,
                    user: str, image_dir: str) -> None:
    """A sandbox: talk to the bot as any member or leader on a simulated clock.

    Without --db it runs on a throw-away database with the example set-up (or --setup FILE);
    with --db what you type is stored in that database. Inside: /as ID [NAME], /who,
    /group NAME, /private, /time +2h | 21:30 | 2026-11-26T16:00, /paste … ., /quit."""
    from bot.transports.console import parse_when, run_console, sandbox_start

    with _sandbox_database(db_url, setup_file) as url:
        clock = SettableClock(datetime.now().astimezone())
        app, _ = make_app(url, clock)
        try:
            now = parse_when(start, clock(), app.ctx.tz) if start else sandbox_start(app, clock())
        except ValueError:
            raise click.ClickException(f"--at: {start!r} is not a time like 2026-11-25T09:00") from None
        clock.set(now)
        run_console(app, sys.stdin, sys.stdout, group=group, user=user, clock=clock, image_dir=Path(image_dir))


@contextmanager
def _sandbox_database(db_url: str | None, setup_file: str | None):
    """The database the console works on: --db as given (loaded with --setup first, if both),
    else a temporary one holding --setup or the example set-up."""
    if db_url is not None:
        if setup_file:
            load_setup_file(setup_file, db_url)
        click.echo(f"console on {display_url(db_url)}: what you type is stored there", err=True)
        yield db_url
        return
    with tempfile.TemporaryDirectory(prefix="jielong-console-") as folder:
        url = f"sqlite:///{Path(folder) / 'sandbox.db'}"
        if setup_file:
            load_setup_file(setup_file, url)
        else:
            with resources.as_file(resources.files("bot.demo").joinpath("setup.toml")) as example:
                load_setup_file(str(example), url)
        yield url


@main.command("demo")
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file in a temp dir).")
@click.option("--out", "out_dir", default="demo-out", type=click.Path(file_okay=False), help="Where the CSVs go.")
def demo_command(db_url: str | None, out_dir: str) -> None:
    """A scripted day in one group, offline: orders, commands, deadline, pickup, summaries."""
    from bot.demo import run_demo

    run_demo(db_url, Path(out_dir), click.echo)
