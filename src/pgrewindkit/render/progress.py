"""Progress of long operations, as the command line draws it on a terminal (``\\r``, no newline
until done); the command line decides whether to draw at all."""

from __future__ import annotations

from pgrewindkit.actions.rewind import ProgressEvent

BAR_WIDTH = 30


def progress_bar(event: ProgressEvent) -> str:
    """pg_rewind's copy progress as a bar, with a newline once complete."""
    filled = BAR_WIDTH * event.percent // 100
    text = (f"\r  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {event.percent:3d}% "
            f"{event.done_kb // 1024}/{event.total_kb // 1024} MB")
    return text + ("\n" if event.percent >= 100 else "")


def parts_progress(what: str, done: int, total: int) -> str:
    """A read done part by part (WAL read in parallel), with a newline once complete."""
    return f"\r  {what}: {done}/{total} parts" + ("\n" if done == total else "")
