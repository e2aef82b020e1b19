"""WAL statistics as ``pg_waldump --stats`` counts and prints them (``XLogRecStoreStats``,
``XLogDumpDisplayStats``): per resource manager, or per record type with ``--stats=record``."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.reader import RawRecord, Tally
from pgrewindkit.formats.wal.wal import WalScan
from pgrewindkit.majors.rmgrs import (
    MIN_CUSTOM_RMID,
    RM_XACT_ID,
    XLOG_XACT_RECORD_TYPE_MASK,
    resource_manager,
    resource_managers,
)
from pgrewindkit.majors.wal import wal_format


def record_type(slot: int) -> tuple[int, int]:
    """``XLogRecStoreStats``' key of a ``Tally`` slot: the resource manager and ``xl_info >> 4``,
    without the Transaction manager's ``XLOG_XACT_HAS_INFO`` bit."""
    rmid, recid = divmod(slot, 16)
    return rmid, recid & XLOG_XACT_RECORD_TYPE_MASK if rmid == RM_XACT_ID else recid


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
        for slot, n in enumerate(tally.counts):
            if n:
                entry = self.by_record.setdefault(record_type(slot), [0, 0, 0])
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


def _pct(part: int, total: int) -> float:
    return 100 * float(part) / total if total else 0.0


def _row(name: str, n: int, rec: int, fpi: int, totals: tuple[int, int, int, int]) -> str:
    total_count, total_rec, total_fpi, total_len = totals
    return (f"{name:<27} {n:>20} ({_pct(n, total_count):6.2f}) {rec:>20} ({_pct(rec, total_rec):6.2f}) "
            f"{fpi:>20} ({_pct(fpi, total_fpi):6.2f}) {rec + fpi:>20} ({_pct(rec + fpi, total_len):6.2f})")


def format_stats(stats: WalStats, *, per_record: bool = False) -> list[str]:
    """The lines ``pg_waldump --stats[=record]`` of ``stats.major`` prints."""
    fmt = wal_format(stats.major)
    if fmt.stats_header and stats.end is None:
        return []  # nothing is printed when no record was counted
    total_rec = stats.total_rec_len
    total_fpi = stats.total_fpi_len
    totals = (sum(e[0] for e in stats.by_rmgr.values()), total_rec, total_fpi, total_rec + total_fpi)
    lines = []
    if fmt.stats_header:
        lines.append(f"WAL statistics between {stats.start} and {stats.end}:")
    lines.append(f"{'Type':<27} {'N':>20} {'(%)':>8} {'Record size':>20} {'(%)':>8} {'FPI size':>20} {'(%)':>8} "
                 f"{'Combined size':>20} {'(%)':>8}")
    lines.append(f"{'----':<27} {'-':>20} {'---':>8} {'-----------':>20} {'---':>8} {'--------':>20} {'---':>8} "
                 f"{'-------------':>20} {'---':>8}")
    builtin = resource_managers(stats.major)
    custom = sorted(r for r in stats.by_rmgr if r >= MIN_CUSTOM_RMID)
    for rmid in [*range(len(builtin)), *custom]:
        rmgr = resource_manager(stats.major, rmid)
        if not per_record:
            n, rec, fpi = stats.by_rmgr.get(rmid, (0, 0, 0))
            lines.append(_row(rmgr.name, n, rec, fpi, totals))
            continue
        for recid in range(16):
            entry = stats.by_record.get((rmid, recid))
            if entry:
                n, rec, fpi = entry
                lines.append(_row(f"{rmgr.name}/{rmgr.identify(recid << 4)}", n, rec, fpi, totals))
    rule = f"{'--------':>20}"
    lines.append(f"{'':<27} {rule} {'':>8} {rule} {'':>8} {rule} {'':>8} {rule}")
    total_len = total_rec + total_fpi
    rec_pct = f"[{_pct(total_rec, total_len):.2f}%]"
    fpi_pct = f"[{_pct(total_fpi, total_len):.2f}%]"
    lines.append(f"{'Total':<27} {stats.count:>20} {'':<9}{total_rec:>20} {rec_pct:<9}{total_fpi:>20} {fpi_pct:<9}"
                 f"{total_len:>20} {'[100%]':<6}")
    return lines
