"""Progress on a terminal, drawn on stderr; nothing when stderr is not one (or with --quiet)."""

from __future__ import annotations

from typing import TextIO

import pgrewindkit
from pgrewindkit import render


class ProgressBar:
    """pg_rewind's copy progress as a bar."""

    def __init__(self, err: TextIO, enabled: bool) -> None:
        self.err = err
        self.enabled = enabled and err.isatty()

    def __call__(self, event: pgrewindkit.ProgressEvent) -> None:
        if self.enabled:
            self.err.write(render.progress_bar(event))
            self.err.flush()


class PartsProgress:
    """Long WAL reads, part by part."""

    def __init__(self, err: TextIO, enabled: bool, what: str) -> None:
        self.err = err
        self.enabled = enabled and err.isatty()
        self.what = what

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            self.err.write(render.parts_progress(self.what, done, total))
            self.err.flush()
