"""Quantities: Arabic and Chinese numerals, units, multipliers, and numbers that are not quantities.

Rules are data: UNITS, the numeral table, QTY_PATTERNS (amounts), NOT_QTY_PATTERNS (numbers
that are something else: times, money, phones, codes) and SUSPECT_PATTERNS (numbers nobody can
order by: ranges, 1.2345, 1e308 — the line is asked about). Every pattern is a flat
alternation with bounded repeats, so a megabyte of digits cannot make it backtrack, and every
number has a left and right boundary, so "1.2345" is never read as 2345.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from parsers.model import FlagKind

# Counting words people put after a number. Longer spellings first (公斤 before 斤).
UNITS: tuple[str, ...] = (
    "公斤", "千克", "kg", "KG", "Kg", "斤", "两", "克", "g",
    "个", "串", "份", "箱", "盒", "袋", "包", "瓶", "件", "只", "条", "块", "把", "颗",
    "粒", "枚", "板", "听", "罐", "桶", "提", "组", "套", "杯", "碗", "根", "头", "棵",
    "捆", "扎", "对", "双", "打", "排", "盘", "张", "片", "支", "枝", "筐", "兜", "网",
    "斗", "升", "L", "ml", "人", "位", "次", "笼", "屉", "卷", "节", "段", "锅",
)
# Units by weight or volume: any fraction is a fair amount. Counted units take halves only
# where a seller cuts (两个半西瓜); 1.3个 is asked about.
MEASURED_UNITS = frozenset({"公斤", "千克", "kg", "KG", "Kg", "斤", "两", "克", "g", "升", "L", "ml"})
# Units that only say how big a pack is (5L花生油, 550ml*24, 30枚装), never how many packs.
PACK_UNITS = frozenset({"L", "ml", "升", "毫升", "枚"})
# 两 is both "two" and a weight unit (50 g); as a unit it only follows a numeral (三两).
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
UNIT_RE = re.compile(f"(?:{_UNIT_ALT})")

_CN_DIGITS = "零〇一幺二两俩仨三四五六七八九"
_CN_NUM = f"[{_CN_DIGITS}十百千万亿]{{1,6}}"
# No digit or decimal point on either side: "1.2345" is one (suspect) number, not 1 and 2345.
_AR_NUM = r"(?<![\d.])\d{1,6}(?:\.\d{1,2})?(?![\d])(?!\.\d)"
_NUM = f"(?:{_AR_NUM}|{_CN_NUM}|半)"

# Named groups: n = number, u = unit, half = a trailing 半 ("一斤半", "两个半").
QTY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("times", rf"(?:[xX×*]|乘)\s{{0,2}}(?P<n>{_AR_NUM}|{_CN_NUM})(?P<u>{_UNIT_ALT})?"),
    ("plus", rf"(?:\+|加)\s{{0,2}}(?P<n>(?<![\d.])\d{{1,4}}(?!\d)|{_CN_NUM})(?P<u>{_UNIT_ALT})?"),
    ("bracket", r"[【\[(（](?P<n>\d{1,4})(?P<u>" + _UNIT_ALT + r")?[】\])）]"),
    # 两个人的, 3人份: portions for that many people
    ("people", rf"(?P<n>{_AR_NUM}|{_CN_NUM})\s{{0,1}}个?\s{{0,1}}(?P<u>人|位)(?=的|份|吃|用|$|\s)份?"),
    # 俩, 仨: "two", "three" of whatever is counted
    ("counted", r"(?P<n>俩|仨)(?!\s{0,1}(?:" + _UNIT_ALT + r"))"),
    ("unit", rf"(?P<n>{_NUM})\s{{0,1}}(?P<u>{_UNIT_ALT})(?P<half>半)?"),
)


def _named(name: str, pattern: str) -> str:
    for group in ("n", "u", "half"):
        pattern = pattern.replace(f"(?P<{group}>", f"(?P<{name}_{group}>")
    return f"(?P<{name}>{pattern})"


# Each scan starts with a look at the first character (every pattern starts with one of
# these): most places of a line fail there at once instead of in every alternative.
_QTY_RE = re.compile(r"(?=[\dxX×*乘+加【\[(（零〇一幺二两俩仨三四五六七八九十百千万亿半])(?:"
                     + "|".join(_named(name, pat) for name, pat in QTY_PATTERNS) + ")")

_PAY_WORDS = r"(?:已付款?|已支付|已转账?|已微信|已支付宝|付款|支付|付了?|转了?|转账|微信转?|支付宝转?|红包|共计?|合计|一共|总共|总计)"
_UNIT_NOT_MONEY = "|".join(re.escape(u) for u in UNITS if u != "块")
# Numbers that are never quantities: times, money, phone numbers, model codes, dates.
NOT_QTY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("time", r"\d{1,2}[:：]\d{2}(?:\s{0,1}[-~到]\s{0,1}\d{1,2}[:：]\d{2})?"),
    ("clock", r"(?<![\d.])\d{1,2}(?:\.\d{1,2})?(?:\s{0,1}[-~到]\s{0,1}\d{1,2})?\s{0,1}(?:点半?|点钟|左右|以后|之后|前后)"),
    # 已付58, 转了36.5, 付30块, 共27, 红包90 — an amount paid or owed, not an amount ordered
    ("payment", _PAY_WORDS + rf"\s{{0,2}}[:：]?\s{{0,2}}[¥￥]?\s{{0,1}}\d{{1,6}}(?:\.\d{{1,2}})?(?!\d)(?:\s{{0,1}}(?:元|块钱|块|rmb|RMB))?(?!\s{{0,1}}(?:{_UNIT_NOT_MONEY}|楼|栋|号))"),
    # 15元, 2块钱, ¥30, 15块一个, 3块/斤 — a price
    ("price", r"(?:[¥￥]\s{0,1}\d{1,6}(?:\.\d{1,2})?|(?<![\d.])\d{1,6}(?:\.\d{1,2})?\s{0,1}(?:元|块钱|rmb|RMB)"
              r"|(?<![\d.])\d{1,6}(?:\.\d{1,2})?\s{0,1}块(?=\s{0,1}(?:一|每|/)))(?:\s{0,1}(?:/|每|一)\s{0,1}(?:" + _UNIT_ALT + r"))?"),
    ("phone", r"(?:手机尾号|尾号|手机|电话)\s{0,1}[:：]?\s{0,1}\d{3,11}|(?<!\d)1\d{10}(?!\d)"),
    ("date", r"\d{1,2}月\d{1,2}[日号]?|(?<![\d.])\d{1,2}/\d{1,2}(?![\d/])(?!\s{0,1}(?:" + _UNIT_ALT + r"))|\d{1,2}\.\d{1,2}[日号]"
             r"|(?<![\d.])\d{1,2}(?:\.\d{1,2}|号)(?=\s{0,1}(?:取|到|送|提|自提|前|后|之前|以后|上午|下午|晚上|早上|中午))"),
    # gt7, iPhone15, A1 — but not the multiplier x2 (a header's letter codes are handled first)
    ("code", r"(?<![A-Za-z])(?:[A-WYZa-wyz][A-Za-z]{0,5}|[xX][A-Za-z]{1,5})\d{1,6}[A-Za-z]{0,3}"),
)
_NOT_QTY_RE = re.compile(r"(?=[\d付已转微支红共合一总手尾电¥￥A-Za-z])(?:"
                         + "|".join(f"(?P<{name}>{p})" for name, p in NOT_QTY_PATTERNS) + ")")
_MONEY_KINDS = frozenset({"payment", "price"})

_RANGE_CN = "一二两三四五六七八九"
# Numbers nobody can order by: the line is asked about, the number is never counted.
SUSPECT_PATTERNS: tuple[tuple[FlagKind, str], ...] = (
    # 2-3个, 1到2串, 4或5斤, 3/4斤, 2~3 — the member has not decided
    (FlagKind.RANGE, rf"(?<![\d.:])\d{{1,4}}(?:\.\d)?\s{{0,1}}(?:-|~|到|至|或|/)\s{{0,1}}\d{{1,4}}(?:\.\d)?\s{{0,1}}(?:{_UNIT_ALT})"
                     r"|(?<![\d.:\-])\d{1,2}\s{0,1}(?:~|到|或)\s{0,1}\d{1,2}(?![\d:.点号月日])"),
    # 三四斤, 两三个, 一两个, 两到三个
    (FlagKind.RANGE, rf"[{_RANGE_CN}]\s{{0,1}}(?:到|至|或)\s{{0,1}}[{_RANGE_CN}十]\s{{0,1}}(?:{_UNIT_ALT})"
                     rf"|(?<![{_RANGE_CN}十百])[{_RANGE_CN}][{_RANGE_CN}](?=\s{{0,1}}(?:{_UNIT_ALT}))"),
    # 1e308, 1.2345, 0.0001, inf个, NaN只, 1234567个
    (FlagKind.IMPLAUSIBLE_QUANTITY, r"\d{1,20}(?:\.\d{1,20})?[eE][+-]?\d{1,6}|(?<![\d.])\d{1,20}\.\d{3,20}(?![\d.])"
                                    rf"|(?i:inf(?:inity)?|nan)(?=\s{{0,1}}(?:{_UNIT_ALT}))|(?<![\d.])\d{{7,30}}(?=\s{{0,1}}(?:{_UNIT_ALT}))"),
)
_SUSPECT_RE = re.compile(rf"(?=[\d{_RANGE_CN}iInN])(?:"
                         + "|".join(f"(?P<s{i}>{p})" for i, (_, p) in enumerate(SUSPECT_PATTERNS)) + ")")
_CN_ORDER = {ch: i for i, ch in enumerate("一二三四五六七八九", start=1)} | {"两": 2}


@dataclass(frozen=True)
class QtyToken:
    start: int
    end: int
    qty: float
    unit: str
    kind: str  # times plus bracket unit bare


@dataclass(frozen=True)
class Span:
    """A piece of a line: what a number in it is (kind), where it is."""

    start: int
    end: int
    kind: str  # a NOT_QTY_PATTERNS name, or a FlagKind value for suspect numbers


def cn_to_number(text: str) -> float | None:
    """'两' → 2, '二十' → 20, '十二' → 12, '一百零五' → 105, '半' → 0.5, '3' → 3."""
    if not text:
        return None
    if text == "半":
        return 0.5
    if text.isascii():
        try:
            return float(text)
        except ValueError:
            return None
    return _cn_integer(text)


# Spoken forms cn2an does not know, mapped to ones it does.
COLLOQUIAL = str.maketrans({"俩": "两", "仨": "三", "幺": "一", "〇": "零"})


@lru_cache(maxsize=1024)
def _cn_integer(text: str) -> float | None:
    import cn2an

    try:
        return float(cn2an.cn2an(text.translate(COLLOQUIAL), "normal"))
    except (ValueError, KeyError):
        return None


def _blank(text: str, spans) -> str:
    if not spans:
        return text
    chars = list(text)
    for span in spans:
        chars[span.start:span.end] = " " * (span.end - span.start)
    return "".join(chars)


def non_quantities(text: str, *, keep_codes: frozenset[str] = frozenset()) -> list[Span]:
    """Times, money, phone numbers, dates and codes: numbers that are not amounts ordered.
    A code whose letter is one of `keep_codes` (the header's A/B/C dishes) is left alone."""
    spans = []
    for m in _NOT_QTY_RE.finditer(text):
        kind = m.lastgroup
        if kind == "code" and keep_codes and _code_letter(m.group(0)) in keep_codes:
            continue
        spans.append(Span(m.start(), m.end(), kind))
    return spans


def _code_letter(code: str) -> str:
    letters = re.match(r"[A-Za-z]+", code)
    return letters.group(0).upper() if letters and len(letters.group(0)) == 1 else ""


def is_money(span: Span) -> bool:
    return span.kind in _MONEY_KINDS


def mask_non_quantities(text: str) -> str:
    """Blank out times, prices, phone numbers, dates and codes so they cannot read as amounts."""
    return _blank(text, non_quantities(text))


# Every suspect number has one of these in it: a line without any has none (most lines).
_SUSPECT_HINT = re.compile(rf"[-~到至或/eE]|\d\.\d{{3}}|\d{{7}}|[{_RANGE_CN}]{{2}}|(?i:inf|nan)")


def suspect_numbers(text: str) -> list[Span]:
    """Ranges and numbers nobody orders by (see SUSPECT_PATTERNS), with the flag each earns."""
    if _SUSPECT_HINT.search(text) is None:
        return []
    out = []
    for m in _SUSPECT_RE.finditer(text):
        kind = SUSPECT_PATTERNS[int(m.lastgroup[1:])][0]
        if kind is FlagKind.RANGE and not _is_range(m.group(0)):
            continue
        out.append(Span(m.start(), m.end(), kind.value))
    return out


def _is_range(text: str) -> bool:
    """"三四斤" is a range, "二十" or "二两" is not: two numerals next to each other only count
    when the second is one or two more than the first."""
    digits = [ch for ch in text if ch in _CN_ORDER]
    if len(digits) == 2 and not re.search(r"到|至|或|\d", text):
        a, b = (_CN_ORDER[ch] for ch in digits)
        return b - a in (1, 2)
    return True


def find_quantities(text: str) -> list[QtyToken]:
    """Every quantity in `text` (already masked), left to right."""
    tokens: list[QtyToken] = []
    for m in _QTY_RE.finditer(text):
        kind = m.lastgroup if m.lastgroup in _KINDS else _kind_of(m)
        number_group, unit_group = _GROUPS[kind]
        number = cn_to_number(m.group(number_group))
        if number is None:
            continue
        unit = (m.group(unit_group) if unit_group else "") or ""
        if kind == "unit" and m.group("unit_half"):
            number += 0.5
        tokens.append(QtyToken(m.start(), m.end(), number, unit, kind))
    return tokens


_KINDS = frozenset(name for name, _ in QTY_PATTERNS)
_GROUPS = {name: (f"{name}_n", f"{name}_u" if "(?P<u>" in pattern else None) for name, pattern in QTY_PATTERNS}


def _kind_of(match: re.Match) -> str:
    for name, _ in QTY_PATTERNS:
        if match.group(name) is not None:
            return name
    raise AssertionError("a quantity match without a kind")


_BARE_NUMBER = re.compile(r"(?<![\d.])\d{1,6}(?:\.\d{1,2})?(?![\d.])")


def bare_number(text: str) -> float | None:
    """A lone number ("2") in a chunk that is nothing else: a quantity without a unit."""
    m = _BARE_NUMBER.fullmatch(text.strip())
    return float(m.group(0)) if m else None


def bare_numbers(text: str) -> list[tuple[int, int]]:
    """Where digits stand alone in a word ("香蕉3", "面包2"): candidates for a unitless amount."""
    return [(m.start(), m.end()) for m in _BARE_NUMBER.finditer(text)]
