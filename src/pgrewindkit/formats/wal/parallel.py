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

import os
from collections.abc import Callable
from typing import Union

import attrs

from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.forked import map_forked
from pgrewindkit.formats.wal.reader import BlockSink, EndOfWal
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.formats.wal.wal import Wal, WalScan, open_wal
from pgrewindkit.majors.layouts.xlog import BKPBLOCK_FORK_MASK, SIZE_OF_LONG_PHD, WAL_STRUCTS, XLR_SPECIAL_REL_UPDATE

MIN_SEGMENTS_PER_WORKER = 4
MAX_WORKERS = 256  # at most 2 KB of run indices then wait in forked.py's pipe
MAIN_FORKNUM = 0


@attrs.frozen
class FoundBlocks:
    """A run's page map: main-fork blocks as tuples (of records the full decoder read) and as the
    16 bytes of their RelFileLocator and BlockNumber (of those the narrow loop took: a set of bytes
    pickles and joins several times faster than one of tuples, and each distinct block is decoded
    once, in the parent); the first unrecognised record; whether the endpoint was reached."""

    blocks: frozenset[tuple[int, int, int, int]]
    keys: frozenset[bytes]
    unrecognised: tuple[int, int, int] | None
    reached: bool

    def all_blocks(self) -> set[tuple[int, int, int, int]]:
        return BlockSink(0, set(self.blocks), keys=set(self.keys)).all_blocks()


# A run's work: given the scan of its records, what it found (picklable).
# (Union: the alias is evaluated at run time, and 3.9 has no ``X | Y`` there)
Payload = Union[WalStats, FoundBlocks]


@attrs.frozen
class BlockJob:
    """What ``extractPageMap`` needs of each record: main-fork blocks, the first record with
    ``XLR_SPECIAL_REL_UPDATE`` that ``recognised`` does not accept, and whether ``endpoint`` was
    reached (the record whose end is at or past it is the last one read)."""

    endpoint: int
    recognised: Callable[[int, int], bool]


@attrs.frozen
class _Task:
    path: str
    timeline: int | None
    segment_size: int
    major: int
    first_segno: int
    end_segno: int  # exclusive; -1: to the end of WAL
    start: int  # the scan's first record when this is the first run, else -1
    job: BlockJob | None  # None: statistics


@attrs.frozen
class _RunResult:
    payload: Payload
    first_lsn: int
    first_prev: int
    last_lsn: int
    last_end: int
    end_of_wal: EndOfWal | None  # set when the run stopped before its last segment was done


def _open_run(task: _Task) -> WalScan | None:
    wal = open_wal(task.path, timeline=task.timeline, segment_size=task.segment_size, major=task.major)
    until = LSN(task.end_segno * task.segment_size) if task.end_segno >= 0 else None
    if task.start >= 0:
        return wal.scan(LSN(task.start), exact=True, until=until)
    run_start = LSN(task.first_segno * task.segment_size)
    reader = wal.reader(run_start)
    first = reader.find_next_record(run_start)
    reader.close()
    return None if first is None else wal.scan(first, exact=True, until=until)


def _run(task: _Task) -> _RunResult:
    """One run: the records that start in segments [first_segno, end_segno)."""
    scan = _open_run(task)
    if scan is None:
        start = LSN(task.first_segno * task.segment_size)
        nothing = FoundBlocks(frozenset(), frozenset(), None, False)
        empty: Payload = WalStats(task.major) if task.job is None else nothing
        return _RunResult(empty, -1, -1, -1, -1, EndOfWal(start, "no record starts here", start))
    if task.job is None:
        stats = WalStats.of_scan(task.major, scan)
        bounds = (stats.start.value if stats.start else -1, stats.first_prev, stats.last_lsn,
                  stats.end.value if stats.end else -1)
        payload: Payload = stats
    else:
        payload, bounds = _collect_blocks(scan, task.job)
    end = scan.end_of_wal
    stopped_early = end is not None and not end.reached_end
    return _RunResult(payload, *bounds, end if stopped_early else None)


def _collect_blocks(scan: WalScan, job: BlockJob) -> tuple[Payload, tuple[int, int, int, int]]:
    blocks: set[tuple[int, int, int, int]] = set()
    unrecognised: tuple[int, int, int] | None = None
    reached = False
    first = first_prev = last = last_end = -1
    recognised = job.recognised
    endpoint = job.endpoint
    sink = BlockSink(endpoint, blocks)  # the commonest records only add their blocks there
    raw = scan.raw(blocks=sink)
    for record in raw:
        if first < 0:
            first, first_prev = record[0], record[2]
        last, last_end = record[0], record[1]
        info = record[4]
        if unrecognised is None and info & XLR_SPECIAL_REL_UPDATE and not recognised(record[5], info):
            unrecognised = (record[0], record[5], info)
        for block in record[9]:
            if block[1] & BKPBLOCK_FORK_MASK == MAIN_FORKNUM:
                blocks.add((block[3], block[4], block[5], block[6]))
        if record[1] >= endpoint:
            reached = True
            break
    raw.close()
    if sink.last > last:
        last, last_end = sink.last, sink.last_end
    return (FoundBlocks(frozenset(blocks), frozenset(sink.keys), unrecognised, reached),
            (first, first_prev, last, last_end))


def _worker_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


Progress = Callable[[int, int], None]  # (parts read, parts in all)


