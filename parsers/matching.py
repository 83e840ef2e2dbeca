"""Product matching: which catalog product does a word like "西瓜" or "杨光玫瑰" mean?

Confidence comes in tiers, tried in order (`ProductMatcher.TIERS`: exact, contained, same
sound, abbreviation, fuzzy); the first tier that finds exactly one product wins, a tier that
finds several reports them as ambiguous. Each product is known by its name, its aliases and
what parsers/synonyms.py derives from them (番茄 for 西红柿, 芒果 for 小台芒, 花生油 for
5L花生油). A fuzzy match is accepted only when every character that differs is a
homophone of the catalog's (people type pinyin, so typos sound right): "鸭蛋" never becomes
"鸡蛋", "羊肉馅" never "猪肉馅". What no tier accepts is reported with a reason, never guessed.

Candidates are narrowed through an index of characters and pinyin syllables before anything
is scored, so a 10,000-product catalog costs about as much as a 30-product one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from parsers.model import Product
from parsers.normalize import fold_key, normalize_line
from parsers.synonyms import KINDS, SYNONYMS, Vocabulary

FUZZY_ACCEPT = 80.0  # rapidfuzz ratio needed before the homophone check
NEAR_MISS = 50.0  # below this a word is simply not a product; above it we explain
SIMILAR = 60.0  # this close, a word is a near miss even without the same head character
MAX_CANDIDATES = 40
MAX_POSTINGS = 2000  # a character in thousands of names ("号", "米") narrows nothing
MAX_BIGRAM_POSTINGS = 600  # a bigram in more names than this votes only if no rarer one does


@dataclass(frozen=True)
class Match:
    product: Product | None
    score: float
    reason: str = ""  # why nothing matched, in Chinese, for the member
    near: Product | None = None  # the product it looked like, when rejected
    kind: str = ""  # which tier matched: exact part around sound abbrev fuzzy; or ambiguous
    candidates: tuple[Product, ...] = ()  # for kind "ambiguous": the products that fit


@lru_cache(maxsize=1)
def _readings_table() -> dict[int, str]:
    # The single-character table only: the phrase dictionary costs ~50 MB and we compare
    # characters, not words.
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@lru_cache(maxsize=65536)
def readings(ch: str) -> frozenset[str]:
    """Toneless pinyin readings of one character ("沙" → {sha, suo}); other characters stand for themselves."""
    raw = _readings_table().get(ord(ch))
    if raw is None:
        return frozenset((ch,))
    return frozenset(_toneless(r) for r in raw.split(","))


def _toneless(reading: str) -> str:
    plain = unicodedata.normalize("NFD", reading)
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("ü", "v")


@lru_cache(maxsize=65536)
def pinyin_of(text: str) -> tuple[frozenset[str], ...]:
    return tuple(readings(ch) for ch in text)


def sounds_alike(a: tuple[frozenset[str], ...], b: tuple[frozenset[str], ...]) -> bool:
    return len(a) == len(b) and all(x & y for x, y in zip(a, b, strict=True))


@dataclass
class _Name:
    product: Product
    key: str  # folded spelling
    pinyin: tuple[frozenset[str], ...]


class ProductMatcher:
    """Matches words against one catalog. Build once per catalog; `match` is cached."""

    def __init__(self, products: list[Product] | tuple[Product, ...], *, synonyms=None, kinds=None):
        """`synonyms` (groups of words for the same thing) and `kinds` ((kind words, varieties)
        pairs) extend the defaults of parsers/synonyms.py; see there."""
        self.products = tuple(products)
        vocabulary = Vocabulary(SYNONYMS + tuple(tuple(g) for g in synonyms or ()),
                                KINDS + tuple((tuple(w), tuple(v)) for w, v in kinds or ()))
        self._names: list[_Name] = []
        self._by_key: dict[str, set[int]] = defaultdict(set)  # folded name → name ids
        self._by_char: dict[str, set[int]] = defaultdict(set)
        self._by_bigram: dict[str, set[int]] = defaultdict(set)  # characters and syllables
        self._by_pinyin: dict[str, set[int]] = defaultdict(set)
        self._by_index: dict[str, Product] = {}
        self._numeric: dict[str, list[tuple[str, Product]]] = defaultdict(list)  # see numeric_spellings
        for position, product in enumerate(self.products, start=1):
            self._by_index[str(position)] = product
            own = (product.name, *product.aliases)
            derived = [d for spelling in own for d in vocabulary.spellings_for(spelling)]
            for spelling in dict.fromkeys((*own, *derived)):
                self._add_name(product, spelling)
        self._cache: dict[str, Match] = {}
        self._starters: dict[str, bool] = {}  # character → could_start answer

    def _add_name(self, product: Product, spelling: str) -> None:
        key = fold_key(spelling)
        if not key:
            return
        name_id = len(self._names)
        self._names.append(_Name(product, key, pinyin_of(key)))
        self._by_key[key].add(name_id)
        for ch in set(key):
            self._by_char[ch].add(name_id)
        for gram in _bigrams(key):
            self._by_bigram[gram].add(name_id)
        for sound in pinyin_of(key):
            for syllable in sound:
                self._by_pinyin[syllable].add(name_id)
        plain = normalize_line(spelling).lower()
        for number in _NUMBERS_IN_NAME.findall(plain):
            self._numeric[number].append((plain, product))

    def numbers_in_names(self) -> list[str]:
        """The numbers (digit runs, Chinese numerals) that occur in some name."""
        return list(self._numeric)

    def numeric_spellings(self, number: str) -> list[tuple[str, Product]]:
        """Spellings (normalised, lower case) with this number in them ("5" → "5l花生油";
        "九" → "九节虾"): a number inside a product's name on a line is that name, no amount."""
        return self._numeric.get(number, [])

    @property
    def spellings(self) -> list[str]:
        """Every folded name and alias, for teaching the word segmenter."""
        return [name.key for name in self._names]

    def could_start(self, piece: str) -> bool:
        """Could a product name begin in this piece? (Shares a character or a reading.)"""
        return any(self._starts_with(ch) for ch in piece.lower())

    def _starts_with(self, ch: str) -> bool:
        known = self._starters.get(ch)
        if known is None:
            known = self._starters[ch] = ch in self._by_char or any(r in self._by_pinyin for r in readings(ch))
        return known

    def by_number(self, number: str) -> Product | None:
        """The product a header number refers to ("1号" → the first product)."""
        return self._by_index.get(number.lstrip("0") or "0")

    def match(self, word: str) -> Match:
        cached = self._cache.get(word)  # the word as written: most words recur as written
        if cached is not None:
            return cached
        key = fold_key(word)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._match_key(key) if key else Match(None, 0.0, "空")
        if len(self._cache) < 200_000:
            self._cache[key] = self._cache[word] = cached
        return cached

    # --- tiers ---------------------------------------------------------------------------

    def _match_key(self, key: str) -> Match:
        exact = self._exact(key, [])
        if exact is not None:
            return exact  # a spelling of a product: no candidates needed
        if not any(self._starts_with(ch) for ch in key):
            return Match(None, 0.0, f"本团没有“{key}”")  # no character or sound of any name
        candidates = self._candidates(key)
        for tier in (self._exact, self._contained, self._same_sound, self._abbreviation, self._fuzzy):
            found = tier(key, candidates)
            if found is not None:
                return found
        return self._explain_miss(key, candidates)

    def _candidates(self, key: str) -> list[int]:
        """Names sharing the most character or sound bigrams with the word; single characters
        and syllables only when no bigram is shared (short words, one-character typos)."""
        votes: Counter[int] = Counter()
        postings = sorted((p for p in (self._by_bigram.get(g) for g in _bigrams(key)) if p), key=len)
        # The rarest bigrams say the most: a bigram in thousands of names ("苹果" in a big
        # catalog) only votes when no rarer one is shared.
        for names in postings[:1] + [p for p in postings[1:] if len(p) <= MAX_BIGRAM_POSTINGS]:
            votes.update(names)
        if not votes or len(key) <= 2:
            for ch in set(key):
                postings = self._by_char.get(ch, ())
                if len(postings) <= MAX_POSTINGS:
                    votes.update(postings)
            for sound in pinyin_of(key):
                for syllable in sound:
                    postings = self._by_pinyin.get(syllable, ())
                    if len(postings) <= MAX_POSTINGS:
                        votes.update(postings)
        if len(votes) <= MAX_CANDIDATES:
            return sorted(votes, key=votes.__getitem__, reverse=True)
        return [name_id for name_id, _ in votes.most_common(MAX_CANDIDATES)]

    def _unique(self, name_ids, score: float, key: str, kind: str) -> Match | None:
        products = {self._names[i].product for i in name_ids}
        if len(products) == 1:
            return Match(products.pop(), score, kind=kind)
        if len(products) > 1:
            ordered = tuple(sorted(products, key=lambda p: p.name))
            names = "、".join(p.name for p in ordered[:4])
            return Match(None, score, f"“{key}”可能是：{names}，请写全名", kind="ambiguous", candidates=ordered)
        return None

    def _exact(self, key: str, _candidates: list[int]) -> Match | None:
        return self._unique(self._by_key.get(key, ()), 100.0, key, "exact")

    def _contained(self, key: str, candidates: list[int]) -> Match | None:
        if len(key) < 2:
            return None
        # "西瓜" for "麒麟西瓜": the word is part of a name. Ambiguity is reported, not guessed.
        inside = [i for i in candidates if key in self._names[i].key]
        if inside:
            best = max(len(key) / len(self._names[i].key) for i in inside)
            return self._unique(inside, 85.0 + 10.0 * best, key, "part")
        # "麒麟西瓜大的": a name inside the word; the longest name wins.
        around = [i for i in candidates if len(self._names[i].key) >= 2 and self._names[i].key in key]
        if around:
            longest = max(len(self._names[i].key) for i in around)
            top = [i for i in around if len(self._names[i].key) == longest]
            return self._unique(top, 90.0, key, "around")
        return None

    def _same_sound(self, key: str, candidates: list[int]) -> Match | None:
        if len(key) < 2:
            return None
        sound = pinyin_of(key)
        same = [i for i in candidates if sounds_alike(self._names[i].pinyin, sound)]
        if same:
            return self._unique(same, 92.0, key, "sound")
        # A shortened homophone: "沙糖桔" inside "砂糖橘子".
        inside = [i for i in candidates if _contains_run(self._names[i].pinyin, sound)]
        return self._unique(inside, 86.0, key, "sound") if inside else None

    def _abbreviation(self, key: str, candidates: list[int]) -> Match | None:
        """"麒麟瓜" for 麒麟西瓜, "猪馅" for 猪肉馅: the word's characters in order inside a name
        that starts and ends as the word does (the head noun stays)."""
        if len(key) < 2:
            return None
        short = [i for i in candidates if _abbreviates(key, self._names[i].key)]
        return self._unique(short, 88.0, key, "abbrev") if short else None

    def _fuzzy(self, key: str, candidates: list[int]) -> Match | None:
        if len(key) < 2:
            return None
        scored = sorted(
            ((fuzz.ratio(key, self._names[i].key), i) for i in candidates), reverse=True
        )
        good = [i for score, i in scored if score >= FUZZY_ACCEPT and _typo_only(key, self._names[i])]
        if not good:
            return None
        return self._unique(good[:1], max(s for s, _ in scored), key, "fuzzy")

    def _explain_miss(self, key: str, candidates: list[int]) -> Match:
        best_score, best = 0.0, None
        for i in candidates:
            score = fuzz.ratio(key, self._names[i].key)
            if score > best_score:
                best_score, best = score, self._names[i].product
        if best is not None and best_score >= NEAR_MISS and (best_score >= SIMILAR or _same_head(key, best)):
            return Match(None, best_score, f"本团没有“{key}”（有{best.name}）", near=best)
        return Match(None, best_score, f"本团没有“{key}”")


