"""A time limit for calls that must not block (reads of FIFOs, scans of absurd WAL)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StillRunning(Exception):
    """A call went over its time limit. Not an ``OSError`` (as ``TimeoutError`` is): code that swallows
    those must not swallow this."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise ``StillRunning`` in the main thread after ``seconds``, even inside a blocked system call."""
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise StillRunning(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
