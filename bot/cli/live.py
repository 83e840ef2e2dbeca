"""`jielong run`: the live bot — a transport (wechaty or an HTTP gateway) plus the scheduler.

Every mistake at start-up is one line and a non-zero exit, checked before anything starts:
a missing extra, a missing or short secret, a bad --listen or --send-url, a taken port, a
gateway that cannot be reached or refuses the token, a database that cannot be opened. A send
URL that does not answer yet is only a warning (replies wait in the outbox).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from bot import logs
from bot.app import App
from bot.cli import main
from bot.cli.common import DB_OPTION, load_setup_file, open_setup_db
from bot.context import AppContext, Settings, load_settings
from bot.transports import TransportError
from bot.transports.vendors import VENDOR_NAMES

log = logging.getLogger("jielong.run")
TRANSPORTS = ("wechaty", "http")


@main.command("run")
@click.option("--transport", type=click.Choice(TRANSPORTS), default="wechaty", show_default=True,
              envvar="JIELONG_TRANSPORT", show_envvar=True,
              help="wechaty: a puppet-service gateway (WECHATY_PUPPET_SERVICE_TOKEN/_ENDPOINT); "
                   "http: a vendor's HTTP gateway (JIELONG_HTTP_TOKEN, --listen, --send-url).")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
              envvar="JIELONG_LISTEN", show_envvar=True, help="http: where the gateway's callbacks arrive.")
@click.option("--send-url", metavar="URL", envvar="JIELONG_SEND_URL", show_envvar=True,
              help="http: where the bot's messages are POSTed (with --vendor gewe: the vendor's API base URL).")
@click.option("--vendor", type=click.Choice(VENDOR_NAMES), default="neutral", show_default=True,
              envvar="JIELONG_VENDOR", show_envvar=True,
              help="http: the gateway's message format (see docs/http-gateway.md).")
@click.option("--setup", "setup_file", type=click.Path(dir_okay=False), help="Load this set-up file first.")
@DB_OPTION
@click.option("--bot-id", default=None, help="The bot's own WeChat id (its messages are ignored).")
def run_command(transport: str, listen: str, send_url: str | None, vendor: str, setup_file: str | None,
                db_url: str | None, bot_id: str | None) -> None:
    """Run the bot in WeChat until SIGINT/SIGTERM (docs/guide.md tells how to go live)."""
    # Settings first (no database touched yet), then the database, then serve.
    runner = _http_runner(listen, send_url or "", vendor) if transport == "http" else _wechaty_runner()
    app, settings, tz = _make_app(setup_file, db_url, bot_id)
    try:
        asyncio.run(_serve(runner(app), db_url, settings, tz))
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None


def _make_app(setup_file: str | None, db_url: str | None, bot_id: str | None):
    if setup_file:
        load_setup_file(setup_file, db_url)
    sessions = open_setup_db(db_url)
    with sessions() as session:
        settings = load_settings(session)
    if bot_id:
        settings.bot_id = bot_id
    tz = ZoneInfo(settings.timezone)
    return App(AppContext(sessions, lambda: datetime.now(tz), settings)), settings, tz


def _wechaty_runner():
    """Check the gateway settings now; return what serves the app once it exists."""
    from bot.transports.wechaty import WechatyTransport, check_gateway, import_wechaty

    endpoint = os.environ.get("WECHATY_PUPPET_SERVICE_ENDPOINT")
    token = os.environ.get("WECHATY_PUPPET_SERVICE_TOKEN")
    logs.hide(token)
    try:
        check_gateway(endpoint, token)
        import_wechaty()
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None

    def serve(app: App):
        transport = WechatyTransport(
            app, endpoint=endpoint, token=token, cache_dir=os.environ.get("CACHE_DIR"),
            on_scan=lambda text: click.echo(text, err=True),
            on_ready=lambda account, name: click.echo(f"ready: logged in as {account} ({name})", err=True))

        return transport.run

    return serve


def _http_runner(listen: str, send_url: str, vendor_name: str):
    from bot.transports import http
    from bot.transports.vendors import VendorConfigError, make_vendor

    token = os.environ.get(http.TOKEN_ENV)
    logs.hide(token)
    try:
        http.import_stack()
        http.check_token(token)
        host, port = http.parse_listen(listen)
        if not send_url:
            raise TransportError("--send-url is required with --transport http")
        http.check_send_url(send_url)
        vendor = make_vendor(vendor_name, send_url, os.environ)
        sock = http.bind(host, port)
    except (TransportError, VendorConfigError) as exc:
        raise click.ClickException(str(exc)) from None

    def serve(app: App):
        gateway = http.HttpGateway(app, token=token, vendor=vendor)

        async def run(stop: asyncio.Event) -> None:
            click.echo(f"ready: listening on http://{listen} ({vendor.name}), sending to {send_url}", err=True)
            level = "debug" if logging.getLogger().level <= logging.DEBUG else "warning"
            await gateway.run(sock, stop, log_level=level)

        return run

    return serve


async def _serve(run, db_url: str | None, settings: Settings, tz) -> None:
    from bot import scheduler as jobs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = jobs.start(db_url, settings, datetime.now(tz))
    log.info("scheduler started with %d jobs", len(running.get_jobs()))
    try:
        await run(stop)
    finally:
        jobs.stop(running)
        log.info("stopped cleanly")
