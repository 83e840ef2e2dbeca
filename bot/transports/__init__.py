"""Transports: each turns one platform's messages into `IncomingMessage`s for `App.feed` and
delivers what the bot says (the contract is bot/events.py)."""


class TransportError(RuntimeError):
    """A problem that stops the bot from starting: said in one line, exit non-zero."""


MENTION_SEPARATOR = "\u2005"  # WeChat puts U+2005 after an @mention


def strip_mentions(text: str) -> str:
    """"@机器人\u2005汇总" → "汇总": what a member says to the bot, without the @s."""
    parts = text.split(MENTION_SEPARATOR)
    kept = [p for p in parts if not p.startswith("@")] if len(parts) > 1 else parts
    return MENTION_SEPARATOR.join(kept).strip() if kept else text.strip()
