"""Commands are data: a decorator records each one; dispatch, permissions and 帮助 read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.commands.arguments import Words
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
    campaign: Campaign | None = None  # set for commands registered with a campaign: the first of `campaigns`
    campaigns: list[Campaign] = field(default_factory=list)  # the one named, else the current ones
    words: Words | None = None  # the arguments with their places in `rest`, after any campaign name

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
    min_args: int = 0  # arguments, not counting an optional campaign name in front
    max_args: int | None = None
    # Campaigns: "" none; the leader may name one first ("汇总 水果团"), else the current ones:
    # EACH covers each, ONE asks which when several run, ANY lets the arguments find theirs.
    campaign: str = ""

    @property
    def needs_campaign(self) -> bool:
        return bool(self.campaign)

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


EACH, ONE, ANY = "each", "one", "any"


REGISTRY: dict[str, CommandSpec] = {}


def command(name: str, *, role: str, usage: str, help: str, aliases: tuple[str, ...] = (),
            min_args: int = 0, max_args: int | None = None, campaign: str = "") -> Callable[[Handler], Handler]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if campaign not in ("", EACH, ONE, ANY):
        raise ValueError(f"unknown campaign mode {campaign!r}")

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(name, role, usage, help, handler, aliases, "private", min_args, max_args, campaign)
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
