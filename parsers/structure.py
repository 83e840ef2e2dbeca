"""Chain structure: is this a 接龙, where is its header, which lines are the entries?

Works on lines only; what an entry line says is parsers.entry's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.normalize import fold_key, normalize_line

# Markers a chain starts with, as WeChat writes them (and as leaders type them).
CHAIN_MARKERS: tuple[str, ...] = ("#接龙", "#接龍", "#Group Note", "#group note", "#开团", "#開團", "#团购", "#團購")
# Lines are normalised before they are searched (團 → 团), so the markers are too.
_MARKER_RE = re.compile("|".join(re.escape(normalize_line(m)) for m in CHAIN_MARKERS), re.IGNORECASE)
# "wxid_abc123:" on a line of its own: how raw group messages name their sender.
SENDER_PREFIX_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_\-]{2,63}|\d{5,20}@chatroom):\s*$")
# An index at the start of a line: 1. 1、 1) (1) 1 — full-width forms are already folded. Up
# to six digits: a chain of 10,000 lines goes on being read (a longer number is warned about).
INDEX_DIGITS = 6
INDEX_RE = re.compile(r"^\s{0,8}[(（]?(\d{1,6})(?:[.、)）]|\s)\s{0,8}")
_TOO_LONG_INDEX_RE = re.compile(r"^\s{0,8}[(（]?(\d{7,})[.、)）]")
# An index inside a flattened line: "1. 2. 倪彩霞 gt7 3. 莓心", "1、3栋王姐 2份 2、李哥" (a
# digit-dot not part of 1.5).
INLINE_INDEX_RE = re.compile(r"(?<![\d.])(\d{1,4})(?:\.(?!\d)|、)\s{0,4}")
EXAMPLE_RE = re.compile(r"^\s{0,4}(?:例|例如|举例|格式|示例)\s{0,2}[:：]?")
# A price in a list line. "3块" alone is as often an amount (年糕3块), so 块 counts only as
# "块钱" or per unit (LIST_PRICE_RE).
PRICE_RE = re.compile(r"\d{1,6}(?:\.\d{1,2})?\s{0,2}(?:元|块钱|¥)|[¥￥]\s{0,2}\d")
# A price per unit ("15元/个", "25元一串", "一包230元"): how a price list reads, not an order.
LIST_PRICE_RE = re.compile(
    r"\d{1,6}(?:\.\d{1,2})?\s{0,2}(?:元|块)\s{0,2}(?:/|每|一)|[¥￥]\s{0,2}\d{1,6}(?:\.\d{1,2})?\s{0,2}/|[一每][^\d\s]{1,2}\d{1,6}(?:\.\d{1,2})?\s{0,2}元"
)
MIN_BLOCK_FOR_UNMARKED = 2


@dataclass
class RawEntry:
    seq: int
    text: str  # the entry without its index; continuation lines joined by a space
    line_no: int  # 0-based line of the index within the chain text
    offset: int  # character offset of the entry line in the chain text


@dataclass
class ChainShape:
    is_chain: bool
    marker: str | None = None
    title: str | None = None
    header_lines: list[str] = field(default_factory=list)
    example: list[str] = field(default_factory=list)
    entries: list[RawEntry] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    sender: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def chain_key(self) -> str:
        return fold_key(self.title or "")[:100]


@dataclass
class _Line:
    no: int
    offset: int
    text: str  # normalised
    seq: int | None
    body: str  # text after the index


def split_chain(text: str) -> ChainShape:
    lines, sender = _lines(text)
    marker_at = _marker_line(lines)
    shape = ChainShape(is_chain=False, sender=sender)
    if marker_at is not None:
        shape.marker = _MARKER_RE.search(lines[marker_at].text).group(0)
        lines = lines[marker_at:]
    blocks = _numbered_blocks(lines)
    if marker_at is None and not any(len(b) >= MIN_BLOCK_FOR_UNMARKED for b in blocks):
        return shape
    shape.is_chain = True
    entry_block = _entry_block(blocks)
    # Lines before the first entry (by position: a flattened line's title shares its number).
    first = next((i for i, ln in enumerate(lines) if entry_block and ln is entry_block[0]), len(lines))
    header = lines[:first]
    _read_header(shape, header, marker_at is not None)
    if entry_block:
        shape.entries, shape.tail, too_long = _collect_entries(lines, entry_block)
        if too_long:
            shape.warnings.append("编号太大，这些行没有读取：" + "、".join(too_long[:5]))
    elif blocks:
        shape.warnings.append("编号的行都像价目表，没有当作接龙条目读取")
    if marker_at is None:
        shape.warnings.append("没有#接龙标记，按编号列表读取")
    return shape


def _lines(text: str) -> tuple[list[_Line], str | None]:
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sender = None
    start = 0
    while start < len(raw_lines) and not raw_lines[start].strip():
        start += 1
    if start < len(raw_lines):
        m = SENDER_PREFIX_RE.match(raw_lines[start])
        if m:
            sender = m.group(1)
            start += 1
    out: list[_Line] = []
    offset = sum(len(x) + 1 for x in raw_lines[:start])
    for no, raw in enumerate(raw_lines[start:], start=start):
        norm = normalize_line(raw)
        m = INDEX_RE.match(norm)
        seq = int(m.group(1)) if m else None
        body = norm[m.end():] if m else norm
        if seq is not None and looks_like_quantity_start(norm, m):
            seq, body = None, norm
        out.append(_Line(no, offset, norm, seq, body.strip()))
        offset += len(raw) + 1
    return _unflatten(out), sender


_UNIT_AFTER_SPACE = re.compile(r"(?:斤|个|份|箱|盒|袋|包|瓶|串|点|号楼|栋)")
_DECIMAL_AFTER_DOT = re.compile(r"\d{1,2}(?:左右|点|到|前|后|号|日|斤|个|kg|元|块|-|:|~)")


def looks_like_quantity_start(norm: str, m: re.Match) -> bool:
    """"2 袋", "5.30左右到", "1.5斤": content that merely starts with a number, not an index."""
    rest = norm[m.end():]
    separator = norm[m.end() - 1] if m.end() else ""
    if separator == " ":
        return bool(_UNIT_AFTER_SPACE.match(rest))
    if separator == ".":
        return bool(_DECIMAL_AFTER_DOT.match(rest))
    return False


def _unflatten(lines: list[_Line]) -> list[_Line]:
    """Split "1. 2. 倪彩霞 gt7 3. 莓心" into one line per index when the numbers run on."""
    out: list[_Line] = []
    for line in lines:
        pieces = _inline_sequence(line.text)
        if pieces is None:
            out.append(line)
            continue
        for seq, start, body in pieces:
            text = line.text[start:] if seq is not None else body
            out.append(_Line(line.no, line.offset + start, text, seq, body.strip()))
    return out


def _inline_sequence(text: str) -> list[tuple[int | None, int, str]] | None:
    """The entries of a flattened line: a run of at least three consecutive indexes starting
    at the line's start, or starting at 1 after a title ("#接龙 周五团 1. 王 面包2 2. 李 …");
    the title before such a run is a piece without an index."""
    if len(text) > 20_000:
        return None
    hits = list(INLINE_INDEX_RE.finditer(text))
    if len(hits) < 3:
        return None
    if hits[0].start() <= 4:
        first = hits[0]
    else:
        first = next((h for h in hits if int(h.group(1)) == 1), None)
        if first is None or INDEX_RE.match(text):
            return None
    run = [first]
    for hit in hits:
        if hit.start() > run[-1].start() and int(hit.group(1)) == int(run[-1].group(1)) + 1:
            run.append(hit)
    if len(run) < 3:
        return None
    pieces: list[tuple[int | None, int, str]] = []
    if run[0].start() > 4:
        pieces.append((None, 0, text[: run[0].start()]))
    for i, hit in enumerate(run):
        end = run[i + 1].start() if i + 1 < len(run) else len(text)
        pieces.append((int(hit.group(1)), hit.start(), text[hit.end():end]))
    return pieces


def _marker_line(lines: list[_Line]) -> int | None:
    for i, line in enumerate(lines[:60]):
        if _MARKER_RE.search(line.text):
            return i
    return None


def _numbered_blocks(lines: list[_Line]) -> list[list[_Line]]:
    """Runs of indexed lines whose numbers go up; a number that falls back starts a new run."""
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.seq is None:
            continue
        if current and not (current[-1].seq < line.seq <= current[-1].seq + 5 or line.seq == current[-1].seq):
            blocks.append(current)
            current = []
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _entry_block(blocks: list[list[_Line]]) -> list[_Line]:
    """The entries are the last numbered block, unless that block is the header's price list."""
    if not blocks:
        return []
    last = blocks[-1]
    per_unit = sum(1 for ln in last if LIST_PRICE_RE.search(ln.body))
    priced = sum(1 for ln in last if PRICE_RE.search(ln.body))
    # One numbered line with a price is an entry ("1. 王姐 15块一个的白菜1颗"), a list is two or more.
    if len(blocks) == 1 and len(last) >= 2 and (per_unit * 2 > len(last) or priced * 2 > len(last)):
        return []
    return last


