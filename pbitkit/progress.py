"""Progress reporting: library code calls a plain callback; the CLI attaches a tqdm bar.

Long-running library functions accept ``progress: ProgressCallback | None``, called as
``progress(done, total, message)``. Library code never prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressCallback", "tqdm_progress", "null_progress"]

ProgressCallback = Callable[[int, int, str], None]


def null_progress(done: int, total: int, message: str = "") -> None:  # noqa: ARG001
    """A progress callback that does nothing."""


@contextmanager
def tqdm_progress(description: str, *, disable: bool | None = None) -> Iterator[ProgressCallback]:
    """Context manager yielding a callback that drives a tqdm bar on stderr (disabled when not a TTY)."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = not sys.stderr.isatty()
    bar = tqdm(desc=description, total=0, disable=disable, leave=False, dynamic_ncols=True)

    def callback(done: int, total: int, message: str = "") -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield callback
    finally:
        bar.close()
