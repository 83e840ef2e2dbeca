"""Command text → (command word, arguments). Pure; tolerant of how people type in WeChat."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MENTION = re.compile(r"^@\S{1,40}\s+")
_ARG_SPLIT = re.compile(r"[\s,，、;；]+")
_TRAILING = re.compile(r"[\s。.!！?？~～]+$")


@dataclass(frozen=True)
class Parsed:
    word: str
    args: list[str]
    rest: str


def parse_command(text: str, words: list[str]) -> Parsed | None:
    """Match the longest command word the text starts with ("核销3 5", "改单 3 西瓜2个")."""
    text = unicodedata.normalize("NFKC", text).replace("\u2005", " ").strip()
    text = _MENTION.sub("", text)
    text = _TRAILING.sub("", text)
    for word in sorted(words, key=len, reverse=True):
        if text.startswith(word):
            rest = text[len(word):].strip()
            return Parsed(word, [a for a in _ARG_SPLIT.split(rest) if a], rest)
    return None
