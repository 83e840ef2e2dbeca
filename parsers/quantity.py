"""Quantities: Arabic and Chinese numerals, units, multipliers, and numbers that are not quantities.

Rules are data: UNITS, the numeral table and QTY_PATTERNS. Every pattern is a flat
alternation with bounded repeats, so a megabyte of digits cannot make it backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Counting words people put after a number. Longer spellings first (公斤 before 斤).
UNITS: tuple[str, ...] = (
    "公斤", "千克", "kg", "KG", "Kg", "斤", "两", "克", "g",
    "个", "串", "份", "箱", "盒", "袋", "包", "瓶", "件", "只", "条", "块", "把", "颗",
    "粒", "枚", "板", "听", "罐", "桶", "提", "组", "套", "杯", "碗", "根", "头", "棵",
    "捆", "扎", "对", "双", "打", "排", "盘", "张", "片", "支", "枝", "筐", "兜", "网",
    "斗", "升", "L", "ml", "人", "位", "次", "笼", "屉", "卷", "节", "段", "锅",
)
# 两 is both "two" and a weight unit (50 g); as a unit it only follows a numeral (三两).
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

_CN_NUM = "[零〇一幺二两俩仨三四五六七八九十百]{1,6}"
_AR_NUM = r"\d{1,6}(?:\.\d{1,3})?"
_NUM = f"(?:{_AR_NUM}|{_CN_NUM}|半)"

# Named groups: n = number, u = unit, half = a trailing 半 ("一斤半").
QTY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("times", rf"(?:[xX×*]|乘)\s{{0,2}}(?P<n>{_AR_NUM}|{_CN_NUM})(?P<u>{_UNIT_ALT})?"),
    ("plus", rf"(?:\+|加)\s{{0,2}}(?P<n>\d{{1,4}}|{_CN_NUM})(?P<u>{_UNIT_ALT})?"),
    ("bracket", r"[【\[(（](?P<n>\d{1,4})(?P<u>" + _UNIT_ALT + r")?[】\])）]"),
    ("unit", rf"(?P<n>{_NUM})\s{{0,1}}(?P<u>{_UNIT_ALT})(?P<half>半)?"),
)


def _named(name: str, pattern: str) -> str:
    for group in ("n", "u", "half"):
        pattern = pattern.replace(f"(?P<{group}>", f"(?P<{name}_{group}>")
    return f"(?P<{name}>{pattern})"


_QTY_RE = re.compile("|".join(_named(name, pat) for name, pat in QTY_PATTERNS))

# Numbers that are never quantities: times, prices, phone numbers, model codes, dates.
NOT_QTY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("time", r"\d{1,2}[:：]\d{2}(?:\s{0,1}-\s{0,1}\d{1,2}[:：]\d{2})?"),
    ("clock", r"\d{1,2}(?:\.\d{1,2})?\s{0,1}(?:点半?|点钟|左右|以后|之后|前后)"),
    ("price", r"(?:付了?|共|¥|￥)?\s{0,1}\d{1,6}(?:\.\d{1,2})?\s{0,1}(?:元|块钱|块|rmb|RMB)"),
    ("phone", r"(?:尾号|手机|电话)\s{0,1}\d{3,11}|1\d{10}"),
    ("date", r"\d{1,2}月\d{1,2}[日号]?|\d{1,2}/\d{1,2}|\d{1,2}\.\d{1,2}[日号]"),
    # gt7, iPhone15, A1 — but not the multiplier x2
    ("code", r"(?<![A-Za-z])(?:[A-WYZa-wyz][A-Za-z]{0,5}|[xX][A-Za-z]{1,5})\d{1,6}[A-Za-z]{0,3}"),
)
_NOT_QTY_RE = re.compile("|".join(f"(?:{p})" for _, p in NOT_QTY_PATTERNS))


@dataclass(frozen=True)
class QtyToken:
    start: int
    end: int
    qty: float
    unit: str
    kind: str  # times plus bracket unit


def cn_to_number(text: str) -> float | None:
    """'两' → 2, '二十' → 20, '十二' → 12, '一百零五' → 105, '半' → 0.5, '3' → 3."""
    if not text:
        return None
    if text == "半":
        return 0.5
    try:
        return float(text)
    except ValueError:
        pass
    return _cn_integer(text)


# Spoken forms cn2an does not know, mapped to ones it does.
COLLOQUIAL = str.maketrans({"俩": "两", "仨": "三", "幺": "一"})


@lru_cache(maxsize=1024)
def _cn_integer(text: str) -> float | None:
    import cn2an

    try:
        return float(cn2an.cn2an(text.translate(COLLOQUIAL), "normal"))
    except (ValueError, KeyError):
        return None


def mask_non_quantities(text: str) -> str:
    """Blank out times, prices, phone numbers, dates and codes so they cannot read as amounts."""
    return _NOT_QTY_RE.sub(lambda m: " " * (m.end() - m.start()), text)


def find_quantities(text: str) -> list[QtyToken]:
    """Every quantity in `text` (already masked), left to right."""
    tokens: list[QtyToken] = []
    for m in _QTY_RE.finditer(text):
        kind = _kind_of(m)
        number = cn_to_number(m.group(f"{kind}_n"))
        if number is None:
            continue
        unit = m.groupdict().get(f"{kind}_u") or ""
        if m.groupdict().get(f"{kind}_half"):
            number += 0.5
        tokens.append(QtyToken(m.start(), m.end(), number, unit, kind))
    return tokens


def _kind_of(match: re.Match) -> str:
    for name, _ in QTY_PATTERNS:
        if match.group(name) is not None:
            return name
    raise AssertionError("a quantity match without a kind")


_BARE_NUMBER = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")


def bare_number(text: str) -> float | None:
    """A lone small number ("2") in a chunk that is nothing else: a quantity without a unit."""
    m = _BARE_NUMBER.fullmatch(text.strip())
    return float(m.group(1)) if m else None
