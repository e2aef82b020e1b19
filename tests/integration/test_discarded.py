"""What a rewind throws away, against what was really written (issue 15): on 15 (Debian), 18 (PyPI),
10 (npm) and the project's 9.5 and 9.6, the old primary goes on after its standby's promotion with
known work (committed, rolled back, prepared, a subtransaction, DDL, a relation created and dropped
again, HOT and other updates, deletes, a TRUNCATE, a COPY, a sequence, logical messages); the
report, offline and with the new primary as a live source, names the same committed transactions,
commit times and per-table counts. One scenario per major, built once for the module. 9.5 has no
logical messages (``pg_logical_emit_message`` came in 9.6): its scenario writes none."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from pgrewindkit import render
from pgrewindkit.actions.failback import failback
from pgrewindkit.analysis.discarded import DiscardedWork, RelationChanges, discarded_work
from pgrewindkit.analysis.plan import plan_rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import FailbackError
from pgrewindkit.formats.catalog import CLOG_ABORTED, CLOG_COMMITTED, CLOG_IN_PROGRESS, CommitLog
from pgrewindkit.majors import versions
from pgrewindkit.majors.records import catalog_layout, record_layouts
from tests.fix_postgres import install
from tests.support import pgbinaries
from tests.support.cluster import Cluster, tree_hash
from tests.support.scenarios import keep_wal, streaming_pair, wait_replayed

pytestmark = pytest.mark.integration

SETUP = (
    "CREATE DATABASE app",
)
APP_SETUP = (
    "CREATE TABLE orders (id serial PRIMARY KEY, v int, note text) WITH (fillfactor = 50)",
    "CREATE TABLE items (id int, v int)",
    "CREATE TABLE truncme (a int)",
    "INSERT INTO orders (v) SELECT g FROM generate_series(1, 10) g",
    "INSERT INTO truncme SELECT generate_series(1, 5)",
    "CHECKPOINT",
)


@attrs.define
class Written:
    """What the workload wrote on the old primary after the split."""

    committed: dict[int, str] = attrs.Factory(dict)  # xid -> what
    subxid: int = 0
    subxid_parent: int = 0
    prepared: int = 0
    aborted: int = 0
    commit_times: dict[int, datetime.datetime] = attrs.Factory(dict)


@attrs.define
class Scenario:
    major: int
    target: Cluster
    source: Cluster
    written: Written
    database_oid: int


def _xid(conn: Any) -> int:
    return int(conn.execute("SELECT txid_current()").fetchone()[0])


def _run(conn: Any, what: str, written: Written, *statements: str) -> int:
    """One committed transaction of ``statements``; its xid remembered as ``what``."""
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)
        xid = _xid(conn)
    written.committed[xid] = what
    return xid


def _workload(target: Cluster) -> Written:
    written = Written()
    messages = record_layouts(target.major).logical_messages
    with target.connect("app") as conn:
        _run(conn, "insert 120", written, "INSERT INTO orders (v) SELECT g FROM generate_series(1, 120) g")
        with conn.transaction():
            with conn.cursor().copy("COPY items (id, v) FROM STDIN") as copy:
                for i in range(50):
                    copy.write_row((i, i))
            written.committed[_xid(conn)] = "copy 50"
        _run(conn, "updates", written, "UPDATE orders SET v = v + 1 WHERE id IN (1, 2)",
             "UPDATE orders SET id = id + 1000 WHERE id IN (3, 4)")
        _run(conn, "delete", written, "DELETE FROM orders WHERE id = 5")
        with conn.transaction(force_rollback=True):
            conn.execute("INSERT INTO orders (v) VALUES (-1)")
            written.aborted = _xid(conn)
        with conn.transaction():
            conn.execute("INSERT INTO items VALUES (100, 1)")
            conn.execute("SAVEPOINT s")
            conn.execute("INSERT INTO items VALUES (101, 2)")
            conn.execute("RELEASE SAVEPOINT s")
            written.subxid = int(conn.execute("SELECT xmin::text::int8 FROM items WHERE id = 101").fetchone()[0])
            written.subxid_parent = _xid(conn)
        written.committed[written.subxid_parent] = "subtransaction"
        conn.execute("BEGIN")
        conn.execute("INSERT INTO items VALUES (200, 7)")
        written.prepared = _xid(conn)
        conn.execute("PREPARE TRANSACTION 't1'")
        _run(conn, "create tmp", written, "CREATE TABLE tmp_after (a int)")
        _run(conn, "insert tmp", written, "INSERT INTO tmp_after SELECT generate_series(1, 3)")
        _run(conn, "drop tmp", written, "DROP TABLE tmp_after")
        _run(conn, "create kept", written, "CREATE TABLE kept_after (a int)", "INSERT INTO kept_after VALUES (1), (2)")
        _run(conn, "truncate", written, "TRUNCATE truncme")
        if messages:
            _run(conn, "message", written, "SELECT pg_logical_emit_message(true, 'audit', 'kept')")
            conn.execute("SELECT pg_logical_emit_message(false, 'ping', 'now')")
        for xid in written.committed:
            written.commit_times[xid] = conn.execute("SELECT pg_xact_commit_timestamp(%s::text::xid)",
                                                     (str(xid),)).fetchone()[0]
    return written


def _scenario(bins: pgbinaries.PgBinaries) -> Scenario:
    settings = {**keep_wal(bins.major), "wal_log_hints": "on", "max_prepared_transactions": 5,
                "track_commit_timestamp": "on", "autovacuum": "off"}
    target, source = streaming_pair(bins, settings, setup=SETUP, prefix="source")
    try:
        target.wait_for(lambda: True)
        with target.connect("app") as conn:
            for statement in APP_SETUP:
                conn.execute(statement)
        wait_replayed(source, target.insert_lsn())
        source.promote()
        source.execute("CHECKPOINT")
        written = _workload(target)
        database_oid = int(target.query_one("SELECT oid::int8 FROM pg_database WHERE datname = 'app'"))
        target.stop()
        source.stop()
    except BaseException:
        target.destroy()
        source.destroy()
        raise
    return Scenario(bins.major, target, source, written, database_oid)


MAJORS = {15: lambda: install("pg15-debian"), 18: lambda: install("pg18.6"), 10: lambda: pgbinaries.npm(10),
          95: lambda: install("pg9.5.25"), 96: lambda: install("pg9.6.22")}


@pytest.fixture(scope="module", params=sorted(MAJORS), ids=lambda m: f"pg{versions.display(m)}")
def scenario(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    built = _scenario(MAJORS[request.param]())
    yield built
    built.target.destroy()
    built.source.destroy()


def _table(report: DiscardedWork, name: str) -> RelationChanges:
    matches = [r for r in report.relations if r.name == name and r.kind == "r"]
    assert len(matches) == 1, (name, report.relations)
    return matches[0]


def _check(report: DiscardedWork, scenario: Scenario) -> None:
    written = scenario.written
    assert {t.xid for t in report.committed} == set(written.committed)
    for t in report.committed:
        assert t.commit_time == written.commit_times[t.xid], t
        assert t.database == "app"
    sub = next(t for t in report.committed if t.xid == written.subxid_parent)
    assert sub.subxids == (written.subxid,)
    assert sub.relations == ("public.items",)
    assert [(p.xid, p.gid, p.database) for p in report.prepared] == [(written.prepared, "t1", "app")]
    assert report.aborted == 1
    assert report.first_commit_time == min(written.commit_times.values())
    assert report.last_commit_time == max(written.commit_times.values())
    assert report.source_promoted_at is not None
    assert report.source_promoted_at <= report.first_commit_time
    orders = _table(report, "public.orders")
    assert (orders.inserts, orders.updates, orders.hot_updates, orders.deletes) == (120, 4, 2, 1)
    assert not (orders.created or orders.dropped or orders.truncated)
    items = _table(report, "public.items")
    assert (items.inserts, items.updates, items.deletes) == (52, 0, 0)
    truncme = _table(report, "public.truncme")
    assert truncme.truncated and not truncme.dropped and not truncme.created
    kept = _table(report, "public.kept_after")
    assert kept.created and not kept.dropped and kept.inserts == 2
    gone = [r for r in report.relations if r.created and r.dropped]
    assert len(gone) == 1 and gone[0].inserts == 3
    assert gone[0].name in ("public.tmp_after", None)
    index = [r for r in report.relations if r.kind == "i" and r.name == "public.orders"]
    assert [r.relation for r in index] == ["public.orders_pkey"]
    assert index[0].index_changes >= 122  # 120 inserts and the two non-HOT updates
    aborted = [r for r in report.aborted_relations if r.name == "public.orders" and r.kind == "r"]
    assert aborted and aborted[0].inserts == 1
    assert [s.name for s in report.sequences] == ["public.orders_id_seq"]
    messages = {(m.prefix, m.transactional, m.outcome) for m in report.logical_messages}
    if not record_layouts(scenario.major).logical_messages:
        assert messages == set()
        return
    assert messages == {("audit", True, "committed"), ("ping", False, "not transactional")}
    audit = next(m for m in report.logical_messages if m.prefix == "audit")
    assert written.committed[audit.xid or 0] == "message"


def test_offline_report_matches_what_was_written(scenario: Scenario) -> None:
    report = discarded_work(scenario.source.pgdata, scenario.target.pgdata)
    assert report.names_from == "target"
    _check(report, scenario)


def test_commit_log_says_what_the_server_did(scenario: Scenario) -> None:
    """The names judge catalogue tuples by the commit log: pg_clog before 10, pg_xact after."""
    directory = scenario.target.pgdata / catalog_layout(scenario.major).clog_directory
    log = CommitLog(lambda name: (directory / name).read_bytes() if (directory / name).exists() else None)
    written = scenario.written
    assert {log.status(xid) for xid in written.committed} == {CLOG_COMMITTED}
    assert log.status(written.subxid) == CLOG_COMMITTED
    assert (log.status(written.aborted), log.status(written.prepared)) == (CLOG_ABORTED, CLOG_IN_PROGRESS)


def test_live_source_names_the_same(scenario: Scenario) -> None:
    scenario.source.start()
    try:
        with LiveSource(scenario.source.conninfo()) as source:
            report = discarded_work(source, scenario.target.pgdata)
    finally:
        scenario.source.stop()
    assert report.names_from == "source and target"
    _check(report, scenario)


def test_plan_carries_the_same_report(scenario: Scenario) -> None:
    plan = plan_rewind(scenario.source.pgdata, scenario.target.pgdata)
    assert plan.discarded is not None
    assert {t.xid for t in plan.discarded.committed} == set(scenario.written.committed)
    assert any(f"{len(scenario.written.committed)} transactions committed on the old primary" in line
               for line in render.plan_lines(plan))


def test_failback_refuses_to_discard(scenario: Scenario) -> None:
    before = tree_hash(scenario.target.pgdata)
    scenario.source.start()
    try:
        with pytest.raises(FailbackError) as info:
            failback(scenario.target.pgdata, scenario.source.conninfo(), refuse_if_discarded=True, timeout=30)
    finally:
        scenario.source.stop()
    assert info.value.kind == "transactions_discarded"
    assert f"{len(scenario.written.committed)} committed transactions and 1 prepared" in str(info.value)
    assert tree_hash(scenario.target.pgdata) == before
