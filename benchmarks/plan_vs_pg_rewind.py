#!/usr/bin/env python3
"""pgrewindkit plan against pg_rewind --dry-run, on one real PostgreSQL 15 failover of seed size
(``pairs.seed_pair``: ~1.2 GB to copy, ~90,000 records of target WAL to read), in one run:

* local: ``pgrewindkit plan --source-pgdata`` against ``pg_rewind --dry-run --source-pgdata``
  (both read everything but copy nothing); goal: at most 1.5x;
* live over a Unix socket: ``--source-server`` against ``pg_rewind --dry-run --source-server``,
  which transfers the data it would copy (``plan_live_netns.py`` does it over a 1 Gbit/s link).

    .venv/bin/python benchmarks/plan_vs_pg_rewind.py [--rounds 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import subprocess

from pairs import seed_pair
from plan_common import OURS, PORT, as_postgres, compare_plans, local_socket_options, pg_ctl, pg_rewind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print("the seed-sized failover pair (built once, cached)...", flush=True)
    target, source = seed_pair(rebuild=args.rebuild)
    print(f"cores: {len(os.sched_getaffinity(0))}; times are median (min-max) of {args.rounds} rounds")
    plan = compare_plans(
        "local", [OURS, "plan", "--json", "--target-pgdata", str(target), "--source-pgdata", str(source)],
        as_postgres([pg_rewind(), "--dry-run", "-D", str(target), "--source-pgdata", str(source)]),
        rounds=args.rounds)
    print(f"to copy: {int(str(plan['bytes_to_copy'])) >> 20} MB of {int(str(plan['source_total_bytes'])) >> 20} MB")
    log = source.parent / "source.log"
    subprocess.run(pg_ctl(source, "start", options=local_socket_options(source), log=log), check=True,
                   stdout=subprocess.DEVNULL)
    try:
        conninfo = f"host={source.parent} port={PORT} user=postgres dbname=postgres"
        compare_plans("live (Unix socket)",
                      [OURS, "plan", "--json", "--target-pgdata", str(target), "--source-server", conninfo],
                      as_postgres([pg_rewind(), "--dry-run", "-D", str(target), "--source-server", conninfo]),
                      rounds=args.rounds)
    finally:
        subprocess.run(pg_ctl(source, "stop"), check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