def _guided_bounds(first_segno: int, segments: int, workers: int) -> list[int]:
    """Where the runs begin (and the last ends). Each takes a ``2 * workers``-th of the segments
    still unassigned, so runs shrink towards the end and the workers, which take the next run as
    they finish one, finish close together (equal runs left one worker alone on the last for up to
    a run's time: an eighth of the scan on two cores). No run is shorter than a ``16 * workers``-th
    of the whole, which bounds their number (at most about ``16 * workers``) and what each costs."""
    shortest = max(1, -(-segments // (16 * workers)))
    bounds = [first_segno]
    left = segments
    while left > 0:
        size = min(left, max(shortest, -(-left // (2 * workers))))
        bounds.append(bounds[-1] + size)
        left -= size
    return bounds


def _runs(wal: Wal, start: LSN, last_segno: int, job: BlockJob | None, workers: int | None,
          on_progress: Progress | None = None) -> list[_RunResult]:
    """Split [start's segment, last_segno] into runs and read them, in parallel when long enough."""
    major = wal.wal_format(start).major
    size = wal.directory.segment_size
    first_segno = start.segment_number(size)
    segments = max(last_segno - first_segno + 1, 1)
    workers = min(workers or _worker_count(), MAX_WORKERS)
    if workers < 2 or segments < 2 * MIN_SEGMENTS_PER_WORKER:
        bounds = [first_segno, first_segno + segments]
    else:
        bounds = _guided_bounds(first_segno, segments, workers)
    count = len(bounds) - 1
    tasks = [_Task(str(wal.directory.path), wal.history.timeline, size, major, bounds[i], bounds[i + 1],
                   start.value if i == 0 else -1, job) for i in range(count)]
    tasks[-1] = attrs.evolve(tasks[-1], end_segno=-1)  # the last run reads to the end
    if count == 1:
        return [_run(tasks[0])]
    return _in_workers(tasks, min(workers, count), on_progress)


def _in_workers(tasks: list[_Task], workers: int, on_progress: Progress | None) -> list[_RunResult]:
    """The runs' results in order, read by ``workers`` forked processes. A worker that dies (killed,
    out of memory) is an error once the others are done, never a wait."""
    def progress(done: int) -> None:
        if on_progress is not None:
            on_progress(done, len(tasks))

    return map_forked(_run, tasks, workers, progress)


def _joined(results: list[_RunResult]) -> tuple[list[_RunResult], EndOfWal | None] | None:
    """The runs that count, in order, and the end of WAL; None when two runs do not join."""
    used: list[_RunResult] = []
    previous: _RunResult | None = None
    for result in results:
        if previous is not None and result.first_lsn >= 0:
            gap = result.first_lsn - previous.last_end
            if result.first_prev != previous.last_lsn or not 0 <= gap <= SIZE_OF_LONG_PHD:
                return None
        if result.first_lsn >= 0:
            used.append(result)
            previous = result
        if result.end_of_wal is not None:
            return used, result.end_of_wal
        if isinstance(result.payload, FoundBlocks) and result.payload.reached:
            return used, None  # the endpoint was reached
    return used, None


def _present_last_segno(wal: Wal, start: LSN) -> int:
    size = wal.directory.segment_size
    first = start.segment_number(size)
    present = [s.segno for s in wal.directory.segments()
               if s.segno >= first and s.timeline == wal.directory.timeline_for_segment(s.segno)]
    return max(present, default=first)


def scan_stats(wal: Wal, scan: WalScan, *, workers: int | None = None,
               on_progress: Progress | None = None) -> WalStats:
    """``pg_waldump --stats`` over ``scan``, by several processes when the range is long."""
    major = wal.wal_format(scan.start).major
    if scan.end is not None:
        return WalStats.of_scan(major, scan)
    results = _runs(wal, scan.start, _present_last_segno(wal, scan.start), None, workers, on_progress)
    joined = _joined(results)
    if joined is None:
        return WalStats.of_scan(major, wal.scan(scan.start, exact=True))
    stats = WalStats(major)
    for result in joined[0]:
        assert isinstance(result.payload, WalStats)
        stats.merge(result.payload)
    scan.end_of_wal = joined[1]
    return stats


@attrs.frozen
class BlockChanges:
    """``extractPageMap``'s findings between a checkpoint and an end point."""

    blocks: tuple[tuple[int, int, int, int], ...]  # (tablespace, database, relation, block) of main forks, each once
    unrecognised: tuple[int, int, int] | None  # (lsn, rmid, info) of the first unrecognised record
    last_end: int  # where the last record read ends
    end_of_wal: EndOfWal | None  # why reading stopped before the end point, if it did


def collect_block_changes(wal: Wal, start: LSN, endpoint: LSN, recognised: Callable[[int, int], bool], *,
                          workers: int | None = None, on_progress: Progress | None = None) -> BlockChanges:
    """Every main-fork block changed by records from ``start`` until one ends at or past ``endpoint``."""
    size = wal.directory.segment_size
    last_segno = max(endpoint.value - 1, start.value) // size
    job = BlockJob(endpoint.value, recognised)
    joined = _joined(_runs(wal, start, last_segno, job, workers, on_progress))
    if joined is None:
        joined = _joined(_runs(wal, start, last_segno, job, 1))
        assert joined is not None
    used, end = joined
    keys: set[bytes] = set()  # every run's blocks as keys: a set of bytes joins cheaply
    decoded: set[tuple[int, int, int, int]] = set()
    unrecognised = None
    last_end = start.value
    for result in used:
        assert isinstance(result.payload, FoundBlocks)
        keys |= result.payload.keys
        decoded |= result.payload.blocks
        unrecognised = unrecognised or result.payload.unrecognised
        last_end = result.last_end
    # each distinct block once, decoded in one C loop (no set of tuples to hash: the keys are unique)
    layout = WAL_STRUCTS.locator_and_block
    keys.update(layout.pack(*block) for block in decoded)
    blocks = tuple(layout.iter_unpack(b"".join(keys)))
    return BlockChanges(blocks, unrecognised, last_end, end)
