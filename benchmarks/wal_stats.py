#!/usr/bin/env python3
"""Image-heavy WAL: ``waldump --stats`` against pg_waldump and the floor, on ~500 MB of pgbench WAL
with checkpoints every 30 s, so that full-page images appear as in production (PostgreSQL 15,
scale 20, 4 clients; ~0.6 M records).

    .venv/bin/python benchmarks/wal_stats.py [--size-mb 500] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

from common import Cluster, pgbench_argv, pgbench_until, run_captured, wal_benchmark
from tests.support.pgbinaries import PgBinaries

SETTINGS: dict[str, object] = {"max_wal_size": "'8GB'", "wal_keep_size": "'8GB'", "checkpoint_timeout": "'30s'",
                               "synchronous_commit": "off"}


def fill(bins: PgBinaries, cluster: Cluster, start: str, size_mb: int) -> None:
    run_captured(pgbench_argv(bins, cluster, "-i", "-s", "20", "-q"), timeout=600)
    pgbench_until(bins, cluster, start, size_mb, "-c", "4", "-j", "2")


if __name__ == "__main__":
    wal_benchmark(__doc__, "image-heavy WAL", "image", 500, SETTINGS, fill)
