"""A chain that fits two open campaigns equally: never guessed. Its copies wait, the leader is
asked once in private chat, and they are applied in order as soon as its campaign is known (a
later copy makes it clear, or the leader answers 归团)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import OutgoingText
from bot.handlers.chain import handle_chain
from bot.handlers.common import Turn, message_of
from bot.outbox import Outbox
from parsers.model import ParsedMessage
from storage.chains import hold_copy, release_held
from storage.models import Campaign, Group, MessageLog


def hold_chain(turn: Turn, group: Group, parsed: ParsedMessage, tied: Sequence[Campaign]) -> None:
    key = parsed.chain_key or ""
    hold_copy(turn.session, group, key, parsed.title, turn.log)
    if group.leader_id is None:
        return
    text = texts.CHAIN_HELD.format(group=group.name, title=parsed.title or texts.NO_TITLE,
                                   campaigns="、".join(c.title for c in tied), example=tied[0].title)
    digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    turn.outbox.enqueue(turn.session, OutgoingText(group.leader_id, text, is_group=False), kind="held",
                        dedupe_key=f"held:{group.id}:{digest}")


def release_chain(ctx: AppContext, session: Session, outbox: Outbox, group: Group, campaign: Campaign, key: str,
                  parse: Callable[[MessageLog], ParsedMessage]) -> int:
    """Apply a held chain's copies to its campaign, oldest first, as if it had been known from
    the start (each member is told what concerns their line then). Returns how many."""
    rows = release_held(session, group.id, key)
    for row in rows:
        parsed = parse(row)
        if parsed.is_chain and parsed.entries:
            handle_chain(Turn(ctx, session, outbox, message_of(row), row), group, campaign, parsed)
    return len(rows)
