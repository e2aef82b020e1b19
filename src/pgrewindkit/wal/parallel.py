"""Long WAL ranges scanned by several processes.

Each worker takes a run of segments, starts at the first whole record of its first segment (the
page header's ``xlp_rem_len`` says where the record that continues from the previous segment
ends) and reads every record that *starts* in its run. The parent joins the runs in WAL order and
checks each junction as xlogreader would have: the first record of a run must start where the
previous run's last record ended and point back to it. A run that ends with an error ends the
scan there, as a sequential reader would. Should a junction not hold (it cannot for valid WAL),
the scan is redone sequentially.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import TYPE_CHECKING

import attrs

from pgrewindkit.layouts.xlog import SIZE_OF_LONG_PHD
from pgrewindkit.lsn import LSN
from pgrewindkit.wal.reader import EndOfWal, Tally
from pgrewindkit.wal.stats import WalStats

if TYPE_CHECKING:
    from pgrewindkit.wal import Wal, WalScan

MIN_SEGMENTS_PER_WORKER = 4


@attrs.frozen
class _Task:
    path: str
    timeline: int | None
    segment_size: int
    major: int
    first_segno: int
    end_segno: int  # exclusive; -1: to the end of WAL
    start: int  # the scan's first record when this is the first run, else -1


@attrs.frozen
class _RunResult:
    stats: WalStats
    first_lsn: int
    first_prev: int
    last_lsn: int
    last_end: int
    end_of_wal: EndOfWal | None  # set when the run stopped before its last segment was done


def _run(task: _Task) -> _RunResult:
    """One run: statistics of the records that start in segments [first_segno, end_segno)."""
    from pgrewindkit.wal import open_wal

    wal = open_wal(task.path, timeline=task.timeline, segment_size=task.segment_size, major=task.major)
    run_start = LSN(task.first_segno * task.segment_size)
    until = LSN(task.end_segno * task.segment_size) if task.end_segno >= 0 else None
    stats = WalStats(task.major)
    if task.start >= 0:
        first: LSN | None = LSN(task.start)
    else:
        reader = wal.reader(run_start)
        first = reader.find_next_record(run_start)
        reader.close()
    if first is None:
        return _RunResult(stats, -1, -1, -1, -1, EndOfWal(run_start, "no record starts here", run_start))
    scan = wal.scan(first, exact=True, until=until)
    tally = Tally()
    scan.count_into(tally)
    stats.add_tally(tally)
    end = scan.end_of_wal
    stopped_early = end is not None and not end.reached_end
    first_lsn = stats.start.value if stats.start is not None else -1
    last_end = stats.end.value if stats.end is not None else -1
    return _RunResult(stats, first_lsn, stats.first_prev, stats.last_lsn, last_end, end if stopped_early else None)


def _worker_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def scan_stats(wal: Wal, scan: WalScan, *, workers: int | None = None) -> WalStats:
    """``pg_waldump --stats`` over ``scan``, by several processes when the range is long."""
    major = wal.wal_format(scan.start).major
    size = wal.directory.segment_size
    first_segno = scan.start.segment_number(size)
    present = [s.segno for s in wal.directory.segments()
               if s.segno >= first_segno and s.timeline == wal.directory.timeline_for_segment(s.segno)]
    last_segno = max(present, default=first_segno)
    workers = workers or _worker_count()
    segments = last_segno - first_segno + 1
    if scan.end is not None or workers < 2 or segments < 2 * MIN_SEGMENTS_PER_WORKER:
        return _sequential(major, scan)
    runs = min(workers * 4, segments // MIN_SEGMENTS_PER_WORKER)
    bounds = [first_segno + segments * i // runs for i in range(runs + 1)]
    tasks = [
        _Task(str(wal.directory.path), wal.history.timeline, size, major, bounds[i], bounds[i + 1],
              scan.start.value if i == 0 else -1)
        for i in range(runs)
    ]
    tasks[-1] = attrs.evolve(tasks[-1], end_segno=-1)  # the last run reads to the end of WAL
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with context.Pool(min(workers, runs)) as pool:
        results = pool.map(_run, tasks, chunksize=1)
    joined = _join(major, results)
    if joined is None:
        return _sequential(major, wal.scan(scan.start, exact=True))
    stats, end = joined
    scan.end_of_wal = end
    return stats


def _sequential(major: int, scan: WalScan) -> WalStats:
    stats = WalStats(major)
    tally = Tally()
    scan.count_into(tally)
    stats.add_tally(tally)
    return stats


def _join(major: int, results: list[_RunResult]) -> tuple[WalStats, EndOfWal | None] | None:
    stats = WalStats(major)
    previous: _RunResult | None = None
    for result in results:
        if previous is not None and result.first_lsn >= 0:
            gap = result.first_lsn - previous.last_end
            if result.first_prev != previous.last_lsn or not 0 <= gap <= SIZE_OF_LONG_PHD:
                return None
        if result.first_lsn >= 0:
            stats.merge(result.stats)
        if result.end_of_wal is not None:
            return stats, result.end_of_wal
        previous = result if result.first_lsn >= 0 else previous
    return stats, None
