"""Commands are data: a decorator records each one; dispatch, permissions and 帮助 read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.events import IncomingMessage, OutgoingText
from bot.outbox import Outbox
from storage.models import Campaign, Group, Leader

ROLES = ("member", "leader", "admin")


@dataclass
class Call:
    """One command being run: who asked, with which words, and what they may see."""

    ctx: AppContext
    session: Session
    outbox: Outbox
    msg: IncomingMessage
    args: list[str]
    rest: str  # everything after the command word, as typed
    leader: Leader | None = None
    groups: list[Group] = field(default_factory=list)
    is_admin: bool = False
    campaign: Campaign | None = None  # set for commands registered with needs_campaign

    @property
    def at(self):
        return self.msg.sent_at


Reply = str | list[OutgoingText] | None
Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    role: str  # who may run it: member (anyone), leader, admin
    usage: str
    help: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    where: str = "private"
    min_args: int = 0
    max_args: int | None = None
    needs_campaign: bool = False  # runs on the leader's current campaign; none → a short reply

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


REGISTRY: dict[str, CommandSpec] = {}


def command(name: str, *, role: str, usage: str, help: str, aliases: tuple[str, ...] = (),
            min_args: int = 0, max_args: int | None = None,
            needs_campaign: bool = False) -> Callable[[Handler], Handler]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(name, role, usage, help, handler, aliases, "private", min_args, max_args, needs_campaign)
        for word in spec.words:
            if word in REGISTRY:
                raise ValueError(f"command word {word!r} registered twice")
            REGISTRY[word] = spec
        return handler

    return register


def specs() -> list[CommandSpec]:
    """Every command once, in registration order."""
    seen: dict[str, CommandSpec] = {}
    for spec in REGISTRY.values():
        seen.setdefault(spec.name, spec)
    return list(seen.values())
