"""`jielong web`: the read-only dashboard, served by uvicorn.

On 127.0.0.1 (the default) it asks no login; on any other address it refuses to start
without JIELONG_WEB_TOKEN, and then every page asks for that token first.
"""

from __future__ import annotations

import logging
import os
import socket

import click

from bot.cli import main
from bot.cli.common import DB_OPTION, open_setup_db

TOKEN_ENV = "JIELONG_WEB_TOKEN"
log = logging.getLogger("jielong.web")


@main.command("web")
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help=f"Address to listen on. Anything but loopback needs ${TOKEN_ENV}.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
def web_command(db_url: str | None, host: str, port: int) -> None:
    """Serve the dashboard: orders and GMV, procurement, statements, review queues, charts."""
    try:
        import uvicorn

        from bot.web import create_app
        from bot.web.auth import is_loopback, token_problem
    except ImportError as exc:
        raise click.ClickException(f"the dashboard needs the web extra ({exc.name} is missing): "
                                   "pip install 'jielong[web]'") from None
    token = os.environ.get(TOKEN_ENV) or None
    problem = token_problem(token)
    if problem:
        raise click.ClickException(problem)
    if token is None and not is_loopback(host):
        raise click.ClickException(f"serving {host} would show every order to anyone who can reach it: "
                                   f"set {TOKEN_ENV} (at least 16 characters), or serve 127.0.0.1")
    listener = _listen(host, port)
    app = create_app(open_setup_db(db_url), token=token)
    bound = listener.getsockname()
    where = f"http://{_url_host(bound[0])}:{bound[1]}/"
    guard = f"login with ${TOKEN_ENV}" if token else "no login: only this machine can connect"
    click.echo(f"dashboard on {where} ({guard}); Ctrl-C stops it", err=True)
    config = uvicorn.Config(app, log_level=logging.getLogger().getEffectiveLevel(), access_log=True,
                            log_config=None, server_header=False, proxy_headers=False)
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, opened before anything else so a taken port is one clear line."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
