"""inspect on real directories: a crashed server, and the live demo."""

from __future__ import annotations

import io
import subprocess

import pytest

from pgrewindkit import LSN, cli
from pgrewindkit.analysis.inspection import inspect_datadir
from tests.support import pgbinaries
from tests.support.cluster import new_cluster

pytestmark = pytest.mark.integration


def test_crashed_data_directory(pg15: pgbinaries.PgBinaries) -> None:
    cluster = new_cluster(pg15)
    try:
        cluster.start()
        cluster.execute("CREATE TABLE t AS SELECT generate_series(1, 5000) g", "CHECKPOINT",
                        "INSERT INTO t SELECT generate_series(1, 5000)")
        end_before_crash = cluster.query_one("SELECT pg_current_wal_insert_lsn()::text")
        running = inspect_datadir(cluster.pgdata)
        assert running.server.running and not running.server.stale
        pid = cluster.query_one("SELECT pg_backend_pid()")  # any backend: the postmaster is its parent
        postmaster = int((cluster.pgdata / "postmaster.pid").read_text().split()[0])
        assert pid != postmaster
        subprocess.run(["kill", "-9", str(postmaster)], check=True)
        cluster.running = False
        cluster.wait_for(lambda: not inspect_datadir(cluster.pgdata).server.running)
        crashed = inspect_datadir(cluster.pgdata)
        assert crashed.server.stale and crashed.control.state.description == "in production"
        assert crashed.wal.end is not None and crashed.wal.end >= LSN.parse(end_before_crash)
        severities = {f.code: str(f.severity) for f in crashed.findings}
        # PostgreSQL will run crash recovery and start: a warning, not critical
        assert severities.get("crashed") == "warning" and "stale_postmaster_pid" in severities
    finally:
        cluster.destroy()  # the postmaster is gone; its backends end when they notice


def test_live_demo(pg15: pgbinaries.PgBinaries) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["demo", "--live", "--scale", "1"], out=out, err=err) == 0, err.getvalue()
    text = out.getvalue()
    assert "is streaming from the source" in text and "streaming: True" in text and "arrived: True" in text
