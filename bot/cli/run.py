"""`jielong replay`, `jielong rebuild`, `jielong console`, `jielong demo`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from bot.app import App, rebuild
from bot.cli import main
from bot.cli.data import DB_OPTION
from bot.context import AppContext, SettableClock, load_settings
from bot.events import OutgoingText, SendResult
from bot.transports.replay import ReplayResult, replay_lines
from storage.db import open_db


def make_app(db_url: str | None, clock=None) -> tuple[App, SettableClock | None]:
    sessions = open_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    settable = clock or SettableClock(datetime.now().astimezone())
    return App(AppContext(sessions, settable, settings)), settable


def format_out(out: OutgoingText, as_json: bool) -> str:
    if as_json:
        return json.dumps({"to": out.to, "text": out.text, "mentions": list(out.mentions)}, ensure_ascii=False)
    where = f"[{out.to}]" if out.is_group else f"[私聊 {out.to}]"
    return f"{where} {out.text}"


@main.command("replay")
@click.argument("chat_file", type=click.Path(exists=True, dir_okay=False))
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message the bot sends.")
def replay_command(chat_file: str, db_url: str | None, as_json: bool) -> None:
    """Feed a recorded conversation (JSONL) through the bot; print what it would send."""
    app, clock = make_app(db_url)
    result = ReplayResult()

    def report(number: int, problem: str) -> None:
        click.echo(f"{chat_file}:{number}: skipped: {problem}", err=True)

    with open(chat_file, encoding="utf-8-sig", errors="replace") as lines:
        for out in replay_lines(app, clock, lines, result, report):
            click.echo(format_out(out, as_json))
    for out in app.flush():
        click.echo(format_out(out, as_json))
        app.report(out, SendResult.sent())
    click.echo(f"{result.fed} messages, {result.skipped} skipped", err=True)


@main.command("rebuild")
@DB_OPTION
def rebuild_command(db_url: str | None) -> None:
    """Re-derive every order from the message log with the current parser."""
    app, _clock = make_app(db_url)
    count = rebuild(app.ctx, on_progress=lambda n: click.echo(f"{n} messages…", err=True))
    click.echo(f"rebuilt from {count} messages", err=True)


@main.command("console")
@DB_OPTION
@click.option("--group", "group", default=None, help="Group to start in (default: the first bound group).")
@click.option("--as", "user", default="wxid_member", help="User id to start as.")
def console_command(db_url: str | None, group: str | None, user: str) -> None:
    """Talk to the bot as any member or leader. /as ID [NAME], /group NAME, /private, /quit.
    A message ends at a blank line, so multi-line chains can be pasted."""
    from bot.transports.console import run_console

    app, _clock = make_app(db_url, clock=lambda: datetime.now().astimezone())
    run_console(app, sys.stdin, sys.stdout, group=group, user=user)


@main.command("demo")
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file in a temp dir).")
@click.option("--out", "out_dir", default="demo-out", type=click.Path(file_okay=False), help="Where the CSVs go.")
def demo_command(db_url: str | None, out_dir: str) -> None:
    """A scripted day in one group, offline: orders, commands, deadline, pickup, summaries."""
    from bot.demo import run_demo

    run_demo(db_url, Path(out_dir), click.echo)
