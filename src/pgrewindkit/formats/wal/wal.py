"""The WAL of one directory: scans forwards and backwards over its records, and ``open_wal``."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

from pgrewindkit.errors import DataFileNotFoundError, FormatError, UnsupportedVersionError, WalReadError
from pgrewindkit.formats.controlfile import read_control_file
from pgrewindkit.formats.files import read_regular
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal.reader import BlockSink, EndOfWal, RawRecord, Tally, WalReader
from pgrewindkit.formats.wal.records import WalRecord, wal_record
from pgrewindkit.formats.wal.segments import WalDirectory, find_wal_directory
from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.xlog import WAL_STRUCTS
from pgrewindkit.majors.wal import WalFormat, by_magic, wal_format
from pgrewindkit.model import ControlFile

DEFAULT_XLOG_BLCKSZ = 8192  # XLOG_BLCKSZ of every packaged build, assumed when no control file says it


class WalScan:
    """One pass over records; iterate it once, then read ``end_of_wal``."""

    def __init__(self, reader: WalReader, start: LSN, end: LSN | None, prev: LSN | None,
                 until: LSN | None = None) -> None:
        self._reader = reader
        self.start = start
        self._end = end
        self._until = until
        self._prev = prev
        self.end_of_wal: EndOfWal | None = None

    @property
    def end(self) -> LSN | None:
        """The end LSN the scan stops before, if one was given."""
        return self._end

    def raw(self, *, detail: bool = True, blocks: BlockSink | None = None) -> Generator[RawRecord, None, None]:
        """The reader's tuples, for loops that must not build an object per record; with ``blocks``,
        the commonest records are not yielded but only put their main-fork blocks there."""
        try:
            yield from self._reader.records(self.start, end=self._end, prev=self._prev, detail=detail,
                                           until=self._until, sink=blocks)
        finally:
            self.end_of_wal = self._reader.end_of_wal
            self._reader.close()

    def count_into(self, tally: Tally) -> None:
        """Read every record, counting it into ``tally`` instead of yielding it."""
        for _ in self._reader.records(self.start, end=self._end, prev=self._prev, until=self._until, tally=tally):
            pass
        self.end_of_wal = self._reader.end_of_wal
        self._reader.close()

    def __iter__(self) -> Iterator[WalRecord]:
        fmt = self._reader.fmt
        for raw in self.raw():
            yield wal_record(raw, fmt)


class Wal:
    """The WAL in one directory (a data directory, its ``pg_wal``, or an archive of segments).

    What a control file would say is given: the major (else learnt from the page magic), the system
    identifier pages must carry (else not checked) and the WAL block size."""

    def __init__(self, directory: WalDirectory, *, major: int | None = None, system_identifier: int | None = None,
                 blcksz: int = DEFAULT_XLOG_BLCKSZ) -> None:
        self.directory = directory
        self.system_identifier = system_identifier
        self._major = major
        self._blcksz = blcksz

    @property
    def history(self) -> TimelineHistory:
        return self.directory.history

    def wal_format(self, near: LSN) -> WalFormat:
        """The major's WAL format: from the control file, else from the page magic near ``near``."""
        if self._major is None:
            self.directory.learn_segment_size(near)
            seg_file = self.directory.segment_file(near.segment_number(self.directory.segment_size))
            head = read_regular(seg_file.path, 2, "WAL segment", head=True)
            if len(head) < 2:
                raise FormatError("WAL segment is empty", path=seg_file.path)
            magic = WAL_STRUCTS.uint16.unpack_from(head)[0]
            fmt = by_magic(magic)
            if fmt is None:
                raise UnsupportedVersionError(f"unknown WAL page magic 0x{magic:04X} (supported: "
                                              f"{versions.SUPPORTED})", path=seg_file.path)
            self._major = fmt.major
        return wal_format(self._major)

    def first_segment_start(self) -> LSN:
        """The start of the oldest segment on the path of the history (for a scan with no start)."""
        size = self.directory.size_from_segment_files()
        candidates = [s for s in self.directory.segments()
                      if s.timeline == self.directory.timeline_for_segment(s.segno)]
        if not candidates:
            raise DataFileNotFoundError("no WAL segment files of the timeline here", path=self.directory.path)
        return min(candidates, key=lambda s: s.segno).start(size)

    def reader(self, near: LSN) -> WalReader:
        fmt = self.wal_format(near)
        self.directory.learn_segment_size(near)
        return WalReader(self.directory, fmt, blcksz=self._blcksz, system_identifier=self.system_identifier)

    def scan(self, start: LSN | None = None, *, end: LSN | None = None, exact: bool = False,
             prev: LSN | None = None, until: LSN | None = None) -> WalScan:
        """Records from the first one at or after ``start`` (``exact``: ``start`` is a record), up to
        the end of valid WAL, or before one that would pass ``end``, or start at or after ``until``."""
        if start is None:
            start = self.first_segment_start()
        reader = self.reader(start)
        first = start if exact else reader.find_next_record(start)
        if first is None:
            reader.close()
            why = f": {reader.end_of_wal.reason}" if reader.end_of_wal and reader.end_of_wal.reason else ""
            raise FormatError(f"could not find a valid record after {start}{why}", path=self.directory.path)
        return WalScan(reader, first, end, prev, until)

    def read_record(self, lsn: LSN) -> WalRecord:
        """The one record at ``lsn`` (random access, as pg_rewind's ``readOneRecord``)."""
        scan = WalScan(self.reader(lsn), lsn, None, None)
        for record in scan:
            return record
        end = scan.end_of_wal
        raise WalReadError(f"could not read WAL record at {lsn}: {end.reason if end is not None else 'no record'}",
                           end=end, path=self.directory.path)

    def backward(self, start: LSN) -> BackwardScan:
        """Records from ``start`` back through their ``xl_prev`` links (pg_rewind's walk to the last
        common checkpoint); each one is read afresh, like pg_rewind does."""
        return BackwardScan(self, start)


