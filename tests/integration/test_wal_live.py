"""WAL from live PostgreSQL 15 servers: a promotion's timelines, and pgbench against pg_waldump."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit import LSN, open_wal
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.render.walstats import format_stats
from tests.support import pgbinaries
from tests.support.cluster import Cluster, new_cluster, run_pg
from tests.support.scenarios import Failover, failover

pytestmark = pytest.mark.integration


@pytest.fixture
def promoted(pg15: pgbinaries.PgBinaries) -> Iterator[Failover]:
    scenario = failover(
        pg15,
        setup=("CREATE TABLE t (id int PRIMARY KEY, v text)",),
        before=("INSERT INTO t SELECT g, repeat('a', 300) FROM generate_series(1, 3000) g",),
        wal_keep_size="'1GB'",
    )
    scenario.new.execute("CREATE EXTENSION pg_walinspect",
                         "INSERT INTO t SELECT g, repeat('b', 300) FROM generate_series(3001, 6000) g",
                         "CHECKPOINT")
    yield scenario
    scenario.destroy()


def test_timelines_are_followed_as_postgresql_does(promoted: Failover) -> None:
    """Read the new primary's pg_wal across the switchpoint: segments before it come from timeline
    1's files, the one holding it and later ones from timeline 2's, exactly as the server reads them."""
    new = promoted.new
    switch = LSN.parse(promoted.switchpoint)
    size = new.query_one("SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size'")
    start = LSN((switch.segment_number(size) - 1) * size)  # a whole segment before the one holding it
    flushed = new.query_one("SELECT pg_current_wal_flush_lsn()::text")
    theirs = new.query("SELECT start_lsn::text, end_lsn::text, prev_lsn::text, resource_manager, record_type, "
                       "record_length FROM pg_get_wal_records_info(%s, %s)", (str(start), flushed))
    wal = open_wal(new.pgdata)
    assert wal.history.timeline == 2
    scan = wal.scan(start)
    ours = [r for r in scan if r.end <= LSN.parse(flushed)]
    assert [(str(r.lsn), str(r.end), str(r.prev), r.rmgr, r.type, r.tot_len) for r in ours] == [
        (t["start_lsn"], t["end_lsn"], t["prev_lsn"], t["resource_manager"], t["record_type"], t["record_length"])
        for t in theirs
    ]
    for record in ours:
        segment_end = (record.lsn.segment_number(size) + 1) * size
        assert record.timeline == (1 if segment_end <= switch.value else 2), record.lsn
    assert {r.timeline for r in ours} == {1, 2}


@pytest.fixture
def pgbench_cluster(pg15: pgbinaries.PgBinaries) -> Iterator[Cluster]:
    cluster = new_cluster(pg15, checksums=True)
    cluster.set(wal_compression="lz4", max_wal_size="'1GB'", checkpoint_timeout="'1h'", wal_keep_size="'1GB'")
    cluster.start()
    yield cluster
    cluster.destroy()


def test_pgbench_wal_equals_pg_waldump(pgbench_cluster: Cluster, pg15: pgbinaries.PgBinaries) -> None:
    cluster = pgbench_cluster
    start = cluster.query_one("SELECT pg_current_wal_insert_lsn()::text")
    pgbench: list[str | Path] = [pg15.program("pgbench"), "-h", cluster.socket_dir, "-p", "54329", "-U", "postgres"]
    run_pg([*pgbench, "-i", "-s", "2", "-q", "postgres"])
    cluster.execute("CHECKPOINT")
    run_pg([*pgbench, "-t", "300", "-c", "2", "postgres"])
    cluster.stop()
    wal_dir = cluster.pgdata / "pg_wal"
    dump = subprocess.run([str(pg15.program("pg_waldump")), "-p", str(wal_dir), "-s", start],
                          capture_output=True, text=True, check=False, env={"LC_ALL": "C", "PATH": "/usr/bin"})
    theirs = [line.split(", desc: ")[0] for line in dump.stdout.splitlines() if line.startswith("rmgr: ")]
    scan = open_wal(cluster.pgdata).scan(LSN.parse(start))
    ours = []
    for record in scan:
        ours.append(f"rmgr: {record.rmgr:<11} len (rec/tot): {record.rec_len:>6}/{record.tot_len:>6}, "
                    f"tx: {record.xid:>10}, lsn: {record.lsn.high:X}/{record.lsn.low:08X}, "
                    f"prev {record.prev.high:X}/{record.prev.low:08X}")
    assert len(ours) > 10_000
    assert ours == theirs
    assert scan.end_of_wal is not None
    assert dump.stderr.strip() == f"pg_waldump: error: {scan.end_of_wal.message}"
    stats_out = subprocess.run([str(pg15.program("pg_waldump")), "--stats", "-p", str(wal_dir), "-s", start],
                               capture_output=True, text=True, check=False).stdout.splitlines()
    stats = WalStats(15)
    stats.add_raw(open_wal(cluster.pgdata).scan(LSN.parse(start)).raw(detail=False))
    assert format_stats(stats) == stats_out
