"""Word segmentation with jieba, loaded once per process and taught the catalog's names."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

_lock = threading.Lock()
_taught: set[str] = set()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def teach(words: list[str]) -> None:
    """Make jieba keep product names whole ("阳光玫瑰", "麒麟西瓜")."""
    new = [w for w in words if len(w) >= 2 and w not in _taught]
    if not new:
        return
    jieba = _jieba()
    with _lock:
        for word in new:
            jieba.add_word(word, freq=200_000)
            _taught.add(word)


def cut(text: str) -> list[str]:
    return _jieba().lcut(text, HMM=False)
