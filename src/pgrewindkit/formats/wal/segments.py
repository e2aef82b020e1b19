"""WAL segment files in a directory (``pg_wal``, or any directory of segments such as an archive):
which file holds a segment on which timeline, the segment size, and reading them.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from pgrewindkit.errors import DataFileNotFoundError, FormatError, PgRewindKitError, file_error
from pgrewindkit.formats.controlfile import CONTROL_FILE_PATH
from pgrewindkit.formats.files import is_directory, is_regular_file, open_regular, read_regular
from pgrewindkit.formats.lsn import LSN, WalSegment, check_segment_size, is_segment_file_name
from pgrewindkit.formats.timeline import (
    TimelineHistory,
    history_file_name,
    read_timeline_history,
    timeline_from_file_name,
)
from pgrewindkit.majors.layouts.xlog import LONG_PAGE_TAIL_OFFSET, SIZE_OF_LONG_PHD, WAL_STRUCTS, XLP_LONG_HEADER
from pgrewindkit.majors.programs import WAL_DIRECTORY_NAMES
from pgrewindkit.model import TimelineSpan


def find_wal_directory(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """A data directory's WAL directory, or ``path`` itself; and the data directory if there is one."""
    path = Path(path)
    if is_regular_file(path / CONTROL_FILE_PATH, "control file"):
        for name in WAL_DIRECTORY_NAMES:
            if is_directory(path / name, "WAL directory"):
                return path / name, path
        raise DataFileNotFoundError("data directory has no pg_wal directory (or it is not a directory)", path=path)
    if path.name in WAL_DIRECTORY_NAMES and is_regular_file(path.parent / CONTROL_FILE_PATH, "control file"):
        return path, path.parent
    return path, None


def timeline_for_segment(spans: Sequence[TimelineSpan], segno: int, segment_size: int) -> int:
    """pg_rewind's rule (``SimpleXLogPageRead``): the first timeline of the history whose end is at
    or after the segment's end, so a segment holding a switchpoint is read from the newer
    timeline's file; the tip past every end. (The end as an integer: the last segment of the LSN
    space ends at 2^64, one past every LSN.)"""
    seg_end = (segno + 1) * segment_size
    for span in spans:
        if span.end is None or span.end.value >= seg_end:
            return span.timeline
    return spans[-1].timeline


@attrs.frozen
class SegmentFile:
    segment: WalSegment
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


