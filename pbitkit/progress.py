"""Progress reporting: library code calls a plain callback; the CLI attaches a tqdm bar.

Long-running library functions accept ``progress: ProgressCallback | None``, called as
``progress(done, total, message)``. Library code never prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressCallback", "tqdm_progress", "logging_progress", "null_progress"]

ProgressCallback = Callable[[int, int, str], None]


def null_progress(done: int, total: int, message: str = "") -> None:  # noqa: ARG001
    """A progress callback that does nothing."""


def logging_progress(description: str, *, every_s: float = 15.0) -> ProgressCallback:
    """A callback that logs ``description: done/total message`` at INFO, at most every ``every_s`` seconds
    (and always at completion): progress for runs whose stderr is not a terminal (CI, nohup, cluster jobs)."""
    import logging
    import time

    log = logging.getLogger("pbitkit.progress")
    last = [0.0]

    def callback(done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or (total and done >= total):
            last[0] = now
            log.info("%s: %d/%d %s", description, done, total, message)

    return callback


@contextmanager
def tqdm_progress(description: str, *, disable: bool | None = None) -> Iterator[ProgressCallback]:
    """Context manager yielding a callback that drives a tqdm bar on stderr; when stderr is not a TTY
    the callback logs progress lines instead (:func:`logging_progress`)."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = not sys.stderr.isatty()
    if disable:
        yield logging_progress(description)
        return
    bar = tqdm(desc=description, total=0, leave=False, dynamic_ncols=True)

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
