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
    ("room", r"(?<!\d)\d{3,4}\s?室"),
    ("area", r"(?<![A-Za-z])[A-Za-z]\s?区(?:[东西南北]门)?"),
    ("area-code", r"(?<![A-Za-z0-9])[A-WYZ]\d{1,2}(?![0-9A-Za-z])"),  # not X2: that is "×2"
)
_ADDRESS_RE = re.compile("|".join(f"(?:{p})" for _, p in ADDRESS_PATTERNS))


def find_address(text: str) -> re.Match | None:
    """The first building/room-like span in the text, or None."""
    return _ADDRESS_RE.search(text)
