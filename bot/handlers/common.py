"""Small pieces every handler shares: what a handler gets, formatting numbers and items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import IncomingMessage, OutgoingText
from bot.outbox import Outbox
from storage import formatting
from storage.formatting import plain_number
from storage.models import MessageLog


@dataclass
class Turn:
    """One message being handled: its context, its session and its logged row."""

    ctx: AppContext
    session: Session
    outbox: Outbox
    msg: IncomingMessage
    log: MessageLog

    @property
    def at(self) -> datetime:
        return self.msg.sent_at

    def say_group(self, text: str, mention: tuple[str, str] | None = None, *, kind: str = "reply",
                  dedupe_key: str | None = None) -> bool:
        """Queue a group message, optionally @-mentioning (user id, display name)."""
        if mention is not None:
            text = f"@{mention[1]} {text}"
        out = OutgoingText(self.msg.chat, text, (mention[0],) if mention else (), is_group=True,
                           account=self.msg.account)  # the account that heard it answers
        return self.outbox.enqueue(self.session, out, kind=kind, dedupe_key=dedupe_key)


def message_of(row: MessageLog) -> IncomingMessage:
    """A logged message as the transport handed it over."""
    return IncomingMessage(row.platform, row.message_id, row.chat_id, row.sender_id, row.sender_name, row.text,
                           row.sent_at, row.chat_name, account=row.account, raw=row.raw,
                           native_chain=bool(row.native_chain))


def chain_text(msg: IncomingMessage) -> tuple[str, bool]:
    """What to parse, and whether its native 接龙 authors are to be trusted: the raw XML only
    when the transport vouched for it (P3: XML a member types is plain text)."""
    if msg.native_chain and msg.raw:
        return msg.raw, True
    return msg.text, False


def money(value) -> str:
    return plain_number(Decimal(str(value)).quantize(Decimal("0.01")))


def items_text(items) -> str:
    """[(name, qty, unit)] → "麒麟西瓜×2、阳光玫瑰×1串": the export's wording, chat's separator."""
    return formatting.items_text(items, "、")


def duration_text(span: timedelta) -> str:
    """timedelta(hours=1, minutes=30) → "1小时30分钟"."""
    seconds, parts = int(span.total_seconds()), []
    for unit, size in texts.DURATION_UNITS:
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or f"0{texts.DURATION_UNITS[-1][0]}"


def clock_text(when: datetime, tz) -> str:
    local = when.astimezone(tz)
    return f"{local.month}月{local.day}日{local:%H:%M}"
