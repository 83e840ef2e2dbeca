"""`jielong retry`: apply the messages the log holds but the orders do not."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import main
from bot.cli.common import DB_OPTION, db_error
from bot.cli.run import make_app


@main.command("retry")
@DB_OPTION
def retry_command(db_url: str | None) -> None:
    """Apply every message recorded but not applied: those a database error set aside (they
    are also applied by the bot's next pass) and those marked failed (run this after the fix).
    Lists what is still not applied, with the reason. Safe while the bot runs."""
    try:
        app, _clock = make_app(db_url)
        result = app.retry()
    except SQLAlchemyError as exc:
        raise db_error(db_url, exc) from None
    click.echo(f"{result.applied} applied, {len(result.left)} not applied", err=True)
    for left in result.left:
        where = left.chat_name or left.conversation
        click.echo(f"{left.platform}/{left.message_id}  {left.sent_at:%Y-%m-%d %H:%M:%S}  {where}  "
                   f"{left.sender_name}  {left.state} after {left.attempts} attempts: {left.reason or '-'}")
    if result.rebuilding:
        click.echo("a rebuild is running: it applies them (or, if it died, run `jielong rebuild` again)", err=True)
