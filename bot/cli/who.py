"""`jielong who`: the groups, members and leaders the bot has seen — the ids the set-up needs."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import main
from bot.cli.common import DB_OPTION, db_error, open_setup_db
from storage.lookup import platform
from storage.seen import SeenChat, SeenPerson, seen_chats, seen_people


@main.command("who")
@DB_OPTION
@click.option("--members", is_flag=True, help="Also list who wrote in each group.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def who_command(db_url: str | None, members: bool, as_json: bool) -> None:
    """The groups (room ids), members and leaders the bot has seen, from the message log.
    Put these ids in the set-up file (docs/setup.md) to bind groups and name leaders."""
    sessions = open_setup_db(db_url)
    try:
        with sessions() as session:
            tz = ZoneInfo(platform(session).timezone)
            chats = seen_chats(session)
            private = seen_people(session, private=True)
            people = {chat.chat_id: seen_people(session, chat.chat_id) for chat in chats} if members else {}
    except SQLAlchemyError as exc:
        raise db_error(db_url, exc) from None
    if as_json:
        click.echo(json.dumps(_as_json(chats, private, people, tz), ensure_ascii=False, indent=2))
        return
    if not chats and not private:
        click.echo("The bot has seen no messages yet: run it (jielong run) and let the groups talk.")
        return
    click.echo(f"Groups ({len(chats)})")
    for chat in chats:
        bound = f"leader {chat.leader_id}" if chat.leader_id else "not bound"
        click.echo(f"  {chat.chat_id}  {chat.name or '-'}  {chat.messages} messages from {chat.people} people, "
                   f"last {_when(chat.last_at, tz)}  {bound}")
        for person in people.get(chat.chat_id, []):
            click.echo("    " + _person_line(person, tz))
    click.echo(f"Private chats with the bot ({len(private)})")
    for person in private:
        click.echo("  " + _person_line(person, tz))


def _person_line(person: SeenPerson, tz) -> str:
    role = f"  {person.role}" if person.role else ""
    return f"{person.user_id}  {person.name or '-'}  {person.messages} messages, last {_when(person.last_at, tz)}{role}"


def _when(at, tz) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _as_json(chats: list[SeenChat], private: list[SeenPerson], people: dict[str, list[SeenPerson]], tz) -> dict:
    def person(p: SeenPerson) -> dict:
        return {"id": p.user_id, "name": p.name, "messages": p.messages, "last": _when(p.last_at, tz),
                "role": p.role or "member"}

    return {
        "groups": [{"id": c.chat_id, "name": c.name, "messages": c.messages, "people": c.people,
                    "last": _when(c.last_at, tz), "leader": c.leader_id,
                    **({"members": [person(p) for p in people[c.chat_id]]} if c.chat_id in people else {})}
                   for c in chats],
        "private": [person(p) for p in private],
    }
