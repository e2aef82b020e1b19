#!/usr/bin/env python3
"""Mixed small records: ``waldump --stats=record`` against pg_waldump and the floor, on ~256 MB of
WAL of many record kinds (``mixed_workload.sql``, run round after round with PostgreSQL 15: DDL,
heap, btree, hash, GIN, GiST, SP-GiST and BRIN indexes, partitions, one-row transactions,
subtransactions, multixacts, two-phase commit, sequences, truncate, unlogged tables, materialized
views, vacuum, cluster, reindex, large objects, logical messages, databases, checkpoints).

    .venv/bin/python benchmarks/wal_mixed.py [--size-mb 256] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

from common import ROOT, Cluster, run_sql_file, wal_benchmark, wal_bytes
from tests.support.pgbinaries import PgBinaries

WORKLOAD = ROOT / "benchmarks" / "mixed_workload.sql"
SETTINGS: dict[str, object] = {"max_wal_size": "'16GB'", "wal_keep_size": "'16GB'", "wal_level": "logical",
                               "max_prepared_transactions": "10", "full_page_writes": "on",
                               "wal_compression": "off"}


def fill(bins: PgBinaries, cluster: Cluster, start: str, size_mb: int) -> None:
    while wal_bytes(cluster, start) < size_mb << 20:
        run_sql_file(bins, cluster, WORKLOAD)
        print(f"  {wal_bytes(cluster, start) >> 20} MB of WAL", flush=True)


if __name__ == "__main__":
    wal_benchmark(__doc__, "mixed small records", "mixed", 256, SETTINGS, fill, per_record=True)
