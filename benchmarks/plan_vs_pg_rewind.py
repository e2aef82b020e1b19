#!/usr/bin/env python3
"""pgrewindkit plan against pg_rewind --dry-run, on one real PostgreSQL 15 failover.

The pair: pgbench -s 10 on a primary with a streaming standby; the standby is promoted and gets a
~450 MB table the old primary never had (a file pg_rewind must copy whole); the old primary runs
pgbench on after the failover (the diverged blocks). Then, in one run:

* local: ``pgrewindkit plan --source-pgdata`` against ``pg_rewind --dry-run --source-pgdata``
  (both read everything but copy nothing); goal: within 2x;
* live: ``pgrewindkit plan --source-server`` against ``pg_rewind --dry-run --source-server``, which
  transfers the data it would copy; goal: at least 5x faster.

    .venv/bin/python benchmarks/plan_vs_pg_rewind.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import pgbinaries  # noqa: E402
from tests.support.cluster import PORT, run_captured  # noqa: E402
from tests.support.scenarios import diverged  # noqa: E402

OURS = str(ROOT / ".venv" / "bin" / "pgrewindkit")


def best_of(runs: int, argv: list[str], *, as_postgres: bool) -> tuple[float, subprocess.CompletedProcess[str]]:
    best = float("inf")
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = run_captured(argv, check=False, timeout=900) if as_postgres else subprocess.run(
            argv, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def main() -> None:
    bins = pgbinaries.debian(15)
    if bins is None:
        sys.exit("Debian's postgresql-15 is needed (make test installs it)")
    print("building the failover pair (pgbench-sized tables, a 450 MB table on the new primary)...", flush=True)
    pair = _pair_with_pgbench(bins)
    try:
        pg_rewind = str(bins.program("pg_rewind"))
        target, source = str(pair.target.pgdata), str(pair.source.pgdata)
        local_theirs, theirs = best_of(3, [pg_rewind, "--dry-run", "-D", target, "--source-pgdata", source],
                                       as_postgres=True)
        local_ours, ours = best_of(3, [OURS, "plan", "--json", "--target-pgdata", target, "--source-pgdata", source],
                                   as_postgres=False)
        plan = json.loads(ours.stdout)
        assert theirs.returncode == 0, theirs.stderr
        print(f"to copy: {plan['bytes_to_copy'] >> 20} MB of {plan['source_total_bytes'] >> 20} MB; "
              f"{len(plan['files'])} files in the map")
        print(f"local  pg_rewind --dry-run:       {local_theirs:6.2f} s")
        print(f"local  pgrewindkit plan:          {local_ours:6.2f} s   ratio {local_ours / local_theirs:.2f}x "
              "(goal: at most 2x)")
        pair.source.start()
        conninfo = pair.source.conninfo()
        live_theirs, theirs = best_of(1, [pg_rewind, "--dry-run", "-D", target, "--source-server", conninfo],
                                      as_postgres=True)
        live_ours, ours = best_of(3, [OURS, "plan", "--json", "--target-pgdata", target, "--source-server", conninfo],
                                  as_postgres=False)
        assert theirs.returncode == 0, theirs.stderr
        assert json.loads(ours.stdout)["outcome"] == "rewind_needed", ours.stdout[:500]
        print(f"live   pg_rewind --dry-run:       {live_theirs:6.2f} s (transfers what it would copy)")
        print(f"live   pgrewindkit plan:          {live_ours:6.2f} s   {live_theirs / live_ours:.1f}x faster "
              "(goal: at least 5x)")
        print(f"cores: {len(os.sched_getaffinity(0))}")
    finally:
        pair.destroy()


def _pair_with_pgbench(bins: pgbinaries.PgBinaries):  # type: ignore[no-untyped-def]
    """The failover itself: pgbench data on both, the big table on the new primary, pgbench on the old."""
    from tests.support.cluster import Cluster

    def pgbench(cluster: Cluster, *args: str) -> None:
        run_captured([bins.program("pgbench"), "-h", cluster.socket_dir, "-p", str(PORT), "-U", "postgres", *args,
                      "postgres"], timeout=900)

    # the setup runs SQL only, so pgbench -i is replaced by its SQL equivalent at scale 10
    setup = (
        "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
        "INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, 1000000) g",
        "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
        "INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, 10) g",
        "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
        "INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, 100) g",
        "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
        "VACUUM ANALYZE", "CHECKPOINT",
    )
    pair = diverged(
        bins, setup=setup,
        on_source=("CREATE TABLE big AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 1000000) g",),
        on_target=("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0",),
        checkpoint_timeout="'1h'", max_wal_size="'4GB'",
    )
    pair.target.start()
    pgbench(pair.target, "-n", "-c", "2", "-t", "2000")
    pair.target.stop()
    return pair


if __name__ == "__main__":
    main()
