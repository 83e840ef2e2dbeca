"""Progress bars (rich) for long replays, rebuilds and exports: on stderr, only where a person
watches a terminal, and never over output the command itself prints to the same terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Tick = Callable[[int], None]


@contextmanager
def progress_bar(description: str, total: int | None = None, *, prints_to_stdout: bool = False,
                 console: Console | None = None) -> Iterator[Tick | None]:
    """Yields a function taking the count done so far, or None when no bar is shown (stderr is
    not a terminal, or the command prints to the terminal on stdout)."""
    console = console or Console(stderr=True)
    if not console.is_terminal or (prints_to_stdout and sys.stdout.isatty()):
        yield None
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)
