"""Who an entry is: building/room forms and area codes. The nickname is what remains first."""

from __future__ import annotations

import re

# Ordered: the most specific forms first. Each is flat (no nested repeats).
ADDRESS_PATTERNS: tuple[tuple[str, str], ...] = (
    ("building-unit-room", r"\d{1,3}\s?(?:栋|幢|号楼|座|号)\s?(?:\d{1,2}\s?单元\s?)?\d{3,4}(?:室|号)?"),
    ("tower-room", r"(?<![A-Za-z])[A-Za-z]\s?座\s?\d{3,4}(?:室)?"),
    ("dash-3", r"(?<![\d.:-])\d{1,3}-\d{1,2}-\d{3,4}(?![\d:])"),
    ("dash-2", r"(?<![\d.:-])\d{1,3}-\d{3,4}(?![\d:.-])"),
    # "云谷11栋-葛原", "索菲娅-云谷2栋": a place name before the building, after a separator
    ("place-building", r"(?<![^\s\-—,，、])[\u4e00-\u9fff]{1,3}\d{1,3}\s?(?:栋|幢|号楼)(?:\s?\d{1,2}\s?单元)?"),
    ("building", r"\d{1,3}\s?(?:栋|幢|号楼)(?:\s?\d{1,2}\s?单元)?"),
    ("gate", r"\d{1,2}\s?号门"),
    ("floor", r"(?<![\d.])\d{1,2}\s?(?:楼|层)(?![下上道梯])"),
    ("room", r"(?<!\d)\d{3,4}\s?室"),
    ("area", r"(?<![A-Za-z])[A-Za-z]\s?区(?:[东西南北]门)?"),
    ("area-code", r"(?<![A-Za-z0-9])[A-WYZ]\d{1,2}(?![0-9A-Za-z])"),  # not X2: that is "×2"
)
# Every address starts with a digit, a Latin letter, or up to three characters before a digit
# (云谷11栋): a look at that first skips most places of a line at once.
_ADDRESS_RE = re.compile(r"(?=[\dA-Za-z]|(?<![^\s\-—,，、])[\u4e00-\u9fff]{1,3}\d)(?:"
                         + "|".join(f"(?:{p})" for _, p in ADDRESS_PATTERNS) + ")")


_AREA_CODE_RE = re.compile(ADDRESS_PATTERNS[-1][1])


def find_address(text: str, *, keep_codes: frozenset[str] = frozenset()) -> re.Match | None:
    """The first building/room-like span in the text, or None. An area code whose letter is
    one of the header's dish codes ("A1" where the header lists A: …) is an order, not a place."""
    found = find_addresses(text, keep_codes=keep_codes)
    return found[0] if found else None


def find_addresses(text: str, *, keep_codes: frozenset[str] = frozenset()) -> list[re.Match]:
    """Every building/room-like span in the text, left to right (see find_address)."""
    found = list(_ADDRESS_RE.finditer(text))
    if keep_codes:
        found = [m for m in found if not (_AREA_CODE_RE.fullmatch(m.group(0)) and m.group(0)[0].upper() in keep_codes)]
    return found


def is_variety_modifier(prefix: str) -> bool:
    """Whether the words glued before a product's name make it another product (小番茄)
    rather than name the member (陈香蕉, 王姐面包)."""
    from parsers.synonyms import VARIETY_MODIFIERS

    return prefix in VARIETY_MODIFIERS or (len(prefix) <= 2 and prefix[-1:] in VARIETY_MODIFIERS and prefix[:1] in VARIETY_MODIFIERS)
