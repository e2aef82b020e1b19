#!/usr/bin/env python3
"""The floor: the least any pure-Python WAL reader must do, measured on the same WAL as the tools.

The bare loop walks the record chain (each record's length gives the next; page headers are
stepped over, records that cross pages are gathered, a SWITCH record ends its segment), unpacks
each record header, checks its prev-link and its CRC-32C (body, then the header up to the CRC,
as PostgreSQL computes it: one call over the two slices joined, the cheapest form measured), and
counts. No statistics, no decoding of block references, no
validation of page headers, no error messages: anything a real reader does costs at least this.

On all cores the segments are split into one run per core (each starts at the first whole record
of its first segment, as pgrewindkit's parallel scan does); the runs are checked to join. It
imports nothing but the standard library and google-crc32c, so its start-up is the interpreter's.

    .venv/bin/python benchmarks/wal_floor.py --path PGDATA --start LSN [--workers N]

prints ``<records> <seconds of the scan> <workers>``; ``floor(path, start, workers)`` does the same
for other benchmarks, in this process.
"""

from __future__ import annotations

import argparse
import mmap
import multiprocessing
import os
import re
import struct
import sys
import time
from pathlib import Path

from google_crc32c import extend

HEADER = struct.Struct("<IIQBBxxI")  # XLogRecord: tot_len, xid, prev, info, rmid, (pad), crc
PAGE = struct.Struct("<HHIQI")  # XLogPageHeaderData: magic, info, tli, pageaddr, rem_len
SEG_SIZE = struct.Struct("<I")
BLCKSZ = 8192
SHORT_PHD, LONG_PHD = 24, 40
SIZE_OF_RECORD, CRC_OFFSET = 24, 20
SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")


def segment_files(wal_dir: Path, seg_size: int) -> dict[int, Path]:
    """segno -> the file of the highest timeline holding it (the benchmarks' WAL has one timeline)."""
    per_seg = 0x100000000 // seg_size
    files: dict[int, tuple[int, Path]] = {}
    for entry in os.scandir(wal_dir):
        if SEGMENT_NAME.match(entry.name):
            tli, log, seg = int(entry.name[:8], 16), int(entry.name[8:16], 16), int(entry.name[16:], 16)
            segno = log * per_seg + seg
            if segno not in files or files[segno][0] < tli:
                files[segno] = (tli, Path(entry.path))
    return {segno: path for segno, (_tli, path) in files.items()}


