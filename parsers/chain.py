"""The parser's front door: `parse_message(text, catalog)` and the caching `ChainParser`."""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import count

from parsers.appmsg import assign_authors, looks_native, parse_native
from parsers.entry import EntryContext, parse_entry
from parsers.header import products_from_header
from parsers.matching import ProductMatcher
from parsers.model import Entry, Flag, FlagKind, ParsedMessage, Product
from parsers.normalize import normalize_line
from parsers.numbering import NONE, header_numbering
from parsers.quantity import find_quantities, mask_non_quantities
from parsers.structure import INDEX_RE, SENDER_PREFIX_RE, looks_like_quantity_start, split_chain

RECENT_CHAINS = 512  # chains of the many groups of one campaign interleave
MAX_APPENDED_LINES = 64  # a copy adding more lines than this at once is read whole
MAX_TEXT = 2_000_000  # characters; longer input is cut with a warning, never refused
MAX_ENTRY_CHARS = 500  # an entry longer than this is kept raw but not read for items
FREE_ORDER_MAX = 80
QUESTION_RE = re.compile(r"[?？]|吗|呢|么|多少|几点|几个|有没有|还有")
ORDER_INTENT_RE = re.compile(r"[+＋]\s{0,2}\d|加\d|我要|要|来|订|买|预定|预订|[xX×*]\s{0,2}\d|改成|改为")


