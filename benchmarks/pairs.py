"""The failover pairs the plan benchmarks time (PostgreSQL 15), built once and cached.

* ``seed``: pgbench-sized tables (scale 10, as SQL); a 450 MB table created on the new primary
  after the failover (a file pg_rewind must copy whole: ~1.2 GB to copy with the new primary's
  WAL); pgbench on the old primary after it (2 clients x 2,000 transactions).
* ``heavy``: the same, but the old primary then writes >= 1.5 GB of dense WAL after the last common
  checkpoint: pgbench's TPC-B-like transaction, one per COMMIT, run by a server-side loop in two
  sessions (the same records as pgbench writes, without a client round trip per statement, which
  on a busy 2-core machine made pgbench itself write only ~1 MB/s); ``full_page_writes`` on,
  ``wal_compression`` off.

Each is ``CACHE/<name>/{target,source}``, both stopped; the plans only read them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from common import cached, dense_settings, keep_stopped, pg15, pgbench_argv, run_captured, wal_bytes, wal_start
from tests.support.cluster import PORT
from tests.support.scenarios import diverged

SETUP = (
    "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
    "INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, 1000000) g",
    "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
    "INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, 10) g",
    "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
    "INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, 100) g",
    "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    "VACUUM ANALYZE", "CHECKPOINT",
)

# pgbench's built-in transaction ("tpcb-like"), committed one by one
TPCB_LOOP = """DO $$ DECLARE a int; BEGIN FOR i IN 1..20000 LOOP
  a := 1 + (random() * 999999)::int;
  UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = a;
  PERFORM abalance FROM pgbench_accounts WHERE aid = a;
  UPDATE pgbench_tellers SET tbalance = tbalance + 1 WHERE tid = 1 + (random() * 99)::int;
  UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1 + (random() * 9)::int;
  INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, a, 1, now());
  COMMIT;
END LOOP; END $$"""


def _build(target_wal_mb: int) -> Callable[[Path], None]:
    def make(home: Path) -> None:
        bins = pg15()
        pair = diverged(
            bins, setup=SETUP,
            on_source=("CREATE TABLE big AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 1000000) g",),
            on_target=("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0",),
            **dense_settings(),
        )
        try:
            pair.target.start()
            if target_wal_mb:
                start = wal_start(pair.target)
                while wal_bytes(pair.target, start) < target_wal_mb << 20:
                    psql = [str(bins.program("psql")), "-X", "-q", "-h", str(pair.target.socket_dir), "-p", str(PORT),
                            "-U", "postgres", "-c", TPCB_LOOP, "postgres"]
                    sessions = [subprocess.Popen(psql, stdout=subprocess.DEVNULL, user="postgres") for _ in range(2)]
                    for session in sessions:
                        session.wait(900)
                    print(f"  {wal_bytes(pair.target, start) >> 20} MB of WAL", flush=True)
            else:
                run_captured(pgbench_argv(bins, pair.target, "-n", "-c", "2", "-t", "2000"), timeout=900)
            keep_stopped(pair.target, home, "target")
            keep_stopped(pair.source, home, "source")
        except BaseException:
            pair.destroy()
            raise
    return make


def seed_pair(*, rebuild: bool = False) -> tuple[Path, Path]:
    home = cached("pair-seed", _build(0), rebuild=rebuild)
    return home / "target", home / "source"


def heavy_pair(target_wal_mb: int = 1600, *, rebuild: bool = False) -> tuple[Path, Path]:
    home = cached(f"pair-heavy-{target_wal_mb}", _build(target_wal_mb), rebuild=rebuild)
    return home / "target", home / "source"
