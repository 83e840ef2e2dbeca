"""One entry line → Entry: who (address, nickname), what (items with quantities), notes,
cancellation and payment marks.

The line is cut into a stream of words and quantities; quantities attach to the product
next to them (after "西瓜2个", before "两斤苹果"). Words are matched against the catalog;
a word that looks like a product but is not one becomes `unmatched` with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count

from parsers.identity import find_address
from parsers.matching import NEAR_MISS, Match, ProductMatcher
from parsers.model import Entry, Item, Product, Unmatched
from parsers.normalize import normalize_line
from parsers.quantity import QtyToken, bare_number, find_quantities, mask_non_quantities
from parsers.segment import cut, teach

CANCEL_RE = re.compile(r"[(（]\s{0,2}(?:已?取消|不要了)\s{0,2}[)）]|已?取消|不要了|不要啦|不买了|撤单|退单")
PAID_RE = re.compile(r"已付款|已支付|已付|已转账|已转|已微信|已支付宝|已结")
MINUS_ONE_RE = re.compile(r"(?<![\d\w])-\s{0,1}1(?!\d)")
PRODUCT_NUMBER_RE = re.compile(r"(?<!\d)(\d{1,2})\s{0,1}号(?!楼)")
# Word separators between items and identity; "+" between names ("汉堡 + 鸡翅") too.
WORD_SPLIT_RE = re.compile(r"[\s,，、;；。!！?？/&|~～(（)）【】]+|\+(?!\s{0,2}\d)")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")
STRIP_CHARS = "-—_:：.·*()（）[]【】「」\"'“”‘’<>《》#@"
# Unit conversions a leader would accept without asking (to the product's unit).
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("公斤", "斤"): 2, ("kg", "斤"): 2, ("千克", "斤"): 2, ("KG", "斤"): 2, ("Kg", "斤"): 2,
    ("斤", "公斤"): 0.5, ("斤", "kg"): 0.5, ("克", "斤"): 1 / 500, ("g", "斤"): 1 / 500,
    ("两", "斤"): 0.1,
}
ACCEPT_SCORE = 80.0
# Words around an item that carry no meaning for the order ("我要两斤苹果", "西瓜改成3个").
FILLER_PREFIXES = ("我还要", "我要", "我的", "帮我", "再来", "还要", "要", "来", "订", "买", "加")
FILLER_SUFFIXES = ("改成", "改为", "换成", "要")
FILLER_WORDS = frozenset(FILLER_PREFIXES + FILLER_SUFFIXES + ("的", "了", "和", "跟", "还有"))


@dataclass
class _Tok:
    start: int
    end: int
    text: str
    qty: QtyToken | None = None
    match: Match | None = None
    product: Product | None = None
    used: bool = False


@dataclass
class EntryContext:
    """What an entry parser needs about its chain: the matcher and whether it sells one thing."""

    matcher: ProductMatcher | None
    products: tuple[Product, ...] = ()
    single: Product | None = field(init=False, default=None)
    # How each glued word splits into products and words: nicknames and notes recur in every
    # chain of a group, and segmenting them is the dearest step of reading a line.
    splits: dict[str, tuple[_Piece, ...] | None] = field(init=False, default_factory=dict)
    # Names this context in caches for as long as the process lives (an id() may be reused).
    serial: int = field(init=False, default_factory=count().__next__, compare=False)

    def __post_init__(self) -> None:
        if self.matcher is not None:
            self.products = self.matcher.products
            teach(self.matcher.spellings)
        self.single = self.products[0] if len(self.products) == 1 else None


def parse_entry(raw: str, seq: int, ctx: EntryContext) -> Entry:
    entry = Entry(seq=seq, raw=raw.strip())
    text = normalize_line(raw).strip()
    text, entry.cancel = _take(CANCEL_RE, text)
    text, entry.paid = _take(PAID_RE, text)
    address = find_address(text)
    if address:
        entry.address = address.group(0).strip()
        text = _blank(text, address.start(), address.end())
    if ctx.matcher is None or not ctx.products:
        _identity_and_note(entry, text)
        return entry
    if MINUS_ONE_RE.search(text) and not find_quantities(mask_non_quantities(MINUS_ONE_RE.sub(" ", text))):
        entry.cancel = True
        text = MINUS_ONE_RE.sub(" ", text)
    tokens = _tokens(text, ctx)
    _read_tokens(entry, tokens, ctx)
    return entry


def _take(pattern: re.Pattern, text: str) -> tuple[str, bool]:
    new, count = pattern.subn(" ", text)
    return new, count > 0


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _identity_and_note(entry: Entry, text: str) -> None:
    words = [w for w in (_clean(x) for x in WORD_SPLIT_RE.split(text)) if w]
    if words:
        entry.member = words[0]
        rest = text.split(words[0], 1)[-1] if words[0] in text else " ".join(words[1:])
        entry.note = _note_text(rest)


def _note_text(text: str) -> str | None:
    note = " ".join(w for w in (x.strip(STRIP_CHARS + " ") for x in re.split(r"\s+", text)) if w)
    return note.strip(",，、;；") or None


def _clean(word: str) -> str:
    word = word.strip(STRIP_CHARS)
    return "" if not word or _PUNCT_ONLY.match(word) else word


# --- tokens ----------------------------------------------------------------------------


def _tokens(text: str, ctx: EntryContext) -> list[_Tok]:
    masked = mask_non_quantities(text)
    qtys = [q for q in find_quantities(masked) if not _inside_product_name(text, q, ctx)]
    tokens: list[_Tok] = []
    pos = 0
    for q in qtys:
        tokens.extend(_words(text, pos, q.start, ctx))
        tokens.append(_Tok(q.start, q.end, text[q.start:q.end], qty=q))
        pos = q.end
    tokens.extend(_words(text, pos, len(text), ctx))
    return tokens


def _inside_product_name(text: str, q: QtyToken, ctx: EntryContext) -> bool:
    # "九节虾", "三黄鸡": a numeral that belongs to the name is not a quantity.
    window = text[max(0, q.start - 6): q.end + 6]
    for product in ctx.products[:300]:
        for spelling in (product.name, *product.aliases):
            at = window.find(spelling)
            if at >= 0:
                start = max(0, q.start - 6) + at
                if start <= q.start and q.end <= start + len(spelling):
                    return True
    return False


def _words(text: str, start: int, end: int, ctx: EntryContext) -> list[_Tok]:
    out: list[_Tok] = []
    segment = text[start:end]
    pos = 0
    for piece in WORD_SPLIT_RE.split(segment):
        at = segment.find(piece, pos)
        pos = at + len(piece)
        word = _clean(piece)
        if not word:
            continue
        word_start = start + at + piece.find(word)
        out.extend(_product_number_split(word, word_start, ctx))
    return out


def _product_number_split(word: str, start: int, ctx: EntryContext) -> list[_Tok]:
    """"1号" → the first product of the header; the rest of the word stays a word."""
    m = PRODUCT_NUMBER_RE.search(word)
    if m and ctx.matcher and ctx.matcher.by_number(m.group(1)):
        product = ctx.matcher.by_number(m.group(1))
        toks = []
        if m.start() > 0:
            toks.append(_Tok(start, start + m.start(), word[: m.start()]))
        toks.append(_Tok(start + m.start(), start + m.end(), m.group(0), product=product,
                         match=Match(product, 100.0)))
        if m.end() < len(word):
            toks.append(_Tok(start + m.end(), start + len(word), word[m.end():]))
        return toks
    return [_Tok(start, start + len(word), word)]


# --- reading the stream ------------------------------------------------------------------


def _read_tokens(entry: Entry, tokens: list[_Tok], ctx: EntryContext) -> None:
    tokens = _expand_products(tokens, ctx)
    _attach_quantities(entry, tokens, ctx)
    note_words: list[str] = []
    seen_item = False
    for i, tok in enumerate(tokens):
        if tok.used or tok.qty is not None:
            continue
        if tok.product is not None:
            _add_item(tok.text, tok.product, 1.0, "", tok.match.score, entry, ctx)
            tok.used = seen_item = True
            continue
        if _looks_like_product(tok) and (entry.member or i > 0 or seen_item):
            entry.unmatched.append(Unmatched(tok.text, tok.match.reason, 1.0))
            continue
        if entry.member is None and not seen_item and not note_words:
            entry.member = tok.text
            continue
        note_words.append(tok.text)
    entry.note = " ".join(note_words) or None


def _expand_products(tokens: list[_Tok], ctx: EntryContext) -> list[_Tok]:
    """Match every word; a long word that is not a product may hold one ("西瓜要大的")."""
    out: list[_Tok] = []
    for tok in tokens:
        if tok.qty is not None or tok.product is not None:
            out.append(tok)
            continue
        if tok.text in FILLER_WORDS:
            continue
        single = bare_number(tok.text)
        if single is not None and ctx.single is not None:
            tok.qty = QtyToken(tok.start, tok.end, single, "", "bare")
            out.append(tok)
            continue
        tok = _without_filler(tok, ctx)
        if tok is None:
            continue
        if tok.match.product is not None and tok.match.score >= ACCEPT_SCORE and tok.match.kind != "around":
            tok.product = tok.match.product
            out.append(tok)
        elif len(tok.text) >= 3 and tok.match.near is None:
            out.extend(_split_word(tok, ctx))
        else:
            out.append(tok)
    return out


def _without_filler(tok: _Tok, ctx: EntryContext) -> _Tok | None:
    """Match the word; if it is not a product, try again without filler words at its ends."""
    tok.match = ctx.matcher.match(tok.text)
    if tok.match.product is not None:
        return tok
    text, start = tok.text, tok.start
    for prefix in FILLER_PREFIXES:
        if text.startswith(prefix):
            text, start = text[len(prefix):], start + len(prefix)
            break
    for suffix in FILLER_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    if text == tok.text:
        return tok
    if not text:
        return None
    stripped = _Tok(start, start + len(text), text, match=ctx.matcher.match(text))
    # Only a word that turns into a product loses its filler: "要大的" stays a note.
    return stripped if stripped.match.product is not None else tok


_Piece = tuple[int, int, str, Match, Product | None]  # a split word's part, offsets within the word
MAX_CACHED_SPLITS = 100_000


def _split_word(tok: _Tok, ctx: EntryContext) -> list[_Tok]:
    if tok.text in ctx.splits:
        pieces = ctx.splits[tok.text]
    else:
        split = _split_into_products(tok, ctx)
        pieces = None if split[0] is tok else tuple(
            (t.start - tok.start, t.end - tok.start, t.text, t.match, t.product) for t in split)
        if len(ctx.splits) >= MAX_CACHED_SPLITS:
            ctx.splits.clear()
        ctx.splits[tok.text] = pieces
    if pieces is None:
        return [tok]
    return [_Tok(tok.start + start, tok.start + end, text, match=match, product=product)
            for start, end, text, match, product in pieces]


def _split_into_products(tok: _Tok, ctx: EntryContext) -> list[_Tok]:
    pieces = cut(tok.text)
    out: list[_Tok] = []
    i, pos, rest_start = 0, 0, 0
    found = False
    while i < len(pieces):
        hit = None
        # A product name starts with a character (or a sound) the catalog has.
        starts = ctx.matcher.could_start(pieces[i])
        for j in range(min(len(pieces), i + 4), i, -1) if starts else ():
            span = "".join(pieces[i:j])
            if len(span) < 2:
                continue
            m = ctx.matcher.match(span)
            if m.product is not None and m.score >= 85.0 and m.kind != "around":
                hit = (j, span, m)
                break
        if hit is None:
            pos += len(pieces[i])
            i += 1
            continue
        j, span, m = hit
        if pos > rest_start:
            out.extend(_word_toks(tok, rest_start, pos, ctx))
        previous = out[-1] if out else None
        if previous is not None and previous.product is m.product and previous.end == tok.start + pos:
            # "阳光玫瑰葡萄": a name and its alias side by side are one item.
            previous.end += len(span)
            previous.text += span
        else:
            out.append(_Tok(tok.start + pos, tok.start + pos + len(span), span, match=m, product=m.product))
        found = True
        pos += len(span)
        rest_start = pos
        i = j
    if not found:
        return [tok]
    if rest_start < len(tok.text):
        out.extend(_word_toks(tok, rest_start, len(tok.text), ctx))
    return out


def _word_toks(tok: _Tok, start: int, end: int, ctx: EntryContext) -> list[_Tok]:
    """The words between products in a split word; fillers ("改成", "的") are dropped."""
    text = tok.text[start:end]
    if text in FILLER_WORDS:
        return []
    return [_Tok(tok.start + start, tok.start + end, text, match=ctx.matcher.match(text))]


def _looks_like_product(tok: _Tok) -> bool:
    m = tok.match
    return m is not None and m.product is None and (m.near is not None or m.reason.startswith("“")) and m.score >= NEAR_MISS


def _attach_quantities(entry: Entry, tokens: list[_Tok], ctx: EntryContext) -> None:
    for i, tok in enumerate(tokens):
        if tok.qty is None:
            continue
        tok.used = True
        before = _free(tokens[i - 1]) if i > 0 else None
        after = _free(tokens[i + 1]) if i + 1 < len(tokens) else None
        target = _quantity_target(tok, before, after)
        if target is None:
            _lone_quantity(entry, tok, ctx)
            continue
        text = f"{target.text}{tok.text}" if target is before else f"{tok.text}{target.text}"
        if target.product is None and _is_leading_name(target, tokens, entry):
            # "云谷美猴王1份": the first word of a line is a nickname, not an unknown product.
            entry.member = target.text
            target.used = True
            _lone_quantity(entry, tok, ctx)
            continue
        if target.product is not None:
            target.used = True
            _add_item(text, target.product, tok.qty.qty, tok.qty.unit, target.match.score, entry, ctx)
        elif ctx.single is not None and not _looks_like_product(target):
            # "钟予馨2箱" in a one-product chain: a nickname glued to the amount.
            _add_item(tok.text, ctx.single, tok.qty.qty, tok.qty.unit, 90.0, entry, ctx)
        else:
            target.used = True
            reason = target.match.reason if target.match else "没认出商品"
            entry.unmatched.append(Unmatched(text, reason, tok.qty.qty, tok.qty.unit))


def _is_leading_name(target: _Tok, tokens: list[_Tok], entry: Entry) -> bool:
    if entry.member is not None or _looks_like_product(target):
        return False
    first_word = next((t for t in tokens if t.qty is None), None)
    return first_word is target


def _free(tok: _Tok) -> _Tok | None:
    return tok if not tok.used and tok.qty is None else None


def _quantity_target(q: _Tok, before: _Tok | None, after: _Tok | None) -> _Tok | None:
    """The word a quantity belongs to: a product beside it, else a would-be product,
    else the word glued right before it ("榴莲1个")."""
    if before is not None and before.product is not None:
        return before
    if before is not None and before.end == q.start:
        return before
    for test in (lambda t: t.product is not None, _looks_like_product):
        for tok in (after, before):
            if tok is not None and test(tok):
                return tok
    return None


def _lone_quantity(entry: Entry, tok: _Tok, ctx: EntryContext) -> None:
    q = tok.qty
    product = ctx.single or _only_product_sold_by(q.unit, ctx)
    if product is not None:
        _add_item(tok.text, product, q.qty, q.unit, 90.0, entry, ctx)
    else:
        entry.unmatched.append(Unmatched(tok.text, "没写是哪个商品", q.qty, q.unit))


def _only_product_sold_by(unit: str, ctx: EntryContext) -> Product | None:
    if not unit:
        return None
    by_unit = [p for p in ctx.products if p.unit == unit]
    return by_unit[0] if len(by_unit) == 1 else None


def _add_item(text: str, product: Product, qty: float, unit: str, score: float, entry: Entry, ctx: EntryContext) -> None:
    """Add the item in the product's unit; a unit that cannot be converted is flagged instead."""
    unit = unit or product.unit
    if product.unit and unit != product.unit:
        factor = UNIT_FACTORS.get((unit, product.unit))
        if factor is None:
            entry.unmatched.append(Unmatched(text, f"单位对不上：{product.name}按{product.unit}卖", qty, unit))
            return
        qty, unit = round(qty * factor, 3), product.unit
    entry.items.append(Item(text=text, sku=product.sku, name=product.name, qty=qty, unit=unit, score=round(score, 1)))
