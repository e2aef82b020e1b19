#!/usr/bin/env python3
"""Dense WAL: ``waldump --stats`` against pg_waldump and the floor, on ~570 MB of pgbench WAL made
of many small transactions (PostgreSQL 15, scale 10, 2 clients, ``full_page_writes`` on,
``wal_compression`` off, no checkpoint during the run: few full-page images, ~6.6 M records).

    .venv/bin/python benchmarks/wal_dense.py [--size-mb 570] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

from common import Cluster, dense_settings, pgbench_argv, pgbench_until, run_captured, wal_benchmark, wal_start
from tests.support.pgbinaries import PgBinaries


def fill(bins: PgBinaries, cluster: Cluster, _start: str, size_mb: int) -> str:
    """pgbench's tables, a checkpoint, then transactions: the benchmark reads only their WAL."""
    run_captured(pgbench_argv(bins, cluster, "-i", "-s", "10", "-q"), timeout=600)
    cluster.execute("CHECKPOINT")
    start = wal_start(cluster)
    pgbench_until(bins, cluster, start, size_mb, "-c", "2", "-j", "2")
    return start


if __name__ == "__main__":
    wal_benchmark(__doc__, "dense WAL", "dense", 570, dense_settings(), fill)
