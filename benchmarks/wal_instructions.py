#!/usr/bin/env python3
"""Instructions per record, pgrewindkit against the floor, on the benchmarks' own WAL: a measure a
busy machine does not disturb (wall times on a shared 2-core machine move by a third between
rounds; instruction counts by well under 1 %).

Each program runs on one core (``taskset -c 0``: pgrewindkit then reads in one process, as the
floor does) under ``valgrind --tool=callgrind`` over N and 2N segments from the middle of the
benchmark's WAL (its first segments, right after a checkpoint, are mostly full-page images
whatever the workload), so that start-up cancels out: the cost per record is the difference of
the two counts over the difference of the records read, and start-up is what is left of the
N-segment run. pgrewindkit runs ``waldump --stats`` (``--stats=record`` on the mixed WAL) with
``--end`` at the segments' end; the floor reads a directory holding just those segments.

    .venv/bin/python benchmarks/wal_instructions.py [--segments N] [dense image mixed]

It needs valgrind and the WAL the other benchmarks build (run ``wal_dense.py``, ``wal_stats.py``
and ``wal_mixed.py`` once). Each WAL takes a few minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import CACHE, FLOOR, OURS, PYTHON

WALS = {"dense": ("dense-570", "--stats"), "image": ("image-500", "--stats"), "mixed": ("mixed-256", "--stats=record")}
COLLECTED = re.compile(r"Collected : (\d+)")
SEGMENT = re.compile(r"^[0-9A-F]{24}$")


def _instructions(argv: list[str]) -> tuple[int, str]:
    """Instructions the command ran (all its processes), and its standard output."""
    done = subprocess.run(["taskset", "-c", "0", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *argv], capture_output=True, text=True, check=False)
    counts = [int(n) for n in COLLECTED.findall(done.stderr)]
    if not counts:
        sys.exit(f"no instruction count from {argv[:3]}...: {done.stderr[-500:]}")
    return sum(counts), done.stdout


def _lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _ours(pgdata: Path, start: str, end: int, stats: str) -> tuple[int, int]:
    count, out = _instructions([OURS, "waldump", stats, "-q", "--path", str(pgdata), "--start", start,
                                "--end", _lsn(end)])
    total = re.search(r"^Total\s+(\d+)", out, re.MULTILINE)
    if total is None:
        sys.exit(f"no total in pgrewindkit's statistics:\n{out[-500:]}")
    return count, int(total.group(1))


def _floor(pgdata: Path, start: str, segments: list[Path]) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        for segment in segments:
            (Path(tmp) / segment.name).symlink_to(segment)
        count, out = _instructions([PYTHON, FLOOR, "--path", tmp, "--start", start])
    return count, int(out.split()[0])


def measure(name: str, segments: int) -> None:
    directory, stats = WALS[name]
    home = CACHE / directory
    if not (home / "ready").is_file():
        sys.exit(f"{home} is not built: run the WAL benchmark that builds it first")
    pgdata = home / "data"
    files = sorted(p for p in (pgdata / "pg_wal").iterdir() if SEGMENT.match(p.name))
    seg_size = files[-1].stat().st_size
    middle = files[len(files) // 2:]
    first = int(middle[0].name[8:16], 16) * (0x100000000 // seg_size) + int(middle[0].name[16:], 16)
    start = _lsn(first * seg_size)  # both begin at the first record that starts in that segment
    rows = []
    for n in (segments, 2 * segments):
        ours, ours_records = _ours(pgdata, start, (first + n) * seg_size, stats)
        floor, floor_records = _floor(pgdata, start, middle[:n])
        if ours_records != floor_records:
            sys.exit(f"{name}: pgrewindkit counted {ours_records} records, the floor {floor_records}")
        rows.append((ours, floor, ours_records))
    (ours1, floor1, records1), (ours2, floor2, records2) = rows
    per_ours = (ours2 - ours1) / (records2 - records1)
    per_floor = (floor2 - floor1) / (records2 - records1)
    print(f"== {name} WAL ({directory}), {segments} and {2 * segments} segments from {start}: "
          f"{records1} and {records2} records")
    print(f"per record:  pgrewindkit {per_ours:8.0f}   floor {per_floor:8.0f}   ratio {per_ours / per_floor:.2f}x")
    print(f"start-up:    pgrewindkit {(ours1 - per_ours * records1) / 1e6:6.0f} M  floor "
          f"{(floor1 - per_floor * records1) / 1e6:6.0f} M instructions")
    print(f"{2 * segments} segments in all: pgrewindkit / floor {ours2 / floor2:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wals", nargs="*", metavar="WAL", help=f"any of {', '.join(WALS)} (default: all)")
    parser.add_argument("--segments", type=int, default=2)
    args = parser.parse_args()
    for tool in ("valgrind", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install valgrind util-linux)")
    unknown = set(args.wals) - set(WALS)
    if unknown:
        parser.error(f"no such WAL: {', '.join(sorted(unknown))}")
    for name in args.wals or WALS:
        measure(name, args.segments)


if __name__ == "__main__":
    main()
