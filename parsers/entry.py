"""One entry line → Entry: who (address, nickname), what (items with quantities), notes,
corrections and cancellations, payment marks, and flags for whatever must be asked about.

The line is read in passes over its normalised text (each pass blanks what it explains, so
positions stay aligned with the text):
1. marks of payment (已付58), corrections and cancels (改成, 取消 …, see parsers/corrections.py)
   and the address;
2. numbers that are not amounts (times, money, phones, codes) and numbers nobody orders by
   (ranges, 1.2345, 1e308), which flag the line;
3. a stream of words and amounts; words become products (the catalog, the header's codes,
   glued words split), an amount attaches to the product beside it;
4. the corrections resolve what the line still orders and what it cancels;
5. every number on the line must be explained by now (parsers/accounting.py), every counted
   amount plausible; otherwise the line is flagged and the doubtful part not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

from parsers.accounting import Ledger, implausible
from parsers.corrections import Amount, Mark, Resolver, Step, find_marks
from parsers.identity import find_addresses, is_variety_modifier
from parsers.matching import NEAR_MISS, Match, ProductMatcher
from parsers.model import Entry, FlagKind, Item, MissKind, Product, Unmatched
from parsers.normalize import fold_key, normalize_line
from parsers.numbering import HAO_RE, NONE, Numbering, code_of
from parsers.quantity import (
    PACK_UNITS,
    UNIT_RE,
    QtyToken,
    bare_numbers,
    find_quantities,
    is_money,
    non_quantities,
    suspect_numbers,
)
from parsers.segment import cut, teach
from parsers.synonyms import HARMLESS_MODIFIERS, PACK_SPEC

# A payment mark, with the amount paid when written ("已付58", "已转账36.5元").
PAID_RE = re.compile(r"(?:已付款|已支付|已付|已转账|已转|已微信|已支付宝|已结)(?:\s{0,2}[:：]?\s{0,2}[¥￥]?\s{0,1}"
                     r"\d{1,6}(?:\.\d{1,2})?(?!\d)(?:\s{0,1}(?:元|块钱|块))?)?")
MINUS_ONE_RE = re.compile(r"(?<![\d\w])-\s{0,1}1(?![\d.])")
# Word separators between items and identity; "+" between names ("汉堡 + 鸡翅") too, and a
# colon except inside a time ("Tony：西瓜1个", "18:00取").
WORD_SPLIT_RE = re.compile(r"[\s,，、;；。!！?？/&|~～(（)）【】\[\]]+|\+(?!\s{0,2}\d)|(?<!\d)[:：]|[:：](?!\d)")
# A word: what lies between those separators.
_WORD_RE = re.compile(r"(?:[^\s,，、;；。!！?？/&|~～(（)）【】\[\]+:：]|\+(?=\s{0,2}\d)|(?<=\d)[:：](?=\d))+")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")
STRIP_CHARS = "-—_:：.·*()（）[]【】「」\"'“”‘’<>《》#@="
# Unit conversions a leader would accept without asking (to the product's unit).
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("公斤", "斤"): 2, ("kg", "斤"): 2, ("千克", "斤"): 2, ("KG", "斤"): 2, ("Kg", "斤"): 2,
    ("斤", "公斤"): 0.5, ("斤", "kg"): 0.5, ("克", "斤"): 1 / 500, ("g", "斤"): 1 / 500,
    ("两", "斤"): 0.1, ("打", "个"): 12, ("打", "只"): 12, ("打", "枚"): 12,
}
# Units that mean "a portion": in a one-product chain they are its unit ("一份" of 水饺 is a bag).
PORTIONS = frozenset({"份", "人", "位"})
ACCEPT_SCORE = 80.0
# Words around an item that carry no meaning for the order ("我要两斤苹果", "西瓜要大的").
FILLER_PREFIXES = ("我还要", "我要", "我的", "帮我", "再来", "还要", "要", "来", "订", "买", "加", "的")
FILLER_SUFFIXES = ("要",)
_FILLER_PREFIX_RE = re.compile("|".join(re.escape(p) for p in FILLER_PREFIXES))  # in order: the longest first
FILLER_WORDS = frozenset(FILLER_PREFIXES + FILLER_SUFFIXES + ("的", "了", "和", "跟", "还有", "各", "装", "一共", "共", "总共"))
# Words before an amount that make it part of an amount already given ("2份，其中1份少饭").
_PART_BEFORE = re.compile(r"(?:其中|另外|另|里面|含)\s{0,2}$")
_PART_AFTER = re.compile(r"^\s{0,2}(?:换|不要|少|多|加)")
_EACH_RE = re.compile(r"各\s{0,1}$")


@dataclass(eq=False, slots=True)
class _Tok:
    start: int
    end: int
    text: str
    qty: QtyToken | None = None
    match: Match | None = None
    product: Product | None = None
    mark: Mark | None = None
    code: str | None = None  # a product code written on the line ("3", "B")
    amounts: list[_Tok] = field(default_factory=list)  # amounts written for this product
    used: bool = False
    spec: bool = False  # an amount that is a pack size (5L, 30枚装)
    plain: bool = False  # a time, money or a code: never a product, never a name
    nickname: bool = False  # a first word with its own digits ("小雨123"): a name, no product
    dropped: bool = False  # a product that is not counted (a code conflict, a merge)


@dataclass
class EntryContext:
    """What an entry parser needs about its chain: the matcher, the header's product codes and
    whether it sells one thing."""

    matcher: ProductMatcher | None
    numbering: Numbering = NONE
    products: tuple[Product, ...] = ()
    single: Product | None = field(init=False, default=None)
    # How each glued word splits into products and words: nicknames and notes recur in every
    # chain of a group, and segmenting them is the dearest step of reading a line.
    splits: dict[str, tuple[_Piece, ...] | None] = field(init=False, default_factory=dict)
    # Names this context in caches for as long as the process lives (an id() may be reused).
    serial: int = field(init=False, default_factory=count().__next__, compare=False)
    by_unit: dict[str, tuple[Product, ...]] = field(init=False, default_factory=dict)
    packs: dict[Product, tuple[tuple[float, str], ...]] = field(init=False, default_factory=dict)
    numbers_in_names: re.Pattern | None = field(init=False, default=None)  # see _names_with_numbers

    def __post_init__(self) -> None:
        if self.matcher is not None:
            self.products = self.matcher.products
            teach(self.matcher.spellings)
        self.single = self.products[0] if len(self.products) == 1 else _the_meal(self.products)
        for product in self.products:
            self.by_unit[product.unit] = (*self.by_unit.get(product.unit, ()), product)
            if packs := _pack_sizes(product):
                self.packs[product] = packs
        if self.matcher is not None and self.matcher.numbers_in_names():
            numbers = self.matcher.numbers_in_names()
            chinese = "".join(sorted(n for n in numbers if not n.isdigit()))
            digits = r"\d+" if any(n.isdigit() for n in numbers) else ""
            self.numbers_in_names = re.compile("|".join(x for x in (digits, f"[{chinese}]" if chinese else "") if x))


# A lunch chain's set meal among its extras (套餐 beside 黑凉粉 and 小菜): a line naming only a
# person orders one of it, as in a one-product chain.
MEAL_WORDS = ("套餐", "盒饭", "便当", "份饭", "工作餐", "快餐", "午餐", "晚餐", "午饭", "晚饭")


def _the_meal(products: tuple[Product, ...]) -> Product | None:
    """The one set meal of a chain whose other products are extras: it costs at least half as
    much again as any of them (a menu of several dishes has no such meal)."""
    meals = [p for p in products if any(word in p.name for word in MEAL_WORDS)]
    if len(meals) != 1:
        return None
    meal = meals[0]
    others = [p.price for p in products if p is not meal]
    return meal if meal.price > 0 and all(meal.price >= price * Decimal("1.5") for price in others) else None


def parse_entry(raw: str, seq: int, ctx: EntryContext, *, normalized: bool = False) -> Entry:
    """Read one entry line. `normalized`: the caller already ran normalize_line on it (a chain's
    lines are normalised once, when the chain's structure is read)."""
    entry = Entry(seq=seq, raw=raw.strip())
    text = (raw if normalized else normalize_line(raw)).strip()
    book = Ledger(text)
    masked = _take_paid(entry, book, text)
    marks = find_marks(masked)
    masked = _blank_all(masked, [(m.start, m.end) for m in marks])
    masked = _take_addresses(entry, book, masked, ctx.numbering.letters)
    if ctx.matcher is None or not ctx.products:
        entry.cancel = any(m.mark is Mark.CANCEL for m in marks)
        _identity_and_note(entry, masked)
        return entry
    masked, doubtful = _take_suspects(book, masked)
    words = masked  # words keep their times and money ("18:00取" is a note); amounts do not
    masked, plain = _take_non_quantities(book, masked, ctx, doubtful)
    minus_one = MINUS_ONE_RE.search(masked) if "-" in masked else None
    if minus_one and not find_quantities(_blank(masked, minus_one.start(), minus_one.end())):
        book.explain(minus_one.start(), minus_one.end())
        masked = _blank(masked, minus_one.start(), minus_one.end())
        entry.cancel = True
    tokens = _tokens(masked, words, book, marks, ctx, plain)
    _read(entry, tokens, book, ctx, doubtful)
    return entry


# --- the first passes: marks, addresses, numbers that are no amounts ----------------------


def _take_paid(entry: Entry, book: Ledger, text: str) -> str:
    if "已" not in text:
        return text
    for m in PAID_RE.finditer(text):
        entry.paid = True
        book.explain(m.start(), m.end())
        text = _blank(text, m.start(), m.end())
    return text


def _take_addresses(entry: Entry, book: Ledger, text: str, codes: frozenset[str]) -> str:
    for address in find_addresses(text, keep_codes=codes):
        if entry.address is None:
            entry.address = address.group(0).strip()
        book.explain(address.start(), address.end())
        text = _blank(text, address.start(), address.end())
    return text


def _take_suspects(book: Ledger, text: str) -> tuple[str, list[tuple[int, int]]]:
    """Blank and flag the amounts nobody orders by (a range, 1.2345); return the text and
    their spans: the product they belong to is not counted."""
    doubtful = []
    for span in suspect_numbers(text):
        book.flag(FlagKind(span.kind), span.start, span.end)
        text = _blank(text, span.start, span.end)
        doubtful.append((span.start, span.end))
    return text, doubtful


def _take_non_quantities(book: Ledger, text: str, ctx: EntryContext, doubtful: list) -> tuple[str, list]:
    """Blank the numbers that are not amounts (times, money, phones, codes); return the text
    and their spans."""
    plain = []
    for span in non_quantities(text, keep_codes=ctx.numbering.letters):
        plain.append((span.start, span.end))
        if is_money(span) and text[span.end:span.end + 1] == "的" and not UNIT_RE.search(text[span.end - 1]):
            # "豆腐2块钱的": an amount of money's worth, not a number of pieces
            book.flag(FlagKind.UNEXPLAINED_NUMBER, span.start, span.end + 1, "worth")
            doubtful.append((span.start, span.end + 1))
        else:
            book.explain(span.start, span.end)
        text = _blank(text, span.start, span.end)
    return text, plain


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _blank_all(text: str, spans) -> str:
    for start, end in spans:
        text = _blank(text, start, end)
    return text


def _identity_and_note(entry: Entry, text: str) -> None:
    words = [w for w in (_clean(x) for x in WORD_SPLIT_RE.split(text)) if w]
    if words:
        entry.member = words[0]
        rest = text.split(words[0], 1)[-1] if words[0] in text else " ".join(words[1:])
        entry.note = _note_text(rest)


def _note_text(text: str) -> str | None:
    note = " ".join(w for w in (x.strip(STRIP_CHARS + " ") for x in re.split(r"\s+", text)) if w)
    return note.strip(",，、;；") or None


_STRIP_SET = frozenset(STRIP_CHARS)


def _clean(word: str) -> str:
    if word and word.isalnum() and word[0] not in _STRIP_SET and word[-1] not in _STRIP_SET:
        return word  # most words: nothing to strip, not punctuation
    word = word.strip(STRIP_CHARS)
    return "" if not word or _PUNCT_ONLY.match(word) else word


# --- tokens ----------------------------------------------------------------------------


def _tokens(text: str, words: str, book: Ledger, marks, ctx: EntryContext, plain) -> list[_Tok]:
    """Amounts found in `text` (everything that is no amount blanked), words in `words` (the
    same line with its times and money kept)."""
    names = _names_with_numbers(book.text, ctx)
    for start, end in names:
        book.explain(start, end)
    qtys = [q for q in find_quantities(text) if not any(s <= q.start and q.end <= e for s, e in names)]
    tokens: list[_Tok] = []
    pos = 0
    first = _first_word_start(words)
    explained = names + book.explained
    for q in qtys:
        tokens.extend(_words(words, pos, q.start, ctx, first, explained, plain))
        tokens.append(_Tok(q.start, q.end, text[q.start:q.end], qty=q))
        pos = q.end
    tokens.extend(_words(words, pos, len(words), ctx, first, explained, plain))
    tokens.extend(_Tok(m.start, m.end, book.text[m.start:m.end], mark=m.mark) for m in marks)
    tokens.sort(key=lambda t: t.start)
    return tokens


_WORD_CHAR = re.compile(r"[^\s" + re.escape(STRIP_CHARS) + r",，、;；]")


def _first_word_start(text: str) -> int:
    m = _WORD_CHAR.search(text)
    return m.start() if m else 0


def _names_with_numbers(text: str, ctx: EntryContext) -> list[tuple[int, int]]:
    """Where a product's own name with a number in it stands on the line ("九节虾", "5L花生油",
    "农夫山泉550ml*24"): that number is the name's, not an amount."""
    if ctx.numbers_in_names is None:
        return []
    lower = text.lower()
    spans = []
    for m in ctx.numbers_in_names.finditer(lower):
        for spelling, _product in ctx.matcher.numeric_spellings(m.group(0)):
            lo = max(0, m.end() - len(spelling))
            at = lower.find(spelling, lo, m.start() + len(spelling))
            if at >= 0 and at <= m.start() and m.end() <= at + len(spelling):
                spans.append((at, at + len(spelling)))
    return spans


def _words(text: str, start: int, end: int, ctx: EntryContext, first: int, names, plain) -> list[_Tok]:
    out: list[_Tok] = []
    letters = ctx.numbering.letters
    for m in _WORD_RE.finditer(text, start, end):
        piece = m.group(0)
        plain_word = piece.isalpha() and "号" not in piece and not (letters and piece.isascii())
        if plain_word and piece[0] not in _STRIP_SET and piece[-1] not in _STRIP_SET:
            out.append(_Tok(m.start(), m.end(), piece))  # a plain word: no digits, codes, times
            continue
        word = _clean(piece)
        if not word:
            continue
        word_start = m.start() + (piece.find(word) if word is not piece else 0)
        if not _NEEDS_SPLIT.search(word) and not (letters and word[0].isascii()):
            out.append(_Tok(word_start, word_start + len(word), word))  # no digits, codes, times
            continue
        for part_start, part, is_plain in _plain_split(word, word_start, plain):
            if is_plain:
                out.append(_Tok(part_start, part_start + len(part), part, plain=True, match=Match(None, 0.0)))
                continue
            for bare_start, bare in _bare_split(part, part_start, part_start == first, ctx, names):
                out.extend(_code_split(bare, bare_start, ctx, names))
    return out


# A word needs looking into only with digits (amounts, times, codes) or 号 / Chinese numerals
# before 号 (product numbers); anything else is one word.
_NEEDS_SPLIT = re.compile(r"[0-9号]")


def _plain_split(word: str, start: int, plain) -> list[tuple[int, str, bool]]:
    """Cut a word where a time or money starts and ends ("红包30", "18:00取"): those parts are
    notes, never a product."""
    cuts = sorted({max(0, a - start) for a, b in plain if a < start + len(word) and b > start}
                  | {min(len(word), b - start) for a, b in plain if a < start + len(word) and b > start})
    if not cuts:
        return [(start, word, False)]
    out = []
    edges = [0, *cuts, len(word)]
    for a, b in zip(edges, edges[1:], strict=False):
        if b > a:
            inside = any(x <= start + a and start + b <= y for x, y in plain)
            out.append((start + a, word[a:b], inside))
    return out


def _bare_split(word: str, start: int, is_first: bool, ctx: EntryContext, names) -> list[tuple[int, str | QtyToken]]:
    """Digits standing in a word ("香蕉3", "面包2", "1自备饭盒") are an amount without a unit;
    a nickname's own digits ("小雨123") stay with it."""
    codes = [(m.start(), m.end()) for m in HAO_RE.finditer(word)] if "号" in word else []
    hits = [(a, b) for a, b in bare_numbers(word)
            if not any(s <= start + a and start + b <= e for s, e in names)
            and not any(s <= a and b <= e for s, e in codes)]
    if not hits:
        return [(start, word)]
    if is_first and hits[-1][1] == len(word) and len(hits) == 1:
        head = word[: hits[0][0]]
        if head and not _holds_product(head, ctx):
            return [(start, _Nickname(word))]
    out: list[tuple[int, str | QtyToken]] = []
    pos = 0
    for a, b in hits:
        if a > pos:
            out.extend(_cleaned_part(word, pos, a, start))
        out.append((start + a, QtyToken(start + a, start + b, float(word[a:b]), "", "bare")))
        pos = b
    if pos < len(word):
        out.extend(_cleaned_part(word, pos, len(word), start))
    return out


def _cleaned_part(word: str, a: int, b: int, start: int) -> list[tuple[int, str]]:
    part = word[a:b]
    clean = _clean(part)
    return [(start + a + part.find(clean), clean)] if clean else []


class _Nickname(str):
    """A word known to be a member's name."""


def _holds_product(word: str, ctx: EntryContext) -> bool:
    if not ctx.matcher.could_start(word):
        return False
    match = ctx.matcher.match(word)
    if match.product is not None:
        return True
    return len(word) >= 3 and any(t.product is not None for t in _split_word(_Tok(0, len(word), word), ctx))


def _code_split(part, start: int, ctx: EntryContext, explained) -> list[_Tok]:
    """"3号x1" → the header's third product; "k🐮" → the header's K dish; the rest stays a word."""
    if isinstance(part, QtyToken):
        return [_Tok(part.start, part.end, str(part.qty).removesuffix(".0"), qty=part)]
    if isinstance(part, _Nickname):
        return [_Tok(start, start + len(part), str(part), nickname=True)]
    word = part
    m = HAO_RE.search(word)
    if m and any(s <= start + m.start() < e for s, e in explained):
        m = None  # "12月3号取": a date
    if m:
        toks = []
        if m.start() > 0:
            toks.append(_Tok(start, start + m.start(), word[: m.start()]))
        toks.append(_code_tok(m.group(0), start + m.start(), ctx))
        if m.end() < len(word):
            toks.append(_Tok(start + m.end(), start + len(word), word[m.end():]))
        return toks
    letters = ctx.numbering.letters
    alone = len(word) == 1 or not word[1].isascii()  # "B", "k🐮", "h三鲜" — not "Bruce"
    if letters and word[0].isascii() and word[0].isalpha() and alone and word[0].upper() in letters:
        toks = [_code_tok(word[0], start, ctx)]
        if len(word) > 1:
            toks.append(_Tok(start + 1, start + len(word), word[1:]))
        return toks
    return [_Tok(start, start + len(word), word)]


def _code_tok(text: str, start: int, ctx: EntryContext) -> _Tok:
    code = code_of(text.replace(" ", ""))
    product = ctx.numbering.codes.get(code) if code else None
    return _Tok(start, start + len(text), text, code=code or text, product=product,
                match=Match(product, 100.0, kind="code") if product else None)


# --- reading the stream ------------------------------------------------------------------


def _read(entry: Entry, tokens: list[_Tok], book: Ledger, ctx: EntryContext, doubtful) -> None:
    tokens = _identify(tokens, entry, ctx)
    _absorb_pack_sizes(tokens, book, ctx)
    _doubt(tokens, doubtful)
    _settle_codes(tokens, book)
    _attach_amounts(entry, tokens, book, ctx)
    unmatched_words = _words_left(entry, tokens, book, ctx)
    steps = _steps(tokens, entry, book, ctx)
    resolution = Resolver(ctx.single, _converter(ctx)).run(steps)
    for kind, text in resolution.flags:
        book.add_flag(kind, text)
    for ordered in resolution.ordered:
        _add_item(entry, book, ordered.text, ordered.product, 1.0 if ordered.qty is None else ordered.qty,
                  ordered.product.unit, ordered.score)
    entry.cancel_items = resolution.cancelled
    entry.cancel = entry.cancel or resolution.cancel
    entry.unmatched.extend(unmatched_words)
    _one_portion(entry, book, ctx)
    book.flag_unexplained()
    read_nothing = not (entry.items or entry.unmatched or book.flags or entry.cancel)
    if read_nothing and len(ctx.products) > 1 and (entry.member or entry.address or entry.note):
        book.add_flag(FlagKind.NOTHING_ORDERED, entry.raw[:40])
    entry.flags = book.flags


def _identify(tokens: list[_Tok], entry: Entry, ctx: EntryContext) -> list[_Tok]:
    """Match every word; a long word that is not a product may hold one ("王姐西瓜"); a
    nickname that holds a product's name ("橙子控") stays a nickname."""
    out: list[_Tok] = []
    first_word = True
    for tok in tokens:
        if tok.qty is not None or tok.mark is not None or tok.code is not None or tok.plain or tok.nickname:
            out.append(tok)
            if tok.code is not None:
                first_word = False
            continue
        if tok.text in FILLER_WORDS:
            continue
        tok = _without_filler(tok, ctx)
        if tok is None:
            continue
        if _accepted(tok.match):
            tok.product = tok.match.product
            out.append(tok)
        elif len(tok.text) >= 4 or (len(tok.text) >= 2 and tok.match.near is None and tok.match.kind != "ambiguous"):
            parts = _split_word(tok, ctx)
            if first_word and _is_nickname(parts):
                out.append(tok)
            else:
                out.extend(parts)
        else:
            out.append(tok)
        first_word = False
    return out


def _accepted(match: Match | None) -> bool:
    return (match is not None and match.product is not None and match.score >= ACCEPT_SCORE
            and match.kind != "around")


def _is_nickname(parts: list[_Tok]) -> bool:
    """"橙子控": a product's name at the start of a first word with a short tail is a name."""
    if len(parts) != 2 or parts[0].product is None or parts[1].product is not None:
        return False
    tail = parts[1].text
    return 1 <= len(tail) <= 2 and tail not in FILLER_WORDS and not (parts[1].match and parts[1].match.near)


def _without_filler(tok: _Tok, ctx: EntryContext) -> _Tok | None:
    """Match the word; if it is not a product, try again without filler words at its ends."""
    tok.match = ctx.matcher.match(tok.text)
    if tok.match.product is not None and tok.match.kind != "around":
        return tok
    text, start = tok.text, tok.start
    prefix = _FILLER_PREFIX_RE.match(text)
    if prefix:
        text, start = text[prefix.end():], start + prefix.end()
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
    return stripped if _accepted(stripped.match) else tok


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
    if not ctx.matcher.could_start(tok.text):
        return [tok]
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
        prefix = tok.text[rest_start:pos]
        if prefix and not out and (is_variety_modifier(prefix) or prefix in _DIFFERENT_WHEN_GLUED):
            # "小番茄", "红心火龙果": another product of the same kind, never the one sold
            return [_Tok(tok.start, tok.end, tok.text, match=Match(
                None, 70.0, f"本团没有“{tok.text}”（有{m.product.name}）", near=m.product))]
        if pos > rest_start and prefix not in HARMLESS_MODIFIERS:
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


_DIFFERENT_WHEN_GLUED: frozenset[str] = frozenset()


def _word_toks(tok: _Tok, start: int, end: int, ctx: EntryContext) -> list[_Tok]:
    """The words between products in a split word; fillers ("改成", "的") are dropped."""
    text = tok.text[start:end]
    if text in FILLER_WORDS:
        return []
    return [_Tok(tok.start + start, tok.start + end, text, match=ctx.matcher.match(text))]


def _looks_like_product(tok: _Tok | None) -> bool:
    m = tok.match if tok is not None else None
    return (m is not None and m.product is None and (m.near is not None or m.kind == "ambiguous")
            and m.score >= NEAR_MISS)


# --- pack sizes and codes ------------------------------------------------------------------


def _absorb_pack_sizes(tokens: list[_Tok], book: Ledger, ctx: EntryContext) -> None:
    """"5L花生油", "大米 10斤 1袋", "鸡蛋30枚装x1": a pack size beside its product is part of the
    name; so is a "*24" right after it."""
    for i, tok in enumerate(tokens):
        if tok.qty is None or tok.qty.kind not in ("unit", "times"):
            continue
        followed_by_zhuang = book.text[tok.end:tok.end + 1] == "装"
        after_spec = i > 0 and tokens[i - 1].spec and tok.qty.kind == "times" and tokens[i - 1].end == tok.start
        if not (ctx.packs or followed_by_zhuang or after_spec or tok.qty.unit in _VOLUME_UNITS):
            continue  # no product sold in packs, no 装, no litres: no pack size here
        neighbours = [t for t in (_prev(tokens, i), _next(tokens, i)) if t is not None and t.product is not None]
        if not neighbours and not followed_by_zhuang:
            continue
        spec = (tok.qty.unit in _VOLUME_UNITS or followed_by_zhuang
                or any(_is_pack_of(tok, t.product, ctx) for t in neighbours))
        if (spec and tok.qty.kind == "unit") or after_spec:
            tok.spec = tok.used = True
            book.explain(tok.start, tok.end)
    for i, tok in enumerate(tokens):
        if tok.qty is None and tok.product is None and tok.text == "装" and i > 0 and tokens[i - 1].spec:
            tok.used = True


_VOLUME_UNITS = PACK_UNITS - {"枚"}


def _pack_sizes(product: Product) -> tuple[tuple[float, str], ...]:
    """The pack sizes in a product's names ("东北大米10斤装" → (10, "10斤装"))."""
    out = []
    for spelling in (product.name, *product.aliases):
        for spec in PACK_SPEC.finditer(spelling):
            number = re.match(r"\d+(?:\.\d+)?", spec.group(0))
            if number:
                out.append((float(number.group(0)), spec.group(0)))
    return tuple(out)


def _is_pack_of(tok: _Tok, product: Product, ctx: EntryContext) -> bool:
    q = tok.qty
    if product.unit == q.unit:
        return False
    return any(number == q.qty and q.unit in spec for number, spec in ctx.packs.get(product, ()))


def _doubt(tokens: list[_Tok], doubtful) -> None:
    """A product whose amount is doubtful ("苹果三四斤", "猪肉馅1.2345斤", "西瓜-1") is not
    counted at all: the line is asked about instead."""
    for start, end in doubtful:
        before = [t for t in tokens if t.product is not None and 0 <= start - t.end <= 1]
        after = [t for t in tokens if t.product is not None and 0 <= t.start - end <= 1]
        for tok in before or after:
            tok.dropped = tok.used = True


def _settle_codes(tokens: list[_Tok], book: Ledger) -> None:
    """A header code and the name written beside it are one item when they agree ("B 宫保鸡丁"),
    asked about when they do not ("B 红烧肉" where B is another dish); an unknown code is asked
    about (never read by the catalog's order)."""
    for i, tok in enumerate(tokens):
        if tok.code is None:
            continue
        book.explain(tok.start, tok.end)
        if tok.product is None:
            book.add_flag(FlagKind.UNKNOWN_PRODUCT_NUMBER, tok.text, tok.code)
            continue
        beside = _next(tokens, i, skip_amounts=True)
        if beside is None or beside.product is None or beside.code is not None:
            continue
        if beside.product is tok.product:
            beside.dropped = True  # the same dish named twice: one item
            tok.end = max(tok.end, beside.end)
        else:
            book.add_flag(FlagKind.CODE_CONFLICT, f"{tok.text} {beside.text}", tok.code)
            tok.dropped = beside.dropped = True


# --- amounts -------------------------------------------------------------------------------


def _attach_amounts(entry: Entry, tokens: list[_Tok], book: Ledger, ctx: EntryContext) -> None:
    """Amounts with a unit first, then bare numbers: "502 苹果5斤" gives 苹果 its 5斤 before 502
    looks for a product beside it."""
    single_amounts = 0
    order = [i for i, t in enumerate(tokens) if t.qty is not None and t.qty.kind != "bare"]
    order += [i for i, t in enumerate(tokens) if t.qty is not None and t.qty.kind == "bare"]
    for i in order:
        tok = tokens[i]
        if tok.used:
            continue
        tok.used = True
        book.explain(tok.start, tok.end)
        if _negative(tok, tokens, i, book):
            continue
        before, after = _prev(tokens, i), _next(tokens, i)
        if (before is not None and before.qty is None and before.product is None and before.mark is None
                and before.end == tok.start and UNIT_RE.fullmatch(before.text)):
            before.used = True  # "豆腐 块x2": the unit written before its multiplier
            before = _prev(tokens, tokens.index(before))
        each = _each(tokens, i, book)
        if each:
            for product in each:
                product.amounts.append(tok)
            continue
        if before is not None and before.mark is not None and not _glued_before(tok, after):
            before.amounts.append(tok)
            continue
        target = _target(tok, before, after)
        if target is None and tok.qty.kind == "plus":
            target = _owner_of_amount_before(tokens, i)
        if target is not None and target.dropped:
            continue
        if target is not None and target.product is not None:
            target.amounts.append(tok)
            if tok.qty.kind == "plus" and len(target.amounts) > 1:
                pass  # "奶酪棒1袋 加1袋": one more
            continue
        if target is not None and target.code is not None:
            continue  # an unknown code's amount: the code is asked about
        if target is not None and _by_unit(target, tok, ctx):
            target.amounts.append(tok)
            continue
        if target is not None and target is _first_free_word(tokens) and entry.member is None and not _looks_like_product(target):
            entry.member = target.text  # "云谷美猴王1份", "钟予馨2盒": a nickname, then the amount
            target.used = True
            book.explain(target.start, target.end)
            target = None
        if target is not None and not (ctx.single is not None and not _looks_like_product(target)):
            target.used = True
            reason = target.match.reason if target.match else "没写是哪个商品"
            kind = _miss_kind(target.match)
            entry.unmatched.append(Unmatched(_joined(target, tok), reason, tok.qty.qty, tok.qty.unit, kind))
            continue
        single_amounts = _lone_amount(entry, tok, tokens, book, ctx, single_amounts)


def _each(tokens: list[_Tok], i: int, book: Ledger) -> list[_Tok]:
    """"西瓜、葡萄各2": one amount for each product named before "各"."""
    if "各" not in book.text or not _EACH_RE.search(book.text[max(0, tokens[i].start - 3): tokens[i].start]):
        return []
    group = []
    for tok in reversed(tokens[:i]):
        if tok.product is None or tok.amounts or tok.mark is not None:
            break
        group.append(tok)
    return group[::-1] if len(group) >= 2 else []


def _negative(tok: _Tok, tokens: list[_Tok], i: int, book: Ledger) -> bool:
    """"西瓜-3个": a negative amount is no order; it is asked about."""
    text = book.text
    dash = tok.start - 1
    while dash >= 0 and text[dash] == " ":
        dash -= 1
    if dash < 0 or text[dash] not in "-－—":
        return False
    before = _prev(tokens, i)
    glued_to_product = before is not None and before.product is not None and before.end == dash
    lone = dash == 0 or text[dash - 1] == " "
    if glued_to_product or lone:
        book.flag(FlagKind.NEGATIVE_QUANTITY, dash, tok.end)
        if glued_to_product:
            before.dropped = before.used = True
        return True
    return False


def _glued_before(tok: _Tok, after: _Tok | None) -> bool:
    """"取消一箱橘子": an amount right before a product belongs to it even after a mark."""
    return after is not None and after.product is not None and not after.amounts and after.start - tok.end <= 1


def _owner_of_amount_before(tokens: list[_Tok], i: int) -> _Tok | None:
    """"牛奶1箱 加1箱": the product the amount before this one belongs to."""
    previous = _prev(tokens, i)
    if previous is None or previous.qty is None:
        return None
    return next((t for t in tokens if previous in t.amounts and t.product is not None), None)


def _target(q: _Tok, before: _Tok | None, after: _Tok | None) -> _Tok | None:
    """The word an amount belongs to: the product before it, else a would-be product glued
    before it ("榴莲1个"), else a product or would-be product after it. An amount without a
    unit only belongs to a product right beside it."""
    before = before if before is not None and before.mark is None else None
    after = after if after is not None and after.mark is None else None

    if q.qty.kind == "bare":
        for tok, gap in ((before, None if before is None else q.start - before.end),
                         (after, None if after is None else after.start - q.end)):
            if tok is not None and gap <= 1 and not tok.amounts and not tok.used and (
                    tok.product is not None or _looks_like_product(tok)):
                return tok
        return None
    if before is not None and (before.product is not None or before.code is not None) and (
            not before.amounts or q.qty.kind == "plus"):
        return before
    if before is not None and before.product is None and before.code is None and not before.used and before.end == q.start:
        return before
    for test in (lambda t: (t.product is not None or t.code is not None) and not t.amounts, _looks_like_product):
        for tok in (after, before):
            if tok is not None and not tok.used and test(tok):
                return tok
    return None


def _by_unit(target: _Tok, q: _Tok, ctx: EntryContext) -> bool:
    """"牛奶2箱" where 纯牛奶 and 鲜牛奶 both fit the word but only 纯牛奶 is sold by the box."""
    m = target.match
    if m is None or m.kind != "ambiguous" or not q.qty.unit:
        return False
    head = fold_key(target.text)[-1:]
    fits = [p for p in m.candidates if p.unit == q.qty.unit]
    if len(fits) != 1 or any(fold_key(p.name)[-1:] != head for p in m.candidates):
        return False
    target.product = fits[0]
    target.match = Match(fits[0], 85.0, kind="unit")
    return True


def _lone_amount(entry: Entry, tok: _Tok, tokens: list[_Tok], book: Ledger, ctx: EntryContext, single_amounts: int) -> int:
    q = tok.qty
    if q.unit == "块" and not (ctx.single is not None and ctx.single.unit == "块"):
        return single_amounts  # "白菜1颗 6块": a price, not a product sold by the piece
    product = ctx.single or _only_product_sold_by(q.unit, ctx)
    if product is ctx.single and product is not None:
        if single_amounts and _part_of_earlier(book.text, tok):
            return single_amounts  # "2份，其中1份少饭", "4份（…），2份换主食"
        if single_amounts:
            book.add_flag(FlagKind.EXTRA_QUANTITY, tok.text)
            return single_amounts
        tok.product = product
        return single_amounts + 1
    if product is not None:
        tok.product = product
        return single_amounts
    if q.kind == "bare":
        if 100 <= q.qty < 10000 and float(q.qty).is_integer() and entry.address is None:
            entry.address = tok.text  # "王姐 502 西瓜1个": a room
            return single_amounts
        book.add_flag(FlagKind.UNEXPLAINED_NUMBER, tok.text)
        return single_amounts
    entry.unmatched.append(Unmatched(tok.text, "没写是哪个商品", q.qty, q.unit, MissKind.NO_PRODUCT))
    return single_amounts


def _part_of_earlier(text: str, tok: _Tok) -> bool:
    before = text[max(0, tok.start - 6): tok.start]
    after = text[tok.end: tok.end + 4]
    open_bracket = text.rfind("(", 0, tok.start) > text.rfind(")", 0, tok.start) or \
        text.rfind("（", 0, tok.start) > text.rfind("）", 0, tok.start)
    return bool(_PART_BEFORE.search(before) or _PART_AFTER.match(after) or open_bracket)


def _only_product_sold_by(unit: str, ctx: EntryContext) -> Product | None:
    if not unit:
        return None
    by_unit = ctx.by_unit.get(unit, ())
    return by_unit[0] if len(by_unit) == 1 else None


def _miss_kind(match: Match | None) -> MissKind:
    if match is None:
        return MissKind.NO_PRODUCT
    if match.kind == "ambiguous":
        return MissKind.AMBIGUOUS
    return MissKind.NEAR if match.near is not None else MissKind.UNKNOWN


def _joined(target: _Tok, q: _Tok) -> str:
    return f"{target.text}{q.text}" if target.start < q.start else f"{q.text}{target.text}"


def _prev(tokens: list[_Tok], i: int) -> _Tok | None:
    for tok in reversed(tokens[:i]):
        if not tok.spec and not (tok.used and tok.text == "装"):
            return tok
    return None


def _next(tokens: list[_Tok], i: int, *, skip_amounts: bool = False) -> _Tok | None:
    for tok in tokens[i + 1:]:
        if tok.spec or (skip_amounts and tok.qty is not None):
            continue
        return tok
    return None


def _first_free_word(tokens: list[_Tok]) -> _Tok | None:
    return next((t for t in tokens if t.qty is None and t.mark is None), None)


# --- what is left: products without amounts, would-be products, names and notes ------------


def _words_left(entry: Entry, tokens: list[_Tok], book: Ledger, ctx: EntryContext) -> list[Unmatched]:
    unmatched = []
    note_words: list[_Tok] = []
    seen_item = False
    for i, tok in enumerate(tokens):
        if tok.used or tok.qty is not None or tok.mark is not None:
            continue
        if tok.product is not None or tok.code is not None:
            seen_item = True
            continue
        if _looks_like_product(tok) and (entry.member or i > 0 or seen_item):
            unmatched.append(Unmatched(tok.text, tok.match.reason, 1.0, "", _miss_kind(tok.match)))
            continue
        if entry.member is None and not seen_item and not note_words and not tok.plain:
            entry.member = tok.text
            book.explain(tok.start, tok.end)
            continue
        note_words.append(tok)
    entry.note = _joined_words(note_words)
    return unmatched


def _joined_words(words: list[_Tok]) -> str | None:
    """Words as written: side by side where they touch ("18:00取"), else a space between."""
    out = ""
    for i, tok in enumerate(words):
        out += ("" if i == 0 or words[i - 1].end == tok.start else " ") + tok.text
    return out or None


def _steps(tokens: list[_Tok], entry: Entry, book: Ledger, ctx: EntryContext) -> list[Step]:
    steps: list[Step] = []
    for tok in tokens:
        if tok.dropped:
            continue
        if tok.mark is not None:
            glued = tok.start > 0 and book.text[tok.start - 1] not in " ,，、;；。"
            steps.append(Step(mark=tok.mark, amounts=[_amount(a) for a in tok.amounts], text=tok.text, glued=glued))
        elif tok.product is not None and (tok.qty is None or not tok.spec):
            amounts = [_amount(a) for a in tok.amounts] if tok.qty is None else [_amount(tok)]
            amounts = _convertible(entry, tok, amounts, ctx)
            if amounts is None:
                continue
            if tok.qty is not None or not tok.amounts:
                text = tok.text
            else:
                text = "".join(t.text for t in sorted([tok, *tok.amounts], key=lambda t: t.start))
            score = tok.match.score if tok.match else 90.0
            steps.append(Step(product=tok.product, amounts=amounts, text=text, score=score))
    return steps


def _amount(tok: _Tok) -> Amount:
    return Amount(tok.qty.qty, tok.qty.unit, tok.text)


def _convertible(entry: Entry, tok: _Tok, amounts: list[Amount], ctx: EntryContext) -> list[Amount] | None:
    """Amounts in a unit the product is not sold by (and cannot be converted to) are asked
    about; a product left with none of its amounts is not counted at all."""
    product = tok.product
    if all(not a.unit or a.unit == product.unit for a in amounts):
        return amounts  # the product's own unit, or none written: nothing to convert
    good = [a for a in amounts if _to_unit(a, product, ctx.single is not None) is not None]
    for a in amounts:
        if not any(a is g for g in good):
            text = f"{tok.text}{a.text}" if tok.qty is None else a.text
            entry.unmatched.append(Unmatched(text, f"单位对不上：{product.name}按{product.unit}卖", a.qty, a.unit,
                                             MissKind.UNIT))
    if amounts and not good:
        return None
    return good


def _to_unit(amount: Amount, product: Product, single: bool = False) -> float | None:
    unit = amount.unit or product.unit
    if not product.unit or unit == product.unit:
        return amount.qty
    if unit in PORTIONS and (single or product.unit in PORTIONS):
        return amount.qty  # "一份", "两个人的": a portion of what a one-product chain sells
    factor = UNIT_FACTORS.get((unit, product.unit))
    return None if factor is None else round(amount.qty * factor, 3)


def _converter(ctx: EntryContext):
    single = ctx.single is not None
    return lambda amount, product: _to_unit(amount, product, single)


def _add_item(entry: Entry, book: Ledger, text: str, product: Product, qty: float, unit: str, score: float) -> None:
    item = Item(text=text, sku=product.sku, name=product.name, qty=qty, unit=unit, score=round(score, 1))
    why = implausible(item)
    if why is not None:
        book.add_flag(FlagKind.IMPLAUSIBLE_QUANTITY, text, why)
        return
    entry.items.append(item)


def _one_portion(entry: Entry, book: Ledger, ctx: EntryContext) -> None:
    """In a one-product chain a line naming only a person or a room orders one portion."""
    if ctx.single is None or entry.items or entry.unmatched or book.flags or entry.cancel:
        return
    if entry.member or entry.address or entry.note:
        entry.items.append(Item(text="", sku=ctx.single.sku, name=ctx.single.name, qty=1.0,
                                unit=ctx.single.unit, score=90.0))