def _read_run(paths: list[str], seg_size: int, own: int, start: int, run_lsn: int) -> tuple[int, int, int, int, int]:
    """Records that start in the first ``own`` of ``paths`` (consecutive segments; one more may follow
    for a record that crosses out of the run); ``start``: the first record's offset in the first
    segment, or -1 to begin at its first whole record; ``run_lsn``: the first segment's LSN.
    Returns (records, first, first_prev, last, last_end) as LSNs (-1: none)."""
    maps = []
    for path in paths:
        with open(path, "rb") as handle:
            maps.append(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    unpack = HEADER.unpack_from
    data = maps[0]
    seg = 0
    if start >= 0:
        pos = start
    else:
        pos = LONG_PHD
        rem = PAGE.unpack_from(data, 0)[4]
        while rem:  # the record continuing from the previous segment, page by page
            header = LONG_PHD if pos == LONG_PHD else SHORT_PHD
            page = pos - header
            if rem <= BLCKSZ - header:
                pos = page + header + ((rem + 7) & ~7)
                break
            rem -= BLCKSZ - header
            pos = page + BLCKSZ + SHORT_PHD
    count, prev, first, first_prev = 0, -1, -1, -1
    base = run_lsn  # the LSN of segment ``seg``
    while True:
        off = pos & (BLCKSZ - 1)
        if off == 0:
            pos += LONG_PHD if pos % seg_size == 0 else SHORT_PHD
            off = pos & (BLCKSZ - 1)
        if pos >= seg_size:
            seg += 1
            pos -= seg_size
            base += seg_size
            if seg >= own:
                break
            data = maps[seg]
            continue
        if off <= BLCKSZ - SIZE_OF_RECORD:
            tot, _xid, xl_prev, info, rmid, crc = unpack(data, pos)
            if tot < SIZE_OF_RECORD or (prev >= 0 and xl_prev != prev):
                break
            if off + tot <= BLCKSZ:
                if extend(0, data[pos + SIZE_OF_RECORD:pos + tot] + data[pos:pos + CRC_OFFSET]) != crc:
                    break
                lsn = base + pos
                pos += (tot + 7) & ~7
            else:
                gathered = _gather(maps, seg, pos, seg_size)
                if gathered is None:
                    break
                lsn, record, (seg, pos) = base + pos, gathered[0], gathered[1]
                tot, _xid, xl_prev, info, rmid, crc = unpack(record, 0)
                if extend(extend(0, record[SIZE_OF_RECORD:]), record[:CRC_OFFSET]) != crc:
                    break
                base = run_lsn + seg * seg_size
                data = maps[seg] if seg < len(maps) else data
        else:  # the header itself crosses the page
            gathered = _gather(maps, seg, pos, seg_size)
            if gathered is None:
                break
            lsn, record, (seg, pos) = base + pos, gathered[0], gathered[1]
            tot, _xid, xl_prev, info, rmid, crc = unpack(record, 0)
            if (prev >= 0 and xl_prev != prev) or extend(extend(0, record[SIZE_OF_RECORD:]),
                                                         record[:CRC_OFFSET]) != crc:
                break
            base = run_lsn + seg * seg_size
            data = maps[seg] if seg < len(maps) else data
        if first < 0:
            first, first_prev = lsn, xl_prev
        count += 1
        prev = lsn
        if rmid == 0 and info & 0xF0 == 0x40 and pos:  # XLOG_SWITCH: the rest of the segment is unused
            pos = seg_size
        if seg >= own:
            break
    return count, first, first_prev, prev, base + pos


def _gather(maps: list[mmap.mmap], seg: int, pos: int, seg_size: int) -> tuple[bytes, tuple[int, int]] | None:
    """A record that crosses pages: its bytes, and (segment, offset) after it, aligned."""
    data = maps[seg]
    page_end = (pos | (BLCKSZ - 1)) + 1
    parts = [data[pos:page_end]]
    got = page_end - pos
    tot = -1
    while True:
        if got >= SIZE_OF_RECORD and tot < 0:
            tot = HEADER.unpack_from(b"".join(parts)[:SIZE_OF_RECORD])[0]
            if tot < SIZE_OF_RECORD:
                return None
        if got >= tot >= 0:
            break
        pos = page_end
        if pos >= seg_size:
            seg, pos = seg + 1, 0
            if seg >= len(maps):
                return None
            data = maps[seg]
        header = LONG_PHD if pos == 0 else SHORT_PHD
        rem = PAGE.unpack_from(data, pos)[4]
        take = min(BLCKSZ - header, rem)
        if rem == 0 or (tot >= 0 and rem != tot - got):
            return None
        parts.append(data[pos + header:pos + header + take])
        got += take
        page_end = pos + BLCKSZ
        pos = pos + header + take
    return b"".join(parts), (seg, (pos + 7) & ~7)


def _run_task(task: tuple[list[str], int, int, int, int]) -> tuple[int, int, int, int, int, int]:
    paths, seg_size, own, start, run_lsn = task
    return (*_read_run(paths, seg_size, own, start, run_lsn), run_lsn)


def floor(path: str | os.PathLike[str], start: str, workers: int | None = None) -> tuple[int, float]:
    """(records, seconds): the bare loop from ``start`` to the end of the WAL in ``path`` (a data
    directory or its pg_wal), on ``workers`` processes (default: every core)."""
    started = time.perf_counter()
    wal_dir = Path(path) / "pg_wal" if (Path(path) / "pg_wal").is_dir() else Path(path)
    hi, lo = (int(part, 16) for part in start.split("/"))
    start_lsn = (hi << 32) | lo
    any_segment = next(p for p in wal_dir.iterdir() if SEGMENT_NAME.match(p.name))
    with open(any_segment, "rb") as handle:
        seg_size = SEG_SIZE.unpack_from(handle.read(LONG_PHD), 32)[0]
    files = segment_files(wal_dir, seg_size)
    first_segno = start_lsn // seg_size
    segnos = []
    while first_segno + len(segnos) in files:
        segnos.append(first_segno + len(segnos))
    workers = workers or len(os.sched_getaffinity(0))
    # four runs per process, as pgrewindkit's scan makes them: a core taken by something else
    # then delays a quarter of a process's work, not half of everything
    count = max(1, min(workers * 4 if workers > 1 else 1, len(segnos) // 4))
    bounds = [len(segnos) * i // count for i in range(count + 1)]
    tasks = []
    for i in range(count):
        own = [str(files[s]) for s in segnos[bounds[i]:bounds[i + 1]]]
        extra = [str(files[segnos[bounds[i + 1]]])] if bounds[i + 1] < len(segnos) else []
        tasks.append((own + extra, seg_size, len(own), start_lsn % seg_size if i == 0 and start_lsn % seg_size else -1,
                      segnos[bounds[i]] * seg_size))
    if count == 1:
        results = [_run_task(tasks[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_run_task, tasks, chunksize=1)
    total = 0
    for i, (n, first, first_prev, _last, last_end, _run_lsn) in enumerate(results):
        if i and n and (first_prev != results[i - 1][3] or first - results[i - 1][4] > LONG_PHD):
            raise SystemExit(f"run {i} does not join the one before it")
        total += n
        if last_end < (results[i + 1][5] if i + 1 < len(results) else 0):
            break  # this run stopped early: so would a sequential reader
    return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    records, seconds = floor(args.path, args.start, args.workers)
    print(records, f"{seconds:.3f}", args.workers or len(os.sched_getaffinity(0)))


if __name__ == "__main__":
    sys.exit(main())