def _read_header(shape: ChainShape, header: list[_Line], marked: bool) -> None:
    in_example = False
    for line in header:
        text = line.text.strip()
        if not text:
            in_example = False
            continue
        if EXAMPLE_RE.match(text):
            in_example = True
            shape.example.append(text)
            continue
        if in_example:
            shape.example.append(text)
            continue
        shape.header_lines.append(text)
    shape.title = _title(shape.header_lines, marked)


def _title(header_lines: list[str], marked: bool) -> str | None:
    for i, text in enumerate(header_lines[:3]):
        after = _MARKER_RE.split(text, maxsplit=1)[-1].strip() if marked and i == 0 else text
        if after and fold_key(after):
            return after[:200]
    return None


CONTINUATION_CHARS = 600  # continuation text kept per entry (an entry is read up to 500)


def _collect_entries(lines: list[_Line], block: list[_Line]) -> tuple[list[RawEntry], list[str], list[str]]:
    """The entries with their wrapped continuation lines, the tail, and lines whose index is
    too long to be one. Each entry's pieces are joined once (a million continuation lines
    cost a million appends, not a million copies), and no more is kept than can be read."""
    entries: list[RawEntry] = []
    pieces: list[list[str]] = []
    tail: list[str] = []
    too_long: list[str] = []
    block_nos = {id(ln) for ln in block}
    started, after_blank = False, False
    kept = 0
    for line in lines:
        if id(line) in block_nos:
            started, after_blank = True, False
            entries.append(RawEntry(line.seq, line.body, line.no, line.offset))
            pieces.append([line.body])
            kept = len(line.body)
            continue
        if not started:
            continue
        text = line.text.strip()
        if not text:
            after_blank = True
            continue
        if after_blank or line.seq is not None:
            tail.append(text)
            after_blank = True
        elif _TOO_LONG_INDEX_RE.match(text):
            too_long.append(text[:20])
        elif kept <= CONTINUATION_CHARS:
            pieces[-1].append(text)
            kept += len(text) + 1
    for entry, parts in zip(entries, pieces, strict=True):
        entry.text = " ".join(parts).strip()
    return entries, tail, too_long
