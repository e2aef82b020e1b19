#!/usr/bin/env python3
"""Mixed small records: ``waldump --stats=record`` against pg_waldump and the floor, on ~256 MB of
WAL of many record kinds (``mixed_workload.sql``, run round after round with PostgreSQL 15: DDL,
heap, btree, hash, GIN, GiST, SP-GiST and BRIN indexes, partitions, one-row transactions,
subtransactions, multixacts, two-phase commit, sequences, truncate, unlogged tables, materialized
views, vacuum, cluster, reindex, large objects, logical messages, databases, checkpoints).

    .venv/bin/python benchmarks/wal_mixed.py [--size-mb 256] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from common import ROOT, cached, compare_waldump, keep_stopped, pg15, run_sql_file, start_cluster, wal_bytes, wal_start

WORKLOAD = ROOT / "benchmarks" / "mixed_workload.sql"


def build(size_mb: int) -> Callable[[Path], None]:
    def make(home: Path) -> None:
        bins = pg15()
        cluster = start_cluster(bins, {"max_wal_size": "'16GB'", "wal_keep_size": "'16GB'", "wal_level": "logical",
                                       "max_prepared_transactions": "10", "full_page_writes": "on",
                                       "wal_compression": "off"})
        try:
            start = wal_start(cluster)
            while wal_bytes(cluster, start) < size_mb << 20:
                run_sql_file(bins, cluster, WORKLOAD)
                print(f"  {wal_bytes(cluster, start) >> 20} MB of WAL", flush=True)
            keep_stopped(cluster, home)
        except BaseException:
            cluster.destroy()
            raise
        (home / "start.txt").write_text(start)
    return make


def mixed_wal(size_mb: int = 256, *, rebuild: bool = False) -> tuple[Path, str]:
    home = cached(f"mixed-{size_mb}", build(size_mb), rebuild=rebuild)
    return home / "data", (home / "start.txt").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"mixed small records, {args.size_mb} MB (built once, cached)...", flush=True)
    pgdata, start = mixed_wal(args.size_mb, rebuild=args.rebuild)
    compare_waldump("mixed small records", pgdata, start, rounds=args.rounds, per_record=True)


if __name__ == "__main__":
    main()
