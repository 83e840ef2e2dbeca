"""Recorded conversations (tests/data/transcripts/NAME.jsonl) replayed through the replay
transport into App.feed: what the bot sends must equal NAME.expected.jsonl exactly.

After a deliberate change of wording or behaviour: JIELONG_REGOLD=1 pytest tests/bot/test_transcripts.py
and read the diff before committing it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.transports.replay import ReplayResult, replay_lines

DATA = Path(__file__).resolve().parents[1] / "data" / "transcripts"
TRANSCRIPTS = sorted(DATA.glob("*.jsonl"))
TRANSCRIPTS = [p for p in TRANSCRIPTS if not p.name.endswith(".expected.jsonl")]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path, app, clock) -> None:
    result = ReplayResult()
    with path.open(encoding="utf-8") as lines:
        sent = list(replay_lines(app, clock, lines, result))
    got = [{"to": m.to, "text": m.text, "mentions": list(m.mentions)} for m in sent]
    expected_path = path.with_name(path.stem + ".expected.jsonl")
    if os.environ.get("JIELONG_REGOLD"):
        expected_path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in got), encoding="utf-8")
    expected = [json.loads(line) for line in expected_path.read_text(encoding="utf-8").splitlines() if line]
    assert got == expected
    assert result.skipped == 0
