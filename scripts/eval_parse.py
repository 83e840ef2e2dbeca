"""How often the parser reads an entry the way a careful leader would: the labelled corpus in
tests/data/parse_corpus/ run through `ChainParser`, scored per entry, printed overall, per
class and per provenance.

    .venv/bin/python scripts/eval_parse.py            # the table
    .venv/bin/python scripts/eval_parse.py --wrong    # also every entry that is not right

Outcomes of one labelled entry (a leader's reading: products and quantities, whether she
would have to ask, whether the line cancels):
- right:        the counted order, cancel and named cancels are the leader's, and the parser
                asks exactly when she would;
- flagged:      the parser asks (a flag or an unmatched piece) where she would not have to, or
                its reading differs but it asks: ten seconds of her time, nothing silent;
- missed:       the counted order is hers, but she would ask about something the parser let
                pass without a word;
- silent-wrong: the counted order differs and nothing is asked: wrong product, wrong quantity,
                dropped or invented item, unwanted or missed cancel, near miss mapped, a
                dropped or invented entry.

Corpus files (`*.chain`): a few `# key: value` lines (provenance: sample | written | bug;
catalog: a CSV under catalogs/ or "header" for the chain's own price list; class: the default
class of its entries), then the chain text. An entry line is labelled after "⇒" at its end
(the label is cut off before parsing); a flattened line labels each entry as "N: …" between
"|". A label is ";"-separated: `NAME QTY` (a catalog name, alias or sku; the quantity in the
product's unit, default 1), `-NAME [QTY]` (a cancel naming that product, all of it without a
quantity), `cancel` (the whole line cancels), `flag` (a careful leader would ask), `nothing`,
`#class` (this entry's class, anywhere in the label).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers import ChainParser, Product, parse_catalog_csv  # noqa: E402
from parsers.model import Entry  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "parse_corpus"
LABEL = "⇒"
OUTCOMES = ("right", "flagged", "missed", "silent-wrong")


@dataclass
class Label:
    seq: int
    cls: str
    items: Counter  # sku -> quantity
    cancel: bool = False
    cancel_items: dict = field(default_factory=dict)  # sku -> quantity or None (all of it)
    flag: bool = False
    line: str = ""
    named: list[tuple[str, float | None, bool]] = field(default_factory=list)  # (name, qty, cancel) as written


@dataclass
class Chain:
    path: Path
    provenance: str
    catalog: list[Product] | None
    text: str
    labels: list[Label]


@dataclass
class Scored:
    chain: Chain
    label: Label | None
    entry: Entry | None
    outcome: str
    why: str = ""  # for silent-wrong: the kind of error


class CorpusError(ValueError):
    pass


def load_catalog(name: str) -> list[Product] | None:
    if name == "header":
        return None
    return parse_catalog_csv((CORPUS / "catalogs" / f"{name}.csv").read_text(encoding="utf-8"))


def _resolver(catalog: list[Product] | None):
    """A label's product name → the key items are compared by: the sku with a catalog, else
    the product name the chain's own header gives (what the parser finds there is under test)."""

    def resolve(name: str, products: list[Product]) -> str:
        if catalog is None:
            return name
        for p in catalog:
            if name in (p.sku, p.name, *p.aliases):
                return p.sku
        raise CorpusError(f"label names no product of the catalog: {name!r}")

    return resolve


def load_chain(path: Path) -> Chain:
    meta: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    while lines and lines[0].startswith("# ") and ":" in lines[0]:
        key, _, value = lines.pop(0)[2:].partition(":")
        meta[key.strip()] = value.strip()
    text_lines, raw_labels = [], []
    for line in lines:
        body, sep, label = line.partition(LABEL)
        text_lines.append(body.rstrip() if sep else body)
        if sep:
            raw_labels.append((body.strip(), label.strip()))
    catalog = load_catalog(meta.get("catalog", "header"))
    chain = Chain(path, meta.get("provenance", "written"), catalog, "\n".join(text_lines).strip("\n"), [])
    default_class = meta.get("class", "plain")
    for body, label in raw_labels:
        pieces = [p.strip() for p in label.split("|")] if "|" in label or _seq_prefix(label) else [label]
        for piece in pieces:
            seq, piece = _seq_prefix(piece) or (_seq_of(body, path), piece)
            chain.labels.append(_label(seq, piece, default_class, body, path))
    return chain


def _seq_prefix(text: str) -> tuple[int, str] | None:
    head, sep, rest = text.partition(":")
    return (int(head), rest.strip()) if sep and head.strip().isdigit() else None