class ChainParser:
    """Parses messages for one catalog, reading each distinct entry line only once.

    The app keeps one per campaign: every member reposts the whole chain, so almost every
    line of a message has been read before.
    """

    def __init__(self, catalog: list[Product] | None = None, cache_size: int = 50_000, *,
                 synonyms=None, kinds=None):
        """`synonyms` and `kinds`: a platform's own words for its produce, added to the defaults
        of parsers/synonyms.py (groups of words for one thing; (kind words, varieties) pairs)."""
        self.catalog = list(catalog) if catalog else None
        self._synonyms = tuple(tuple(g) for g in synonyms or ())
        self._kinds = tuple((tuple(w), tuple(v)) for w, v in kinds or ())
        self._contexts: dict[tuple, EntryContext] = {}
        self._lines: OrderedDict[tuple, Entry] = OrderedDict()
        self._cache_size = cache_size
        # Recently parsed copies, by text length: a later copy that appends lines starts with
        # one of them and has a line break right where it ends, so a few dict lookups find its
        # base however many chains (groups) interleave.
        self._recent: dict[int, list[_Recent]] = {}
        self._recent_count = 0
        self._ticks = count()

    def parse(self, text: str, *, native: bool | None = None) -> ParsedMessage:
        """Parse a message; a copy that only appends numbered lines to a chain parsed
        recently reuses that parse and reads just the new lines.

        `native`: True when the transport vouches that `text` is a real native 接龙's XML (its
        per-entry authors are trusted), False when it is what a member typed (XML in it is
        read as plain text, never as authorship), None to decide from the text (a file an
        operator gives `jielong parse`)."""
        if native is None:
            native = looks_native(text)
        if native:
            return _parse(text, self, native=True)
        for base in self._bases_of(text):
            extended = _extend(base, text, self)
            if extended is not None:
                # The extended copy takes its base's place: one remembered copy per chain
                # (its base qualified, and the lines it adds name no author).
                self._forget(base)
                self._keep(text, extended, base.ctx)
                return extended
        parsed = _parse(text, self, native=False)
        if _extendable(text, parsed):
            self._keep(text, parsed, self.context_for(parsed.products, parsed.header.split("\n")))
        return parsed

    def _bases_of(self, text: str) -> Iterator[_Recent]:
        """Remembered copies as long as this text up to one of its last MAX_APPENDED_LINES line
        breaks, longest first: the candidates `_extend` checks (it compares the text)."""
        end = len(text)
        for _ in range(MAX_APPENDED_LINES):
            cut = text.rfind("\n", 0, end)
            if cut <= 0:
                return
            yield from reversed(self._recent.get(cut, ()))
            end = cut

    def _keep(self, text: str, parsed: ParsedMessage, ctx: EntryContext) -> None:
        self._recent.setdefault(len(text), []).append(_Recent(text, parsed, ctx, next(self._ticks)))
        self._recent_count += 1
        if self._recent_count > RECENT_CHAINS:
            by_age = sorted((r for bucket in self._recent.values() for r in bucket), key=lambda r: r.tick)
            for old in by_age[: RECENT_CHAINS // 4]:
                self._forget(old)

    def _forget(self, recent: _Recent) -> None:
        bucket = self._recent[len(recent.text)]
        bucket.remove(recent)
        if not bucket:
            del self._recent[len(recent.text)]
        self._recent_count -= 1

    def context_for(self, products: list[Product], header: list[str] | None = None) -> EntryContext:
        """How entries are read for these products and the header's product codes (one
        matcher per product list; one context per numbering)."""
        key = tuple((p.sku, p.name, p.aliases, p.unit) for p in products)
        base = self._contexts.get(key)
        if base is None:
            matcher = ProductMatcher(products, synonyms=self._synonyms, kinds=self._kinds) if products else None
            base = EntryContext(matcher)
            if len(self._contexts) > 16:
                self._contexts.clear()
            self._contexts[key] = base
        numbering = header_numbering(header, base.matcher) if header else NONE
        if numbering is NONE:
            return base
        full = (key, numbering.key())
        ctx = self._contexts.get(full)
        if ctx is None:
            ctx = EntryContext(base.matcher, numbering)
            ctx.splits = base.splits  # the same words split the same way
            self._contexts[full] = ctx
        return ctx

    def entry(self, raw: str, seq: int, ctx: EntryContext) -> Entry:
        key = (ctx.serial, raw)
        cached = self._lines.get(key)
        if cached is None:
            cached = _read_entry(raw, 0, ctx)
            self._lines[key] = cached
            if len(self._lines) > self._cache_size:
                self._lines.popitem(last=False)
        return _copy_with_seq(cached, seq)


@dataclass(eq=False)  # compared by identity: bucket.remove must remove this one
class _Recent:
    text: str
    parsed: ParsedMessage
    ctx: EntryContext  # how its entries were read: the appended ones are read the same way
    tick: int  # when remembered: the oldest are forgotten first


def _extendable(text: str, parsed: ParsedMessage) -> bool:
    """Whether a later copy may be read as this one plus appended lines: a plain-text chain
    (no native authors) whose last line is its last entry (no tail note to step over)."""
    if not parsed.is_chain or not parsed.entries or parsed.sender or any(e.author for e in parsed.entries):
        return False
    last_line = text.rstrip("\n").rsplit("\n", 1)[-1]
    m = INDEX_RE.match(normalize_line(last_line))
    return m is not None and int(m.group(1)) == parsed.entries[-1].seq


def _extend(base: _Recent, text: str, parser: ChainParser) -> ParsedMessage | None:
    cut = len(base.text)
    if len(text) <= cut or text[cut] != "\n" or not text.startswith(base.text):
        return None
    new_entries: list[Entry] = []
    last_seq = base.parsed.entries[-1].seq
    ctx = base.ctx
    lines = text[cut + 1 :].rstrip("\n").split("\n")
    for line in lines:
        norm = normalize_line(line)
        m = INDEX_RE.match(norm)
        if m is None or looks_like_quantity_start(norm, m):
            return None  # a wrapped line, a tail, a new block: read the whole message
        seq = int(m.group(1))
        if not last_seq < seq <= last_seq + 5:
            return None
        new_entries.append(parser.entry(norm[m.end():].strip(), seq, ctx))
        last_seq = seq
    warnings = list(base.parsed.warnings)
    previous = base.parsed.entries[-1].seq
    for entry in new_entries:
        if entry.seq > previous + 1:
            warnings.append(f"编号不连续：{entry.seq}")
        previous = entry.seq
    return replace(base.parsed, entries=base.parsed.entries + new_entries, warnings=warnings)


def parse_message(text: str, catalog: list[Product] | None = None, *, native: bool | None = None) -> ParsedMessage:
    """Read one message: a chain (title, products, entries) or not (maybe a free-text order)."""
    return ChainParser(catalog).parse(text, native=native)


def _parse(text: str, parser: ChainParser, *, native: bool) -> ParsedMessage:
    warnings: list[str] = []
    if not isinstance(text, str):
        raise TypeError("parse_message takes text (str)")
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
        warnings.append(f"消息太长，只读了前{MAX_TEXT}个字符")
    sender, authors, body = None, [], text
    if native:
        chain = parse_native(text)
        if chain is not None:
            sender = _sender_prefix(text)
            body, authors = chain.title_text, chain.authors
        else:
            warnings.append("原生接龙消息格式损坏，按文本读取")
    shape = split_chain(body)
    sender = sender or shape.sender
    warnings.extend(shape.warnings)
    products = parser.catalog if parser.catalog is not None else products_from_header(shape.header_lines)
    ctx = parser.context_for(products, shape.header_lines)
    if not shape.is_chain:
        return _not_a_chain(body, ctx, warnings, sender, products)
    entries = [parser.entry(raw.text, raw.seq, ctx) for raw in shape.entries]
    if authors:
        for entry, author in zip(entries, assign_authors(authors, [r.offset for r in shape.entries]), strict=True):
            if author is not None:
                entry.author, entry.time = author.user_id, author.time
    warnings.extend(_sequence_warnings(entries))
    return ParsedMessage(
        is_chain=True,
        title=shape.title,
        products=products,
        entries=entries,
        warnings=warnings,
        chain_key=shape.chain_key,
        header="\n".join(shape.header_lines),
        sender=sender,
    )


def _read_entry(raw: str, seq: int, ctx: EntryContext) -> Entry:
    """An entry line as split_chain gives it (already normalised)."""
    if len(raw) > MAX_ENTRY_CHARS:
        entry = Entry(seq=seq, raw=raw[:MAX_ENTRY_CHARS])
        entry.note = "这一行太长，没有读取商品"
        entry.flags.append(Flag(FlagKind.UNREAD, raw[:40], str(len(raw))))
        return entry
    return parse_entry(raw, seq, ctx, normalized=True)


def _copy_with_seq(entry: Entry, seq: int) -> Entry:
    return Entry(
        seq=seq, raw=entry.raw, member=entry.member, address=entry.address,
        items=list(entry.items), unmatched=list(entry.unmatched), note=entry.note,
        cancel=entry.cancel, paid=entry.paid, flags=list(entry.flags), cancel_items=list(entry.cancel_items),
    )


def _sender_prefix(text: str) -> str | None:
    first = text.lstrip().split("\n", 1)[0]
    m = SENDER_PREFIX_RE.match(first)
    return m.group(1) if m else None


def _sequence_warnings(entries: list[Entry]) -> list[str]:
    seqs = [e.seq for e in entries]
    warnings = []
    dupes = sorted(s for s, n in Counter(seqs).items() if n > 1)
    if dupes:
        warnings.append("重复编号：" + "、".join(map(str, dupes[:10])))
    gaps = [b for a, b in zip(seqs, seqs[1:], strict=False) if b > a + 1]
    if gaps:
        warnings.append("编号不连续：" + "、".join(map(str, gaps[:10])))
    return warnings


def _not_a_chain(body: str, ctx: EntryContext, warnings: list[str], sender, products) -> ParsedMessage:
    parsed = ParsedMessage(is_chain=False, warnings=warnings, sender=sender, products=products)
    text = normalize_line(body).strip()
    if ctx.matcher is None or not text or len(text) > FREE_ORDER_MAX or "\n" in text:
        return parsed
    text = re.sub(r"@\S{1,30}\s", " ", text + " ").strip()
    if QUESTION_RE.search(text) or not (ORDER_INTENT_RE.search(text) or find_quantities(mask_non_quantities(text))):
        return parsed  # "西瓜甜吗？" mentions a product but orders nothing
    entry = parse_entry(text, 0, ctx, normalized=True)
    if entry.items or entry.unmatched:
        parsed.order = entry.items
        parsed.order_unmatched = entry.unmatched
    return parsed
