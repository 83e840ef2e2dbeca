"""`jielong run`: the live bot — the wechaty transport plus the scheduler."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from bot.app import App
from bot.cli import main
from bot.cli.common import DB_OPTION, load_setup_file, open_setup_db
from bot.context import AppContext, Settings, load_settings

log = logging.getLogger("jielong.run")


@main.command("run")
@click.option("--setup", "setup_file", type=click.Path(dir_okay=False), help="Load this set-up file first.")
@DB_OPTION
@click.option("--bot-id", default=None, help="The bot's own WeChat id (its messages are ignored).")
def run_command(setup_file: str | None, db_url: str | None, bot_id: str | None) -> None:
    """Run the bot in WeChat: WECHATY_PUPPET_SERVICE_TOKEN and _ENDPOINT name the gateway."""
    from bot.transports.wechaty import TransportError, WechatyTransport, check_gateway

    endpoint = os.environ.get("WECHATY_PUPPET_SERVICE_ENDPOINT")
    token = os.environ.get("WECHATY_PUPPET_SERVICE_TOKEN")
    try:
        check_gateway(endpoint, token)
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None
    if setup_file:
        load_setup_file(setup_file, db_url)
    sessions = open_setup_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    if bot_id:
        settings.bot_id = bot_id
    tz = ZoneInfo(settings.timezone)
    app = App(AppContext(sessions, lambda: datetime.now(tz), settings))
    transport = WechatyTransport(app, endpoint=endpoint, token=token, cache_dir=os.environ.get("CACHE_DIR"))
    try:
        asyncio.run(_serve(transport, db_url, settings, tz))
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(transport, db_url: str | None, settings: Settings, tz) -> None:
    from bot import scheduler as jobs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = jobs.start(db_url, settings, datetime.now(tz))
    log.info("scheduler started with %d jobs", len(running.get_jobs()))
    try:
        await transport.run(stop)
    finally:
        jobs.stop(running)
        log.info("stopped cleanly")
