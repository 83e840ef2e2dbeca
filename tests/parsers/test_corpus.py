"""The labelled corpus (tests/data/parse_corpus/, scored by scripts/eval_parse.py): no entry
is read wrong without a question, and at least 97% are read exactly as a careful leader
reads them. `python scripts/eval_parse.py --wrong` lists every entry that is not right."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_parse.py"


@pytest.fixture(scope="module")
def evaluation():
    spec = importlib.util.spec_from_file_location("eval_parse", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_parse"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    results = module.evaluate()
    return module, results


def test_the_corpus_is_big_and_wide(evaluation) -> None:
    module, results = evaluation
    groups = module.table(results)
    assert sum(groups["all"].values()) >= 700
    assert {"from:sample", "from:written", "from:bug"} <= set(groups)
    classes = {g for g in groups if g.startswith("class:")}
    assert len(classes) >= 14, classes


def test_no_entry_is_read_wrong_without_a_question(evaluation) -> None:
    module, results = evaluation
    silent = [(r.chain.path.name, r.label.line if r.label else r.entry.raw, r.why)
              for r in results if r.outcome == "silent-wrong"]
    assert silent == []


def test_almost_every_entry_is_read_right(evaluation) -> None:
    module, results = evaluation
    right = sum(r.outcome == "right" for r in results)
    assert right / len(results) >= 0.97, module.table(results)["all"]


def test_every_class_is_mostly_right(evaluation) -> None:
    module, results = evaluation
    for group, counts in module.table(results).items():
        assert counts["right"] / sum(counts.values()) >= 0.85, (group, counts)
