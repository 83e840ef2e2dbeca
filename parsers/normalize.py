"""Text clean-up shared by every parser: width, scripts, WeChat emoji codes, odd spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# WeChat renders its own emoji as bracketed names: [玫瑰] [强] [爱心] [Smile].
_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,6}\]")
# U+2005 follows @mentions; other odd spaces come from copy-paste between apps.
_ODD_SPACES = re.compile(r"[\u2000-\u200b\u202f\u205f\u3000\ufeff\xa0\t]")
# Zero-width joiners, emoji variation selectors and the keycap mark ("1️⃣" is 1 + U+FE0F + U+20E3).
_ZERO_WIDTH = re.compile(r"[\u200c\u200d\u2060\ufe0f\ufe0e\u20e3]")
# Before NFKC: a circled number is a product number ("②x1"), NFKC would make it a bare "2".
_CIRCLED = {chr(0x2460 + i): f"{i + 1}号" for i in range(20)}
# After NFKC: signs people use for "times", and the traditional spellings of numerals and
# counting words (the rest of a traditional line is folded where names are compared).
_SIGNS_AND_SCRIPT = str.maketrans({
    "✖": "×", "✕": "×", "╳": "×", "✗": "×",
    "兩": "两", "倆": "俩", "個": "个", "隻": "只", "條": "条", "顆": "颗", "塊": "块",
    "雙": "双", "對": "对", "盤": "盘", "張": "张", "團": "团",
})


def normalize_line(text: str) -> str:
    """Full-width → half-width (NFKC), odd spaces → space, WeChat emoji codes removed, circled
    numbers → "N号", times signs → ×, traditional numerals and counting words → simplified."""
    if not text.isascii():
        text = "".join(_CIRCLED.get(ch, ch) for ch in text) if _has_circled(text) else text
        text = unicodedata.normalize("NFKC", text).translate(_SIGNS_AND_SCRIPT)
        text = _ZERO_WIDTH.sub("", text)
    return _WECHAT_EMOJI.sub(" ", _ODD_SPACES.sub(" ", text))


_CIRCLED_RE = re.compile("[\u2460-\u2473]")


def _has_circled(text: str) -> bool:
    return _CIRCLED_RE.search(text) is not None


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


@lru_cache(maxsize=65536)
def fold_key(text: str) -> str:
    """A comparison key: simplified, lower-case, only letters, digits and CJK characters."""
    return _KEY_DROP.sub("", to_simplified(normalize_line(text)).lower())


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