def _seq_of(body: str, path: Path) -> int:
    m = re.match(r"\s*[(（]?(\d+)", body.replace("．", ".").translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if m is None:
        raise CorpusError(f"{path.name}: a label on a line without an index: {body!r}")
    return int(m.group(1))


def _label(seq: int, text: str, cls: str, line: str, path: Path) -> Label:
    label = Label(seq, cls, Counter(), line=line)
    for tag in re.findall(r"#(\S+)", text):
        label.cls = tag
    text = re.sub(r"#\S+", "", text)
    for part in (p.strip() for p in text.split(";")):
        if not part or part == "nothing":
            continue
        if part == "flag":
            label.flag = True
        elif part == "cancel":
            label.cancel = True
        else:
            negative = part.startswith("-")
            name, _, qty = part.lstrip("-").rpartition(" ") if " " in part else (part.lstrip("-"), "", "")
            if not name:
                name, qty = qty, ""
            try:
                number = float(qty) if qty else None
            except ValueError as exc:
                raise CorpusError(f"{path.name}: bad quantity in label {text!r}") from exc
            label.named.append((name, number, negative))
    return label


def score_chain(chain: Chain) -> list[Scored]:
    parser = ChainParser(chain.catalog)
    parsed = parser.parse(chain.text)
    resolve = _resolver(chain.catalog)
    for label in chain.labels:  # names resolve against the products the parse used
        label.items, label.cancel_items = Counter(), {}
        for name, qty, negative in label.named:
            sku = resolve(name, parsed.products)
            if negative:
                label.cancel_items[sku] = qty
            else:
                label.items[sku] += 1.0 if qty is None else qty
    by_seq: dict[int, list[Entry]] = defaultdict(list)
    for entry in parsed.entries:
        by_seq[entry.seq].append(entry)
    out: list[Scored] = []
    key = (lambda i: i.sku) if chain.catalog else (lambda i: i.name)
    for label in chain.labels:
        entry = by_seq[label.seq].pop(0) if by_seq.get(label.seq) else None
        if entry is None:
            out.append(Scored(chain, label, None, "flagged" if parsed.warnings else "silent-wrong", "dropped entry"))
            continue
        out.append(_score(chain, label, entry, key))
    for entries in by_seq.values():
        for entry in entries:
            asked = bool(entry.flags or entry.unmatched)
            counted = bool(entry.items or entry.cancel or getattr(entry, "cancel_items", None))
            if counted and not asked:
                out.append(Scored(chain, None, entry, "silent-wrong", "invented entry"))
    return out


def _score(chain: Chain, label: Label, entry: Entry, key) -> Scored:
    got: Counter = Counter()
    for item in entry.items:
        got[key(item)] += item.qty
    got = Counter({k: round(v, 3) for k, v in got.items()})
    want = Counter({k: round(v, 3) for k, v in label.items.items()})
    got_cancels = {key(c): c.qty for c in getattr(entry, "cancel_items", [])}
    asked = bool(entry.flags or entry.unmatched)
    same = got == want and entry.cancel == label.cancel and got_cancels == label.cancel_items
    if same:
        outcome = "right" if asked == label.flag else ("flagged" if asked else "missed")
        return Scored(chain, label, entry, outcome)
    if asked:
        return Scored(chain, label, entry, "flagged")
    return Scored(chain, label, entry, "silent-wrong", _why(want, got, label, entry, got_cancels))


def _why(want: Counter, got: Counter, label: Label, entry: Entry, got_cancels: dict) -> str:
    if entry.cancel != label.cancel:
        return "unwanted cancel" if entry.cancel else "missed cancel"
    if got_cancels != label.cancel_items:
        return "wrong cancelled items"
    extra, lost = set(got) - set(want), set(want) - set(got)
    if extra and lost:
        return "wrong product"
    if extra:
        return "near miss mapped" if label.flag else "invented item"
    if lost:
        return "dropped item"
    return "wrong quantity"


def load_corpus(root: Path = CORPUS) -> list[Chain]:
    return [load_chain(path) for path in sorted(root.glob("*.chain"))]


def evaluate(chains: list[Chain] | None = None) -> list[Scored]:
    return [scored for chain in (chains if chains is not None else load_corpus()) for scored in score_chain(chain)]


def table(results: list[Scored]) -> dict[str, Counter]:
    """Outcome counts overall, per class and per provenance (keys "all", "class:X", "from:Y")."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        cls = r.label.cls if r.label else "invented"
        for group in ("all", f"class:{cls}", f"from:{r.chain.provenance}"):
            groups[group][r.outcome] += 1
    return groups


def print_table(results: list[Scored]) -> None:
    groups = table(results)
    print(f"{'':28} {'entries':>7} {'right':>7} {'silent-wrong':>12} {'flagged':>7} {'missed':>6}")
    order = ["all"] + sorted(g for g in groups if g.startswith("from:")) + sorted(g for g in groups if g.startswith("class:"))
    for group in order:
        c = groups[group]
        n = sum(c.values())
        print(f"{group:28} {n:7d} {c['right'] / n:7.1%} {c['silent-wrong']:12d} {c['flagged']:7d} {c['missed']:6d}")
    kinds = Counter(r.why for r in results if r.outcome == "silent-wrong")
    if kinds:
        print("silent-wrong by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))


def print_wrong(results: list[Scored]) -> None:
    for r in results:
        if r.outcome == "right":
            continue
        entry = r.entry
        got = ([(i.name, i.qty) for i in entry.items], [f.kind.value for f in entry.flags],
               [u.text for u in entry.unmatched], entry.cancel,
               [(c.name, c.qty) for c in getattr(entry, "cancel_items", [])]) if entry else None
        want = (dict(r.label.items), r.label.flag, r.label.cancel, r.label.cancel_items) if r.label else None
        print(f"{r.outcome:12} {r.why:18} {r.chain.path.name}:{r.label.seq if r.label else entry.seq} "
              f"{r.label.line if r.label else entry.raw}\n{'':14}want {want}\n{'':14}got  {got}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wrong", action="store_true", help="list every entry that is not right")
    ap.add_argument("--outcome", choices=OUTCOMES, help="list only entries with this outcome")
    args = ap.parse_args()
    results = evaluate()
    if args.wrong or args.outcome:
        print_wrong([r for r in results if args.outcome is None or r.outcome == args.outcome])
    print_table(results)


if __name__ == "__main__":
    main()