class BackwardScan:
    """Iterate from a record back through ``xl_prev``; ``end_of_wal`` says where and why it stopped.

    Each record is read afresh at its LSN (random access), with one reader for the whole walk, as
    pg_rewind's ``findLastCheckpoint`` does."""

    def __init__(self, wal: Wal, start: LSN) -> None:
        self._wal = wal
        self.start = start
        self.end_of_wal: EndOfWal | None = None

    def __iter__(self) -> Iterator[WalRecord]:
        lsn = self.start
        reader = self._wal.reader(lsn)
        try:
            while lsn.is_valid:
                raw = next(iter(reader.records(lsn)), None)
                if raw is None:
                    end = reader.end_of_wal
                    self.end_of_wal = EndOfWal(lsn, end.reason if end is not None else "no record", lsn,
                                               missing_segment=end.missing_segment if end is not None else None)
                    return
                record = wal_record(raw, reader.fmt)
                yield record
                lsn = record.prev
            self.end_of_wal = EndOfWal(lsn, "reached the beginning of WAL", lsn)
        finally:
            reader.close()


def open_wal(path: str | os.PathLike[str], *, timeline: int | None = None, segment_size: int | None = None,
             major: int | None = None, history: TimelineHistory | None = None,
             control: ControlFile | None = None) -> Wal:
    """The WAL of a data directory or a directory of segment files, read along ``history`` (by
    default: timeline ``timeline``'s, or the newest whose history file is there).

    A data directory's control file (``control``, else read here) gives the segment size, the
    major, the system identifier and the WAL block size; given values win."""
    wal_dir, datadir = find_wal_directory(path)
    if control is None and datadir is not None:
        control = read_control_file(datadir)
    if segment_size is None and control is not None:
        segment_size = control.xlog_seg_size
    directory = WalDirectory(wal_dir, segment_size=segment_size, history=history, datadir=datadir)
    if timeline is not None and history is None:
        directory.history = (directory.read_history(timeline)
                             if f"{timeline:08X}.history" in directory.history_names or timeline == 1
                             else TimelineHistory(timeline))
    if control is None:
        return Wal(directory, major=major)
    return Wal(directory, major=major if major is not None else control.major,
               system_identifier=control.system_identifier, blcksz=control.xlog_blcksz)
