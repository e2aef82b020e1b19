#!/usr/bin/env python3
"""pgrewindkit plan against pg_rewind --dry-run on a WAL-heavy failover: the old primary wrote
>= 1.5 GB of dense pgbench WAL after the last common checkpoint (``pairs.heavy_pair``), all of which
both must read. Also times pg_waldump --stats and the floor over the same range of the target's
WAL, in the same run. Goal: plan at most 3x pg_rewind --dry-run.

    .venv/bin/python benchmarks/plan_heavy.py [--size-mb 1600] [--rounds 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import os

from common import compare_waldump
from pairs import heavy_pair
from plan_common import OURS, as_postgres, compare_plans, pg_rewind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"the WAL-heavy failover pair, {args.size_mb} MB of target WAL (built once, cached)...", flush=True)
    target, source = heavy_pair(args.size_mb, rebuild=args.rebuild)
    print(f"cores: {len(os.sched_getaffinity(0))}; times are median (min-max) of {args.rounds} rounds")
    plan = compare_plans(
        "local", [OURS, "plan", "--json", "--target-pgdata", str(target), "--source-pgdata", str(source)],
        as_postgres([pg_rewind(), "--dry-run", "-D", str(target), "--source-pgdata", str(source)]),
        rounds=args.rounds)
    common = plan["last_common_checkpoint"]
    assert isinstance(common, dict)
    checkpoint = common["lsn"]
    print(f"to copy: {int(str(plan['bytes_to_copy'])) >> 20} MB; target WAL read from the last common checkpoint "
          f"{checkpoint}:")
    compare_waldump("target WAL since the last common checkpoint", target, checkpoint, rounds=args.rounds)


if __name__ == "__main__":
    main()
