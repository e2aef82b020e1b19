"""Timeline history files (``pg_wal/NNNNNNNN.history``), read by the rules PostgreSQL applies.

The backend's ``readTimeLineHistory`` and pg_rewind's ``rewind_parseTimeLineHistory`` skip blank
lines and ``#`` comments, read ``"%u\\t%X/%X"`` from each line and ignore the rest (the reason),
require strictly increasing timeline IDs (a timeline may be skipped) that are all below the file's
own timeline. The file's own timeline is the tip and has no end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from pgrewindkit.errors import HistoryParseError
from pgrewindkit.formats.files import MAX_HISTORY_FILE, read_regular
from pgrewindkit.formats.lsn import LSN, MAX_UINT32
from pgrewindkit.model import HistoryEntry, TimelineSpan

HISTORY_NAME = re.compile(r"([0-9A-F]{8})\.history")

# sscanf("%u\t%X/%X"): whitespace may precede each number, "\t" matches any run of whitespace
# (even none), %X takes an optional 0x prefix.
_NUMBER = r"\s*\+?(\d+)"
_HEX = r"\s*\+?(?:0[xX])?([0-9A-Fa-f]+)"
# ASCII only, as C's isspace and isdigit: Python's \d and \s would take other scripts' digits and spaces
_TIMELINE_ONLY = re.compile(_NUMBER, re.ASCII)
_ENTRY = re.compile(_NUMBER + _HEX + "/" + _HEX, re.ASCII)


def history_file_name(timeline: int) -> str:
    return f"{timeline:08X}.history"


@attrs.frozen
class TimelineHistory:
    """The history of ``timeline``: how it descends from timeline 1, one entry per switch."""

    timeline: int
    entries: tuple[HistoryEntry, ...] = ()

    @classmethod
    def initial(cls) -> TimelineHistory:
        """Timeline 1 has no history file and no ancestors."""
        return cls(1)

    @property
    def spans(self) -> tuple[TimelineSpan, ...]:
        """Each timeline's stretch of WAL, oldest first, ending with the tip (pg_rewind's view)."""
        spans = []
        begin = LSN(0)
        for entry in self.entries:
            spans.append(TimelineSpan(entry.timeline, begin, entry.switchpoint))
            begin = entry.switchpoint
        spans.append(TimelineSpan(self.timeline, begin, None))
        return tuple(spans)

    @property
    def timelines(self) -> tuple[int, ...]:
        return tuple(span.timeline for span in self.spans)

    def span(self, timeline: int) -> TimelineSpan | None:
        return next((s for s in self.spans if s.timeline == timeline), None)

    def switchpoint(self, timeline: int) -> LSN | None:
        """Where ``timeline`` ended in this history; None for the tip; KeyError when it is not in it."""
        span = self.span(timeline)
        if span is None:
            raise KeyError(f"timeline {timeline} is not in the history of timeline {self.timeline}")
        return span.end

    def timeline_at(self, lsn: LSN) -> int:
        """The timeline this history was on at ``lsn`` (``tliOfPointInHistory``)."""
        for span in self.spans:
            if lsn in span:
                return span.timeline
        return self.timeline

    def contains(self, timeline: int, end: LSN) -> bool:
        """Whether WAL written on ``timeline`` up to ``end`` is part of this history.

        True when ``timeline`` is an ancestor (or the tip) and ``end`` is not past where this
        history left it: a server that stopped there can follow this history without a rewind.
        """
        span = self.span(timeline)
        return span is not None and (span.end is None or end <= span.end)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        """A history is a value even without entries (timeline 1's): never falsy, so that
        ``history or default`` cannot silently replace timeline 1 by another timeline."""
        return True


def timeline_from_file_name(name: str) -> int | None:
    match = HISTORY_NAME.fullmatch(name)
    return int(match[1], 16) if match else None


def read_timeline_history(source: str | os.PathLike[str] | bytes, *,
                          timeline: int | None = None) -> TimelineHistory:
    """Parse a history file given by path or by its bytes.

    The file's own timeline comes from ``timeline`` or from the file name (``00000003.history``);
    for bytes without it, it is taken to be one more than the last entry's.
    """
    if isinstance(source, bytes):
        return parse_timeline_history(source, timeline=timeline)
    path = Path(source)
    data = read_regular(path, MAX_HISTORY_FILE, "timeline history file")
    if timeline is None:
        timeline = timeline_from_file_name(path.name)
    return parse_timeline_history(data, timeline=timeline, path=str(path))


def parse_timeline_history(data: bytes, *, timeline: int | None = None,
                           path: str | None = None) -> TimelineHistory:
    where = path or "<timeline history>"
    text = data.decode("utf-8", errors="replace")
    entries: list[HistoryEntry] = []
    for number, line in enumerate(text.split("\n"), start=1):
        entry = _parse_line(line, number, where)
        if entry is None:
            continue
        if entries and entry.timeline <= entries[-1].timeline:
            raise HistoryParseError(
                f"invalid data in history file: {line.strip()!r}: timeline IDs must be in increasing sequence",
                path=where, line=number,
            )
        entries.append(entry)
    if timeline is None:
        timeline = entries[-1].timeline + 1 if entries else 1
    if entries and timeline <= entries[-1].timeline:
        raise HistoryParseError(
            f"invalid data in history file: timeline IDs must be less than child timeline's ID {timeline}",
            path=where,
        )
    return TimelineHistory(timeline, tuple(entries))


def _parse_line(line: str, number: int, where: str) -> HistoryEntry | None:
    stripped = line.lstrip()
    if not stripped or stripped.startswith("#"):
        return None
    match = _ENTRY.match(line)
    if match is None:
        hint = ("expected a write-ahead log switchpoint location" if _TIMELINE_ONLY.match(line)
                else "expected a numeric timeline ID")
        raise HistoryParseError(f"syntax error in history file: {line.strip()!r}: {hint}",
                                path=where, line=number)
    tli, high, low = int(match[1]), int(match[2], 16), int(match[3], 16)
    if not 0 < tli <= MAX_UINT32 or high > MAX_UINT32 or low > MAX_UINT32:
        raise HistoryParseError(f"invalid data in history file: {line.strip()!r}: number out of range",
                                path=where, line=number)
    reason = line[match.end():].strip()
    return HistoryEntry(tli, LSN((high << 32) | low), reason)
