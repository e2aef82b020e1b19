#!/usr/bin/env python3
"""pgrewindkit waldump --stats against pg_waldump --stats, on ~500 MB of pgbench WAL.

Builds the WAL once with Debian's PostgreSQL 15 (pgbench, checkpoints every 30 s so full-page
images appear as in production), then runs both tools over it in one run and prints their times,
the ratio, the record counts and pgrewindkit's peak memory. Run after `make test` (which installs
PostgreSQL 15), as root or as a user that may start PostgreSQL:

    .venv/bin/python benchmarks/wal_stats.py [--size-mb 500] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import pgbinaries  # noqa: E402
from tests.support.cluster import PORT, Cluster, new_cluster, run_captured  # noqa: E402

CACHE = Path("/var/tmp/pgrewindkit-bench-wal")


def build_wal(size_mb: int) -> tuple[Path, str]:
    """A stopped cluster holding at least ``size_mb`` of pgbench WAL; returns (pgdata, start LSN)."""
    marker = CACHE / "start.txt"
    if marker.is_file() and int((CACHE / "size.txt").read_text()) >= size_mb:
        return CACHE / "data", marker.read_text().strip()
    bins = pgbinaries.debian(15)
    if bins is None:
        sys.exit("Debian's postgresql-15 is needed (make test installs it)")
    cluster = new_cluster(bins, wal_segsize_mb=None)
    cluster.set(max_wal_size="'8GB'", wal_keep_size="'8GB'", checkpoint_timeout="'30s'", synchronous_commit="off")
    cluster.start()
    pgbench = [bins.program("pgbench"), "-h", cluster.socket_dir, "-p", str(PORT), "-U", "postgres", "postgres"]
    start = cluster.query_one("SELECT pg_current_wal_insert_lsn()::text")
    run_captured([*pgbench[:-1], "-i", "-s", "20", "-q", "postgres"], timeout=600)
    while _wal_bytes(cluster, start) < size_mb << 20:
        run_captured([*pgbench[:-1], "-c", "4", "-j", "2", "-T", "10", "postgres"], timeout=600)
        print(f"  {_wal_bytes(cluster, start) >> 20} MB of WAL", flush=True)
    cluster.stop()
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    shutil.move(str(cluster.pgdata), CACHE / "data")
    shutil.rmtree(cluster.workdir, ignore_errors=True)
    marker.write_text(start)
    (CACHE / "size.txt").write_text(str(size_mb))
    return CACHE / "data", start


def _wal_bytes(cluster: Cluster, start: str) -> int:
    return int(cluster.query_one("SELECT pg_current_wal_insert_lsn() - %s::pg_lsn", (start,)))


def timed(argv: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS in MB (the process and its children) and stdout of one command."""
    read, write = os.pipe()
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, {**os.environ, "LC_ALL": "C"},
                         file_actions=[(os.POSIX_SPAWN_DUP2, write, 1), (os.POSIX_SPAWN_CLOSE, read)])
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    _pid, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    os.close(read)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{argv[0]} failed")
    return elapsed, usage.ru_maxrss // 1024, b"".join(chunks).decode()


def total_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Total"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the WAL for the next run (default: remove it)")
    args = parser.parse_args()
    print(f"building {args.size_mb} MB of pgbench WAL with PostgreSQL 15 (once)...", flush=True)
    pgdata, start = build_wal(args.size_mb)
    wal_mb = sum(p.stat().st_size for p in (pgdata / "pg_wal").iterdir() if p.is_file()) >> 20
    pg_waldump = str(pgbinaries.debian(15).program("pg_waldump"))  # type: ignore[union-attr]
    ours = [str(ROOT / ".venv" / "bin" / "pgrewindkit"), "waldump", "--stats", "--path", str(pgdata), "--start", start]
    theirs = [pg_waldump, "--stats", "-p", str(pgdata / "pg_wal"), "-s", start]
    timed(theirs)  # warm the page cache for both
    their_time, their_rss, their_out = timed(theirs)
    our_time, our_rss, our_out = timed(ours)
    same = total_line(our_out) == total_line(their_out)
    print(f"WAL: {wal_mb} MB in pg_wal from {start}; {total_line(their_out).split()[1]} records")
    print(f"pg_waldump --stats:              {their_time:7.2f} s   peak RSS {their_rss:5d} MB")
    print(f"pgrewindkit waldump --stats:     {our_time:7.2f} s   peak RSS {our_rss:5d} MB (all processes)")
    print(f"ratio (pgrewindkit / pg_waldump): {our_time / their_time:.2f}x   same totals: {same}")
    print(f"cores: {len(os.sched_getaffinity(0))}, max RSS of this script: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    if not args.keep:
        shutil.rmtree(CACHE, ignore_errors=True)
    if not same:
        sys.exit("the totals differ")


if __name__ == "__main__":
    main()
