"""docs/setup.md is the set-up file's reference: it lists every key the loader knows, nothing
else, and the settings' defaults as the loader has them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from storage.settings import SETTINGS
from storage.setup import SETUP_KEYS, load_setup_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "setup.md"
ROW = re.compile(r"^\| `([^`]+)` \|([^|]*)\|([^|]*)\|", re.M)


def documented() -> dict[str, tuple[str, str]]:
    return {key: (kind.strip(), default.strip()) for key, kind, default in ROW.findall(DOC.read_text(encoding="utf-8"))}


def test_every_key_the_loader_knows_is_documented_and_nothing_else() -> None:
    assert set(documented()) == SETUP_KEYS


def test_the_settings_defaults_are_documented_as_the_loader_has_them() -> None:
    rows = documented()
    for spec in SETTINGS:
        written = json.dumps(spec.default, ensure_ascii=False)
        assert rows[f"settings.{spec.key}"][1] == f"`{written}`", spec.key


def test_the_documented_example_loads() -> None:
    example = DOC.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    data = load_setup_text(example)
    assert data.settings["group_max_per_hour"] == 20