def _abbreviates(key: str, name: str) -> bool:
    if len(name) <= len(key) or key[0] != name[0] or key[-1] != name[-1]:
        return False
    rest = iter(name)
    return all(ch in rest for ch in key)


_NUMBERS_IN_NAME = re.compile(r"\d+|[一二两三四五六七八九十百]")


def _same_head(key: str, product: Product) -> bool:
    """Chinese compounds end in their head noun: 鸭蛋 and 鸡蛋 are both 蛋, 大的 and 大米 are not."""
    return any(fold_key(name)[-1:] == key[-1:] for name in (product.name, *product.aliases) if fold_key(name))


def _contains_run(haystack: tuple[frozenset[str], ...], needle: tuple[frozenset[str], ...]) -> bool:
    n = len(needle)
    return n >= 2 and any(sounds_alike(haystack[i : i + n], needle) for i in range(len(haystack) - n + 1))


def _bigrams(key: str) -> set[str]:
    grams = {key[i : i + 2] for i in range(len(key) - 1)}
    sounds = pinyin_of(key)
    for a, b in zip(sounds, sounds[1:], strict=False):
        grams.update(f"{x} {y}" for x in a for y in b)
    return grams


def _typo_only(key: str, name: _Name) -> bool:
    """Same length and every differing character sounds the same: a pinyin-input typo."""
    if len(key) != len(name.key):
        return False
    sound = pinyin_of(key)
    if len(sound) != len(name.pinyin):
        return False
    return all(
        a == b or bool(pa & pb)
        for a, b, pa, pb in zip(key, name.key, sound, name.pinyin, strict=True)
    )
