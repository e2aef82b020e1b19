"""What ``pg_waldump`` selects, in its own terms: the filters of ``-r``, ``-x``, ``-R``, ``-B``,
``-F`` and ``-w`` (``RecordFilter``, as ``pg_waldump.c`` applies them), and the range that
positional ``STARTSEG [ENDSEG]`` file names give (``segment_range``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import attrs

from pgrewindkit.errors import DataFileNotFoundError, FormatError, PgRewindKitError
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.wal.reader import Tally
from pgrewindkit.formats.wal.records import FORK_NAMES, WalRecord
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.majors.rmgrs import resource_managers

RM_MIN_CUSTOM_ID = 128  # rmgrlist.h: ids of custom resource managers
RM_MAX_ID = 255


def rmgr_list(major: int) -> list[str]:
    """``pg_waldump --rmgr=list``: the built-in resource managers' names, by id."""
    return [rm.name for rm in resource_managers(major)]


def rmgr_ids(major: int, names: Iterable[str]) -> frozenset[int]:
    """The ids of ``-r`` names, matched without regard to case as pg_waldump does."""
    by_name = {rm.name.lower(): rm.id for rm in resource_managers(major)}
    ids = set()
    for name in names:
        custom = re.fullmatch(r"custom(\d{3})", name.lower())
        if custom and RM_MIN_CUSTOM_ID <= int(custom[1]) <= RM_MAX_ID:  # pg_waldump 15+ names them so
            ids.add(int(custom[1]))
        elif name.lower() in by_name:
            ids.add(by_name[name.lower()])
        else:
            raise PgRewindKitError(f'resource manager "{name}" does not exist')
    return frozenset(ids)


def fork_number(name: str) -> int:
    """``forkname_to_number``: main, fsm, vm, init."""
    if name not in FORK_NAMES:
        raise PgRewindKitError(f'invalid fork name "{name}"')
    return FORK_NAMES.index(name)


@attrs.frozen
class RecordFilter:
    """pg_waldump's filters: a record is shown when it passes every one given.

    ``relation``/``block``/``fork`` are ``XLogRecordMatchesRelationBlock``: one block reference
    must match all of those given. ``fullpage`` is ``XLogRecordHasFPW``: a block carries an image."""

    rmids: frozenset[int] | None = None
    xid: int | None = None
    relation: tuple[int, int, int] | None = None
    block: int | None = None
    fork: int | None = None
    fullpage: bool = False

    def __attrs_post_init__(self) -> None:
        if self.block is not None and self.relation is None:
            raise PgRewindKitError("option -B/--block requires option -R/--relation to be specified")

    @classmethod
    def of_options(cls, major: int, *, rmgrs: Sequence[str] | None = None, xid: int | None = None,
                   relation: tuple[int, int, int] | None = None, block: int | None = None,
                   fork: str | None = None, fullpage: bool = False) -> RecordFilter:
        """The filter of pg_waldump's options, with names resolved for ``major``."""
        return cls(rmgr_ids(major, rmgrs) if rmgrs else None, xid, relation, block,
                   None if fork is None else fork_number(fork), fullpage)

    @property
    def active(self) -> bool:
        return self != RecordFilter()

    def matches(self, record: WalRecord) -> bool:
        if self.rmids is not None and record.rmid not in self.rmids:
            return False
        if self.xid is not None and record.xid != self.xid:
            return False
        if (self.relation is not None or self.block is not None or self.fork is not None) and not any(
                self._block_matches(b.locator, b.fork, b.blk) for b in record.blocks):
            return False
        return not self.fullpage or any(b.has_image for b in record.blocks)

    def _block_matches(self, locator: tuple[int, int, int], fork: int, blk: int) -> bool:
        return ((self.fork is None or self.fork == fork) and (self.relation is None or self.relation == locator)
                and (self.block is None or self.block == blk))


def selected(records: Iterable[WalRecord], record_filter: RecordFilter, limit: int | None) -> Iterator[WalRecord]:
    """The records that pass the filter, at most ``limit`` of them (pg_waldump's ``-n`` counts those)."""
    count = 0
    for record in records:
        if not record_filter.matches(record):
            continue
        yield record
        count += 1
        if limit and count >= limit:
            return


def stats_of(major: int, records: Iterable[WalRecord], first_record: LSN | None = None) -> WalStats:
    """``--stats`` over records already selected (filters and ``-n`` apply to statistics too).
    pg_waldump's "between" starts at the first record read (``first_record``), filtered or not."""
    tally = Tally()
    for r in records:
        tally.add(r.lsn.value, r.end.value, r.prev.value, r.rmid, r.info, r.tot_len, r.fpi_len)
    stats = WalStats(major)
    stats.add_tally(tally)
    if first_record is not None and tally.first >= 0:
        stats.start = first_record
    return stats


@attrs.frozen
class SegmentName:
    """A positional STARTSEG or ENDSEG: where it is and the timeline its name says."""

    directory: Path | None  # the directory part of the argument, if it had one
    name: str
    timeline: int


def segment_name(argument: str) -> SegmentName:
    """``split_path`` and the timeline of ``XLogFromFileName``."""
    directory, name = os.path.split(argument)
    try:
        timeline = WalSegment.from_file_name(name, 16 * 1024 * 1024).timeline
    except FormatError:
        # a size-independent check: the low part's limit depends on the segment size, read later
        if len(name) != 24 or not all(c in "0123456789ABCDEF" for c in name):
            raise FormatError(f'could not parse WAL file name "{name}"') from None
        timeline = int(name[:8], 16)
    return SegmentName(Path(directory) if directory else None, name, timeline)


@attrs.frozen
class SegmentRange:
    start: LSN
    end: LSN


def segment_range(wal_dir: str | os.PathLike[str], names: Sequence[SegmentName], segment_size: int,
                  start: LSN | None, end: LSN | None) -> SegmentRange:
    """Start and end as pg_waldump derives them from STARTSEG [ENDSEG]: a start given with ``-s``
    must lie in STARTSEG, an end given with ``-e`` in ENDSEG (or at its end); without them, the
    start of STARTSEG and the end of ENDSEG (of STARTSEG when it is alone)."""
    for item in names:
        if not (Path(wal_dir) / item.name).is_file():
            raise DataFileNotFoundError(f'could not open file "{item.name}"', path=Path(wal_dir) / item.name)
    first = WalSegment.from_file_name(names[0].name, segment_size)
    last = WalSegment.from_file_name(names[-1].name, segment_size)
    if last.segno < first.segno:
        raise PgRewindKitError(f"ENDSEG {names[-1].name} is before STARTSEG {names[0].name}")
    if start is None:
        start = first.start(segment_size)
    elif start.segment_number(segment_size) != first.segno:
        raise PgRewindKitError(f'start WAL location {start} is not inside file "{names[0].name}"')
    last_end = LSN((last.segno + 1) * segment_size)
    if end is None:
        end = last_end
    elif len(names) > 1 and end.segment_number(segment_size) != last.segno and end != last_end:
        raise PgRewindKitError(f'end WAL location {end} is not inside file "{names[-1].name}"')
    return SegmentRange(start, end)
