"""controldata and waldump against each major's own pg_controldata, pg_control_*() and pg_waldump,
14 to 18: the fixtures' WAL workload (fixtures/generate.py) run live on each tool set's server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from pgrewindkit import LSN, controldata_json, controldata_lines, open_wal, read_control_file
from pgrewindkit.formats.wal import WalRecord
from pgrewindkit.formats.wal.reader import EndOfWal
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.render.waldump import record_lines
from pgrewindkit.render.walstats import format_stats
from tests.fix_postgres import EVERY_MAJOR
from tests.support import pgbinaries
from tests.support.cluster import Cluster, new_cluster, run_captured
from tests.support.workloads import wal_workload

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("bins", EVERY_MAJOR, indirect=True)]


@attrs.frozen
class Workload:
    """A stopped cluster after the workload, what its server said while running, and our decoding."""

    bins: pgbinaries.PgBinaries
    cluster: Cluster
    start: str
    live_control: dict[str, Any]  # pg_control_*() of the running server
    live_control_ours: dict[str, Any]  # controldata --json of the file at that moment
    records: list[WalRecord]
    end: EndOfWal


_WORKLOADS: dict[str, Workload] = {}


@pytest.fixture(scope="module")
def workloads() -> Iterator[dict[str, Workload]]:
    yield _WORKLOADS
    for workload in _WORKLOADS.values():
        workload.cluster.destroy()
    _WORKLOADS.clear()


@pytest.fixture
def workload(bins: pgbinaries.PgBinaries, workloads: dict[str, Workload]) -> Workload:
    """The workload on ``bins``'s server, run once per module."""
    key = str(bins.bindir)
    if key not in workloads:
        workloads[key] = _run_workload(bins)
    return workloads[key]


def _run_workload(bins: pgbinaries.PgBinaries) -> Workload:
    cluster = new_cluster(bins, checksums=True)
    try:
        cluster.set(wal_level="logical", max_prepared_transactions=5, checkpoint_timeout="'1h'",
                    max_wal_size="'4GB'", wal_keep_size="'1GB'")
        cluster.start()
        built = cluster.query_one("SELECT enumvals::text FROM pg_settings WHERE name = 'wal_compression'")
        # a boolean before 15 ("on" = pglz), then the methods this build has
        compressions = [m for m in ("pglz", "lz4", "zstd") if m in built] if built else ["on"]
        cluster.execute("SELECT pg_switch_wal()", "CHECKPOINT")
        start = cluster.query_one("SELECT pg_current_wal_insert_lsn()::text")
        for statement in wal_workload(bins.major, compressions):
            cluster.execute(statement)
        live, ours = _control_at_one_moment(cluster)
        cluster.stop()
        scan = open_wal(cluster.pgdata).scan(LSN.parse(start), exact=True)
        records = list(scan)
        assert scan.end_of_wal is not None
        return Workload(bins, cluster, start, live, ours, records, scan.end_of_wal)
    except BaseException:
        cluster.destroy()
        raise


def _control_at_one_moment(cluster: Cluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """The server's pg_control_*() and ours of the file, taken with nothing written in between."""
    def answers() -> dict[str, Any]:
        found: dict[str, Any] = {}
        for function in ("system", "checkpoint", "recovery", "init"):
            found.update(cluster.query(f"SELECT * FROM pg_control_{function}()")[0])
        return found

    for _ in range(5):
        before = answers()
        ours = controldata_json(read_control_file(cluster.pgdata))
        if answers() == before:
            break
    return before, ours


def _program(workload: Workload, name: str, *args: str) -> tuple[list[str], list[str]]:
    """stdout and stderr lines of one of the tool set's programs, run as its own release runs."""
    ran = run_captured([workload.bins.program(name), *args], env=workload.bins.env, check=False)
    return ran.stdout.splitlines(), ran.stderr.splitlines()


def test_json_equals_pg_control_functions(workload: Workload) -> None:
    assert workload.live_control
    for column, theirs in workload.live_control.items():
        value = workload.live_control_ours[column]
        if hasattr(theirs, "isoformat"):
            theirs = theirs.isoformat()
        assert str(value) == str(theirs) if not isinstance(theirs, bool) else value is theirs, column


@pytest.mark.usefixtures("utc")  # the programs run in UTC (run_captured)
def test_text_equals_pg_controldata(workload: Workload) -> None:
    theirs, errors = _program(workload, "pg_controldata", str(workload.cluster.pgdata))
    assert not errors
    assert controldata_lines(read_control_file(workload.cluster.pgdata)) == theirs


def test_records_equal_pg_waldump(workload: Workload) -> None:
    theirs, errors = _program(workload, "pg_waldump", "-b", "-p", str(workload.cluster.pgdata / "pg_wal"),
                              "-s", workload.start)
    ours = [line for record in workload.records for line in record_lines(record)]
    assert len(workload.records) > 1000 and len(ours) == len(theirs)
    for mine, line in zip(ours, theirs):
        if mine.startswith("rmgr: "):  # pg_waldump adds each resource manager's own description
            assert line == mine or line.startswith(mine + " "), line
        else:
            assert line == mine
    # pg_fatal() is "fatal:" up to 14, "error:" from 15: the message after it is what must agree
    assert [e.replace("pg_waldump: fatal: ", "pg_waldump: error: ") for e in errors] == [
        f"pg_waldump: error: {workload.end.message}"]


@pytest.mark.parametrize("per_record", [False, True], ids=["stats", "stats=record"])
def test_stats_equal_pg_waldump(workload: Workload, per_record: bool) -> None:
    option = "--stats=record" if per_record else "--stats"
    theirs, _errors = _program(workload, "pg_waldump", option, "-p", str(workload.cluster.pgdata / "pg_wal"),
                               "-s", workload.start)
    stats = WalStats(workload.bins.major)
    stats.add_raw(open_wal(workload.cluster.pgdata).scan(LSN.parse(workload.start), exact=True).raw(detail=False))
    assert format_stats(stats, per_record=per_record) == theirs
