"""A busy chain for reliability tests: members append, edit and cancel their lines, some copy
an old version at the same time as others, and a few write after the deadline. Deterministic.

Functions here run in child processes too (multiprocessing, spawn), so they take plain
arguments: a database URL and the messages.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from parsers.model import Entry, ParsedMessage
from storage.chains import apply_chain
from storage.db import open_db
from storage.log import record_message
from storage.lookup import campaign_for_group, group_for_chat, leader_ids
from tests.storage.helpers import TITLE, at, line


@dataclass
class Copy:
    message_id: str
    chat: str
    sender: str
    sent_at: datetime
    entries: list[Entry]


def busy_chain(chat: str, prefix: str, members: int = 12, steps: int = 60, seed: int = 3,
               skus: tuple[str, ...] = ("XG01", "PT01", "JZ01")) -> list[Copy]:
    rng = random.Random(seed)
    names = [f"{prefix}会员{i}" for i in range(members)]
    versions: list[list[Entry]] = [[]]
    copies: list[Copy] = []
    when = at(9, 30)
    for step in range(steps):
        # Mostly the latest version; sometimes one a few copies old (concurrent copying).
        base = versions[-1] if rng.random() < 0.75 else versions[max(0, len(versions) - rng.randint(2, 4))]
        lines = [replace(e) for e in base]
        who = rng.randrange(members)
        sender, name = f"wxid_{prefix}{who}", names[who]
        mine = [i for i, e in enumerate(lines) if e.member == name and not e.cancel]
        roll = rng.random()
        sku = rng.choice(skus)
        if mine and roll < 0.15:
            i = rng.choice(mine)
            lines[i] = line(lines[i].seq, name, (sku, rng.randint(1, 3)))  # edit my line
        elif mine and roll < 0.35:
            i = rng.choice(mine)
            lines[i] = line(lines[i].seq, name, extra="取消", cancel=True)  # cancel my line
        else:
            lines.append(line(len(lines) + 1, name, (sku, rng.randint(1, 2))))
        when += timedelta(minutes=rng.choice((0, 1, 7, 15)))
        if step == steps - 5:
            when = at(22, 5)  # the last few copies come after the deadline
        versions.append(lines)
        copies.append(Copy(f"{prefix}-{step}", chat, sender, when, lines))
    return copies


def apply_copy(session, copy: Copy) -> bool:
    """One copy through storage as the bot applies it; False for a redelivery."""
    text = "\n".join(e.raw for e in copy.entries)
    message = record_message(session, platform="test", message_id=copy.message_id, chat_id=copy.chat,
                             chat_name=copy.chat, sender_id=copy.sender, sender_name=copy.sender, text=text,
                             sent_at=copy.sent_at, received_at=copy.sent_at)
    if message is None:
        return False
    group = group_for_chat(session, copy.chat)
    parsed = ParsedMessage(is_chain=True, title=TITLE, chain_key=TITLE, entries=copy.entries)
    apply_chain(session, group=group, campaign=campaign_for_group(session, group, copy.sent_at), message=message,
                parsed=parsed, leader_ids=leader_ids(group), at=copy.sent_at)
    return True


def apply_all(url: str, copies: list[Copy], crash_in: int | None = None, barrier=None) -> None:
    """Apply the copies, one transaction each. With `crash_in`, the process dies (no clean-up,
    no commit) in the middle of that copy's transaction, after its orders were written."""
    sessions = open_db(url)
    if barrier is not None:
        barrier.wait()
    for n, copy in enumerate(copies):
        with sessions.begin() as session:
            apply_copy(session, copy)
            if n == crash_in:
                session.flush()
                os._exit(3)
    sessions.kw["bind"].dispose()
