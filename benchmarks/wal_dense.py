#!/usr/bin/env python3
"""Dense WAL: ``waldump --stats`` against pg_waldump and the floor, on ~570 MB of pgbench WAL made
of many small transactions (PostgreSQL 15, scale 10, 2 clients, ``full_page_writes`` on,
``wal_compression`` off, no checkpoint during the run: few full-page images, ~4.5 M records).

    .venv/bin/python benchmarks/wal_dense.py [--size-mb 570] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from common import (
    cached,
    compare_waldump,
    dense_settings,
    keep_stopped,
    pg15,
    pgbench_argv,
    pgbench_until,
    run_captured,
    start_cluster,
    wal_start,
)


def build(size_mb: int) -> Callable[[Path], None]:
    def make(home: Path) -> None:
        bins = pg15()
        cluster = start_cluster(bins, dense_settings())
        try:
            run_captured(pgbench_argv(bins, cluster, "-i", "-s", "10", "-q"), timeout=600)
            cluster.execute("CHECKPOINT")
            start = wal_start(cluster)
            pgbench_until(bins, cluster, start, size_mb, "-c", "2", "-j", "2")
            keep_stopped(cluster, home)
        except BaseException:
            cluster.destroy()
            raise
        (home / "start.txt").write_text(start)
    return make


def dense_wal(size_mb: int = 570, *, rebuild: bool = False) -> tuple[Path, str]:
    home = cached(f"dense-{size_mb}", build(size_mb), rebuild=rebuild)
    return home / "data", (home / "start.txt").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=570)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"dense pgbench WAL, {args.size_mb} MB (built once, cached)...", flush=True)
    pgdata, start = dense_wal(args.size_mb, rebuild=args.rebuild)
    compare_waldump("dense WAL", pgdata, start, rounds=args.rounds)


if __name__ == "__main__":
    main()
