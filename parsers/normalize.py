"""Text clean-up shared by every parser: width, scripts, WeChat emoji codes, odd spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# WeChat renders its own emoji as bracketed names: [玫瑰] [强] [爱心] [Smile].
_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,6}\]")
# U+2005 follows @mentions; other odd spaces come from copy-paste between apps.
_ODD_SPACES = re.compile(r"[\u2000-\u200b\u202f\u205f\u3000\ufeff\xa0\t]")
_ZERO_WIDTH = re.compile(r"[\u200c\u200d\u2060\ufe0f\ufe0e]")


def normalize_line(text: str) -> str:
    """Full-width → half-width (NFKC), odd spaces → space, WeChat emoji codes removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _ZERO_WIDTH.sub("", text)
    return _WECHAT_EMOJI.sub(" ", text)


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese. Meant for short words (product names, markers)."""
    if text.isascii():
        return text
    return _t2s().convert(text)


_KEY_DROP = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


def fold_key(text: str) -> str:
    """A comparison key: simplified, lower-case, only letters, digits and CJK characters."""
    return _KEY_DROP.sub("", to_simplified(normalize_line(text)).lower())


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