class WalDirectory:
    """The segment files and timeline history files of one directory.

    Nothing here reads a control file: the segment size is given (from a control file, by
    ``open_wal``) or learnt from the segments' long page headers."""

    def __init__(self, path: str | os.PathLike[str], *, segment_size: int | None = None,
                 history: TimelineHistory | None = None, datadir: Path | None = None) -> None:
        if datadir is None:
            self.path, self.datadir = find_wal_directory(path)
        else:
            self.path, self.datadir = Path(path), datadir
        try:
            names = [entry.name for entry in self.path.iterdir()]
        except OSError as exc:
            raise file_error(exc, self.path, "WAL directory") from None
        self.segment_names = frozenset(n for n in names if is_segment_file_name(n))
        self._bad_names: frozenset[str] | None = None
        self.history_names = frozenset(n for n in names if timeline_from_file_name(n) is not None)
        self._segment_size = segment_size
        # timeline 1's history has no entries: test for None, never for truth
        self.history = self.newest_history() if history is None else history

    # -- timelines -----------------------------------------------------------------------------------

    def newest_history(self) -> TimelineHistory:
        """The history of the newest timeline whose history file is here (timeline 1 when none is)."""
        timelines = [t for t in map(timeline_from_file_name, self.history_names) if t is not None]
        if not timelines:
            return TimelineHistory.initial()
        return self.read_history(max(timelines))

    def read_history(self, timeline: int) -> TimelineHistory:
        if timeline == 1:
            return TimelineHistory.initial()
        return read_timeline_history(self.path / history_file_name(timeline))

    def timeline_for_segment(self, segno: int) -> int:
        """pg_rewind's rule: the first timeline of the history whose end is at or after the segment's
        end, so a segment holding a switchpoint is read from the newer timeline's file."""
        return timeline_for_segment(self.history.spans, segno, self.segment_size)

    # -- segment size ------------------------------------------------------------------------------

    @property
    def segment_size(self) -> int:
        if self._segment_size is None:
            raise FormatError("the WAL segment size is not known yet (no control file, no segment read)",
                              path=self.path)
        return self._segment_size

    def learn_segment_size(self, lsn: LSN, timeline: int | None = None) -> int:
        """Without a control file, the long page header of the segment holding ``lsn`` says the size.

        Segment file names depend on the size, so each power of two is tried until a file of that
        name exists whose header states that same size; never another, unrelated first file.
        """
        if self._segment_size is not None:
            return self._segment_size
        for shift in range(20, 31):
            size = 1 << shift
            self._segment_size = size
            tli = timeline if timeline is not None else self.timeline_for_segment(lsn.segment_number(size))
            name = WalSegment.containing(tli, lsn, size).file_name(size)
            if name in self.segment_names and self._stated_size(self.path / name) == size:
                return size
        self._segment_size = None
        raise DataFileNotFoundError(f"no WAL segment here holds {lsn}", path=self.path)

    def size_from_segment_files(self) -> int:
        """Without a control file or a start LSN: the size every segment here states, if they agree."""
        if self._segment_size is None:
            stated = (self._stated_size(self.path / name) for name in self.segment_names)
            sizes = {size for size in stated if size is not None}
            if len(sizes) != 1:
                raise FormatError("cannot tell the WAL segment size here: give a start LSN or a data directory",
                                  path=self.path)
            self._segment_size = sizes.pop()
        return self._segment_size

    @staticmethod
    def _stated_size(path: Path) -> int | None:
        try:
            head = read_regular(path, SIZE_OF_LONG_PHD, "WAL segment", head=True)
        except PgRewindKitError:
            return None
        if len(head) < SIZE_OF_LONG_PHD:
            return None
        info = WAL_STRUCTS.page_header.unpack_from(head)[1]
        if not info & XLP_LONG_HEADER:
            return None
        size = WAL_STRUCTS.long_page_tail.unpack_from(head, LONG_PAGE_TAIL_OFFSET)[1]
        try:
            return check_segment_size(size)
        except FormatError:
            return None

    # -- files ---------------------------------------------------------------------------------------

    def segment_file(self, segno: int, timeline: int | None = None) -> SegmentFile:
        tli = timeline if timeline is not None else self.timeline_for_segment(segno)
        segment = WalSegment(tli, segno)
        return SegmentFile(segment, self.path / segment.file_name(self.segment_size))

    def segments(self) -> list[WalSegment]:
        """Every segment file here, parsed with the segment size; names that look like segments but
        cannot be one of this size are left out (``bad_segment_names`` lists them)."""
        return sorted(segment for segment, _name in self._parsed() if segment is not None)

    @property
    def bad_segment_names(self) -> frozenset[str]:
        """Names of 24 hex digits that are no segment of this size (the low part too big, timeline 0):
        PostgreSQL never reads such a file; they are reported, not fatal."""
        if self._bad_names is None:
            self._bad_names = frozenset(name for segment, name in self._parsed() if segment is None)
        return self._bad_names

    def _parsed(self) -> list[tuple[WalSegment | None, str]]:
        size = self.segment_size
        parsed: list[tuple[WalSegment | None, str]] = []
        for name in self.segment_names:
            try:
                parsed.append((WalSegment.from_file_name(name, size), name))
            except FormatError:
                parsed.append((None, name))
        return parsed


class MappedSegment:
    """A segment file mapped into memory; pages already read are released to keep memory flat."""

    RELEASE_EVERY = 16 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        # a regular file only (a FIFO would block, a device has no end); mapping reads nothing yet,
        # so a huge sparse file costs nothing beyond the pages the reader touches
        with open_regular(path, "WAL segment") as (fd, size):
            try:
                self.data: mmap.mmap | bytes = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if size else b""
            except (OSError, ValueError, OverflowError) as exc:
                raise FormatError(f"cannot map WAL segment: {exc}", path=path) from None
        self.size = size
        self._released = 0

    def release_before(self, offset: int) -> None:
        """Tell the kernel the pages before ``offset`` are done with (the mapping stays valid)."""
        if isinstance(self.data, mmap.mmap) and offset - self._released >= self.RELEASE_EVERY:
            start = self._released - self._released % mmap.PAGESIZE
            end = offset - offset % mmap.PAGESIZE
            if end > start and hasattr(mmap, "MADV_DONTNEED"):
                self.data.madvise(mmap.MADV_DONTNEED, start, end - start)
            self._released = end

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def segment_gaps(timeline: int, present: Iterable[int], segment_size: int, *,
                 limit: int = 100) -> tuple[tuple[str, ...], int]:
    """The segments missing between the first and the last of ``present`` on ``timeline``: the names
    of the first ``limit`` of them and how many there are in all.

    The work is bounded by the files there, not by the numbers they bear: one empty file named
    ``00000001FFFFFFFF00000000`` beside ``000000010000000000000001`` makes trillions of gaps, which
    are counted, not listed."""
    numbers = sorted(set(present))
    names: list[str] = []
    total = 0
    for before, after in zip(numbers, numbers[1:]):
        missing = after - before - 1
        total += missing
        for segno in range(before + 1, before + 1 + min(missing, limit - len(names))):
            names.append(WalSegment(timeline, segno).file_name(segment_size))
    return tuple(names), total
