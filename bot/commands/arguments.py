"""Command arguments read by their spec, left to right, each word with its place in what was
typed: an optional campaign, an optional group, then numbers, names or rooms, and the rest
verbatim (改单's new line is what follows its number, whatever the group's name holds, D7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\s,，、;；]+")


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # where it starts in the arguments as typed
    end: int


class Words:
    """The words of a command's arguments, taken one by one."""

    def __init__(self, rest: str):
        self.rest = rest
        self._words = [Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(rest)]
        self._next = 0

    def __len__(self) -> int:
        return len(self._words) - self._next

    def peek(self) -> Word | None:
        return self._words[self._next] if self._next < len(self._words) else None

    def take(self) -> Word:
        word = self._words[self._next]
        self._next += 1
        return word

    def left(self) -> list[Word]:
        return self._words[self._next:]

    def take_text(self, text: str, leave: int = 0) -> bool:
        """Take the words that spell `text` exactly (a name may hold spaces), if they come next
        and at least `leave` words follow them."""
        word = self.peek()
        if not text or word is None or not self.rest.startswith(text, word.start):
            return False
        end = word.start + len(text)
        if end < len(self.rest) and _WORD.match(self.rest, end):
            return False  # the text stops inside a word
        upto = self._next
        while upto < len(self._words) and self._words[upto].start < end:
            upto += 1
        if len(self._words) - upto < leave:
            return False
        self._next = upto
        return True

    def rest_after(self, word: Word) -> str:
        """Everything typed after this word, as typed."""
        return self.rest[word.end:].strip()
