"""Words for the same produce, as data. A platform adds its own at set-up
(`ChainParser(catalog, synonyms=…, kinds=…)`); these are the defaults.

- SYNONYMS: groups of words that name the same thing. A product whose name contains one of
  them is also known by the others (西红柿 → 番茄, 蕃茄; 5L花生油 → 5升花生油).
- KINDS: the words for a kind and the varieties of that kind. A product named for a variety
  is also known by its kind (小台芒 → 芒果, 阳光玫瑰 → 葡萄, 皇冠梨 → 梨子), never the other way
  round: "巨峰" is not the 葡萄 a catalog sells as plain 葡萄. Kinds are not synonyms: 凤梨 is
  no 梨, 猕猴桃 no 桃子.
- PACK_SPEC: how a pack size is written inside a name (5L花生油, 东北大米10斤装,
  农夫山泉550ml*24). A product is also known by its name without it, and a pack size written
  next to the product on a line is part of the name, not an amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("西红柿", "番茄", "蕃茄"),
    ("土豆", "马铃薯", "洋芋"),
    ("红薯", "地瓜", "番薯", "山芋", "红苕"),
    ("花菜", "菜花", "花椰菜"),
    ("包菜", "卷心菜", "圆白菜", "洋白菜"),
    ("香菜", "芫荽"),
    ("玉米", "苞米", "包谷"),
    ("猕猴桃", "奇异果"),
    ("菠萝", "凤梨"),
    ("豆腐", "豆付"),
    ("馒头", "馍馍"),
    ("水饺", "饺子"),
    ("五花肉", "五花"),
    ("L", "升"),
    ("ml", "毫升"),
    ("kg", "公斤", "千克"),
)

# (the words for a kind, the varieties of that kind)
KINDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("芒果",), ("芒",)),
    (("葡萄", "提子"), ("阳光玫瑰", "巨峰", "夏黑", "青提", "红提", "玫瑰香", "醉金香")),
    (("西瓜",), ("麒麟瓜", "黑美人", "甜王")),  # never a number ("8424"): names hold numbers
    (("苹果",), ("红富士", "富士", "蛇果", "黄元帅", "花牛")),
    (("橘子", "桔子"), ("砂糖橘", "沙糖桔", "蜜橘", "沃柑", "丑橘", "耙耙柑")),
    (("橙子", "橙"), ("脐橙", "冰糖橙", "血橙")),
    (("柚子",), ("蜜柚", "沙田柚")),
    (("梨", "梨子"), ("皇冠梨", "香梨", "雪梨", "鸭梨", "贡梨", "酥梨")),
    (("桃子", "桃"), ("水蜜桃", "黄桃", "油桃", "蟠桃")),
    (("白菜",), ("大白菜", "黄心白")),
)

# A pack size inside a product name: a number with a volume, weight or count unit, "装", "*24".
PACK_SPEC = re.compile(
    r"\d{1,5}(?:\.\d{1,2})?\s{0,1}(?:ml|ML|mL|毫升|L|l|升|kg|KG|Kg|公斤|千克|g|克|斤|枚|片|粒|只|个|包|袋|支|瓶|听)"
    r"(?:装)?(?:\s{0,1}[*xX×]\s{0,1}\d{1,3}(?:[瓶听盒袋包支个罐])?)?"
)


class Vocabulary:
    """Synonym groups and kinds, with one scan that finds which of their words a name holds
    (a catalog of 10,000 names is read in one pass, not 10,000 × every word)."""

    def __init__(self, synonyms: Iterable[Iterable[str]] = SYNONYMS,
                 kinds: Iterable[tuple[Iterable[str], Iterable[str]]] = KINDS):
        self.synonyms = tuple(tuple(g) for g in synonyms)
        self.kinds = tuple((tuple(w), tuple(v)) for w, v in kinds)
        words = {w for g in self.synonyms for w in g} | {v for _, vs in self.kinds for v in vs}
        self._words = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))) if words else None

    def spellings_for(self, name: str) -> list[str]:
        """Other ways people write a product's name: synonyms swapped in, the kind of a
        variety, the name without its pack size. The name itself is not included."""
        out: list[str] = []
        core = PACK_SPEC.sub("", name).strip(" -_·*") if _HAS_DIGIT.search(name) else name
        bases = [name] + ([core] if core != name and len(core) >= 2 else [])
        out.extend(bases[1:])
        for base in bases:
            if self._words is None or self._words.search(base) is None:
                continue
            for group in self.synonyms:
                # the longest word of the group in the name ("五花肉", not "五花" inside it)
                word = max((w for w in group if w in base), key=len, default=None)
                if word is not None:
                    out.extend(base.replace(word, other) for other in group if other != word)
            for words, varieties in self.kinds:
                if any(v in base for v in varieties):
                    out.extend(w for w in words if w != base)
        return [s for s in dict.fromkeys(out) if s and s != name]


_HAS_DIGIT = re.compile(r"\d")


def spellings_for(name: str, synonyms: Iterable[Iterable[str]] = SYNONYMS,
                  kinds: Iterable[tuple[Iterable[str], Iterable[str]]] = KINDS) -> list[str]:
    """Other ways people write a product's name (see Vocabulary.spellings_for)."""
    return Vocabulary(synonyms, kinds).spellings_for(name)


def pack_specs(name: str) -> list[str]:
    """The pack sizes written in a name ("5L花生油" → ["5L"]), for comparing with a line."""
    return [m.group(0) for m in PACK_SPEC.finditer(name)]

# Words before a sold product's name that make it another product (小番茄 is no 西红柿, 红心火龙果
# no plain 火龙果, 草莓酸奶 no 原味酸奶): such a word is asked about. Anything else glued before a
# name is taken for the member's name ("陈香蕉2根", "王姐面包2袋").
VARIETY_MODIFIERS: frozenset[str] = frozenset({
    "小", "迷你", "红心", "黄心", "白心", "红皮", "紫", "黑", "青", "白", "红", "黄", "绿", "圣女", "樱桃", "贵妃",
    "冰糖", "有机", "进口", "野生", "冷冻", "冰鲜", "草莓", "巧克力", "香草", "芒果", "低脂", "脱脂", "全脂", "无糖",
    "鸡", "鸭", "鹅", "鱼", "虾", "牛", "羊", "猪", "土", "老", "嫩", "干", "咸", "甜", "酸", "辣", "半",
})
# Words before a name that change nothing: 大西瓜 is the 西瓜 sold.
HARMLESS_MODIFIERS: frozenset[str] = frozenset({"大", "新鲜", "好", "熟", "我要", "要", "买", "来", "订", "再来"})
