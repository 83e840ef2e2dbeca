"""Word segmentation with jieba, loaded once per process and taught the catalog's names.

jieba's full dictionary (350k words) costs ~95 MB and half a second to load; splitting a
glued order ("王姐麒麟西瓜阳光玫瑰") only needs the common words plus the catalog's own names.
So the tokenizer is built from jieba's dictionary restricted to words seen at least
MIN_FREQ times (~36k words, ~10 MB, 0.15 s) and taught every product name and alias.
"""

from __future__ import annotations

import io
import logging
import threading
from functools import lru_cache
from pathlib import Path

MIN_FREQ = 100

_lock = threading.Lock()
_taught: set[str] = set()


def _frequent(line: bytes) -> bool:
    parts = line.split()
    return len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= MIN_FREQ


@lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    with dictionary.open("rb") as lines:
        common = b"".join(line for line in lines if _frequent(line))
    tokenizer = jieba.Tokenizer(dictionary=str(dictionary))
    tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(io.BytesIO(common))
    tokenizer.initialized = True
    return tokenizer


def teach(words: list[str]) -> None:
    """Make jieba keep product names whole ("阳光玫瑰", "麒麟西瓜")."""
    new = [w for w in words if len(w) >= 2 and w not in _taught]
    if not new:
        return
    tokenizer = _tokenizer()
    with _lock:
        for word in new:
            tokenizer.add_word(word, freq=200_000)
            _taught.add(word)


def cut(text: str) -> list[str]:
    return _tokenizer().lcut(text, HMM=False)
