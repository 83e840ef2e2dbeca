"""Golden files: every chain in tests/data/chains/ (the shared real samples and our own food
chains) against what a careful leader reads from it (NAME.expected.json).

Regenerate after a deliberate parser change with `JIELONG_REGOLD=1 pytest tests/parsers/test_golden.py`
and read the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.parse import result_json
from parsers import parse_catalog_csv, parse_message

DATA = Path(__file__).resolve().parents[1] / "data" / "chains"
CHAINS = sorted(DATA.glob("*.txt"))


def message_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    return rest if first.startswith("# source:") else text


def parse_file(path: Path) -> dict:
    catalog_path = path.with_suffix(".csv")
    catalog = parse_catalog_csv(catalog_path.read_text(encoding="utf-8")) if catalog_path.exists() else None
    return result_json(parse_message(message_text(path), catalog))


@pytest.mark.parametrize("path", CHAINS, ids=[p.stem for p in CHAINS])
def test_golden(path: Path) -> None:
    got = parse_file(path)
    expected_path = path.with_suffix(".expected.json")
    if os.environ.get("JIELONG_REGOLD"):
        expected_path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert got == json.loads(expected_path.read_text(encoding="utf-8"))


def test_every_sample_has_a_golden_file() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "samples"
    if shared.is_dir():
        assert {p.name for p in shared.glob("*.txt")} <= {p.name for p in CHAINS}
