#!/usr/bin/env python3
"""Image-heavy WAL: ``waldump --stats`` against pg_waldump and the floor, on ~500 MB of pgbench WAL
with checkpoints every 30 s, so that full-page images appear as in production (PostgreSQL 15,
scale 20, 4 clients; ~1.4 M records).

    .venv/bin/python benchmarks/wal_stats.py [--size-mb 500] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from common import (
    cached,
    compare_waldump,
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
        cluster = start_cluster(bins, {"max_wal_size": "'8GB'", "wal_keep_size": "'8GB'",
                                       "checkpoint_timeout": "'30s'", "synchronous_commit": "off"})
        try:
            start = wal_start(cluster)
            run_captured(pgbench_argv(bins, cluster, "-i", "-s", "20", "-q"), timeout=600)
            pgbench_until(bins, cluster, start, size_mb, "-c", "4", "-j", "2")
            keep_stopped(cluster, home)
        except BaseException:
            cluster.destroy()
            raise
        (home / "start.txt").write_text(start)
    return make


def image_wal(size_mb: int = 500, *, rebuild: bool = False) -> tuple[Path, str]:
    home = cached(f"image-{size_mb}", build(size_mb), rebuild=rebuild)
    return home / "data", (home / "start.txt").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"image-heavy pgbench WAL, {args.size_mb} MB (built once, cached)...", flush=True)
    pgdata, start = image_wal(args.size_mb, rebuild=args.rebuild)
    compare_waldump("image-heavy WAL", pgdata, start, rounds=args.rounds)


if __name__ == "__main__":
    main()
