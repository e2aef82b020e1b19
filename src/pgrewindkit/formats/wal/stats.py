"""WAL statistics as ``pg_waldump --stats`` counts them (``XLogRecStoreStats``): per resource
manager and per record type. ``render/walstats.py`` prints them."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.reader import RawRecord, Tally
from pgrewindkit.formats.wal.wal import WalScan
from pgrewindkit.majors import wal as wal_table
from pgrewindkit.majors.rmgrs import (
    RM_XACT_ID,
    XLOG_XACT_RECORD_TYPE_MASK,
)


def record_type(slot: int, mask_xact: bool = True) -> tuple[int, int]:
    """``XLogRecStoreStats``' key of a ``Tally`` slot: the resource manager and ``xl_info >> 4``,
    without the Transaction manager's ``XLOG_XACT_HAS_INFO`` bit (``mask_xact``; 9.5 keeps it)."""
    rmid, recid = divmod(slot, 16)
    return rmid, recid & XLOG_XACT_RECORD_TYPE_MASK if mask_xact and rmid == RM_XACT_ID else recid


@attrs.define
class WalStats:
    """Counts and byte totals; ``rec`` excludes full-page images, ``fpi`` is their stored size."""

    major: int
    start: LSN | None = None
    end: LSN | None = None  # the end of the last record counted
    count: int = 0
    # rmid -> [count, rec_len, fpi_len]; (rmid, recid) -> the same
    by_rmgr: dict[int, list[int]] = attrs.field(factory=dict)
    by_record: dict[tuple[int, int], list[int]] = attrs.field(factory=dict)
    first_prev: int = -1  # xl_prev of the first record counted (for joining ranges)
    last_lsn: int = -1  # the last record counted

    @classmethod
    def of_scan(cls, major: int, scan: WalScan) -> WalStats:
        """Every record of ``scan``, counted (the hot path of ``waldump --stats``)."""
        stats = cls(major)
        tally = Tally()
        scan.count_into(tally)
        stats.add_tally(tally)
        return stats

    def add_tally(self, tally: Tally) -> None:
        """Add what the reader counted."""
        mask_xact = wal_table.wal_format(self.major).stats_masks_xact_info
        for slot, n in enumerate(tally.counts):
            if n:
                entry = self.by_record.setdefault(record_type(slot, mask_xact), [0, 0, 0])
                entry[0] += n
                entry[1] += tally.rec_lens[slot]
                entry[2] += tally.fpi_lens[slot]
                self.count += n
        if tally.first >= 0:
            self._note_range(tally.first, tally.last_end)
            if self.first_prev < 0:
                self.first_prev = tally.first_prev
            self.last_lsn = tally.last
        self._rebuild_rmgrs()

    def add_raw(self, records: Iterable[RawRecord]) -> None:
        """Count records the reader yielded (for callers that also look at them)."""
        tally = Tally()
        for raw in records:
            tally.add(raw[0], raw[1], raw[2], raw[5], raw[4], raw[6], raw[7])
        self.add_tally(tally)

    def merge(self, other: WalStats) -> None:
        """Add another range's statistics (ranges are merged in WAL order)."""
        for key, (n, rec, fpi) in other.by_record.items():
            entry = self.by_record.setdefault(key, [0, 0, 0])
            entry[0] += n
            entry[1] += rec
            entry[2] += fpi
        if other.start is not None and other.end is not None:
            self._note_range(other.start.value, other.end.value)
        self.count += other.count
        self._rebuild_rmgrs()

    def _note_range(self, first: int, last_end: int) -> None:
        if self.start is None:
            self.start = LSN(first)
        self.end = LSN(last_end)

    def _rebuild_rmgrs(self) -> None:
        self.by_rmgr = {}
        for (rmid, _recid), (n, rec, fpi) in self.by_record.items():
            entry = self.by_rmgr.setdefault(rmid, [0, 0, 0])
            entry[0] += n
            entry[1] += rec
            entry[2] += fpi

    @property
    def total_rec_len(self) -> int:
        return sum(e[1] for e in self.by_rmgr.values())

    @property
    def total_fpi_len(self) -> int:
        return sum(e[2] for e in self.by_rmgr.values())
