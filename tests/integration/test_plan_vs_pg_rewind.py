"""Plans against ``pg_rewind --dry-run --debug -P`` itself, on real PostgreSQL 15 failovers modelled
on pg_rewind's own test suite: outcome, divergence, checkpoint, every file action and block, and
the totals it prints."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pgrewindkit import read_control_file
from pgrewindkit.analysis.plan import RewindPlan, plan_rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import SourceError
from tests.support import pgbinaries
from tests.support.cluster import Cluster, chown_postgres, make_workdir
from tests.support.rewind_oracle import RewindDecision, pg_rewind_dry_run
from tests.support.scenarios import Diverged, diverged, wait_replayed

pytestmark = pytest.mark.integration
MB = 1024 * 1024

BASIC = {
    "setup": ("CREATE TABLE tbl1 (d text)", "INSERT INTO tbl1 VALUES ('in primary')",
              "CREATE TABLE trunc_tbl (d text)",
              "INSERT INTO trunc_tbl SELECT 'x' || g FROM generate_series(1, 5000) g",
              "CREATE TABLE tail_tbl (id int, d text)", "INSERT INTO tail_tbl VALUES (0, 'in primary')",
              "CHECKPOINT"),
    "common": ("INSERT INTO tbl1 VALUES ('in primary, before promotion')",
               "INSERT INTO trunc_tbl VALUES ('in primary, before promotion')"),
    "on_source": ("INSERT INTO tbl1 VALUES ('in standby, after promotion')", "DELETE FROM trunc_tbl",
                  "VACUUM trunc_tbl", "INSERT INTO tail_tbl SELECT g, 'in standby' FROM generate_series(1, 10000) g",
                  "CREATE TABLE only_source (a int)"),
    "on_target": ("INSERT INTO tbl1 VALUES ('in primary, after promotion')",
                  "INSERT INTO trunc_tbl SELECT 'in primary, after promotion' FROM generate_series(1, 10000)",
                  "CREATE TABLE only_target AS SELECT 1 a", "CHECKPOINT", "UPDATE tbl1 SET d = d || 'x'"),
}


def assert_same_decisions(plan: RewindPlan, theirs: RewindDecision) -> None:
    if theirs.returncode != 0:
        assert plan.outcome == "error", theirs.output
        assert plan.error is not None and theirs.errors
        # pg_rewind may print a cause first ("could not open file ...") and the failure after it
        assert all(e in plan.error.message or plan.error.message.startswith(e) for e in theirs.errors), (
            plan.error, theirs.errors)
    elif theirs.no_rewind:
        assert plan.outcome == "no_rewind_required", theirs.output
    else:
        assert plan.outcome == "rewind_needed", (plan.error, theirs.output)
    d = plan.divergence
    if theirs.diverged is not None:
        assert d is not None and (str(d.lsn), d.timeline) == theirs.diverged
    if theirs.checkpoint is not None:
        assert d is not None and d.last_common_checkpoint is not None
        assert (str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline) == theirs.checkpoint
    if theirs.same_timeline:
        assert d is not None and d.reason == "source and target cluster are on the same timeline"
    if theirs.returncode == 0:
        ours = [(f.path, f.action.name, list(f.blocks)) for f in plan.shown_files]
        assert ours == theirs.files
    if theirs.need_mb is not None:
        assert (plan.bytes_to_copy // MB, plan.source_total_bytes // MB) == theirs.need_mb


@pytest.fixture
def scenario(pg15: pgbinaries.PgBinaries) -> Iterator[Callable[..., Diverged]]:
    made: list[Diverged] = []

    def make(**kwargs: object) -> Diverged:
        pair = diverged(pg15, **kwargs)  # type: ignore[arg-type]
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.destroy()


def compare(pg15: pgbinaries.PgBinaries, pair: Diverged) -> RewindPlan:
    theirs = pg_rewind_dry_run(pg15, pair.target.pgdata, source_pgdata=pair.source.pgdata)
    plan = plan_rewind(pair.source.pgdata, pair.target.pgdata)
    assert_same_decisions(plan, theirs)
    return plan


def test_basic(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(pg15, scenario(**BASIC))
    actions = {f.action.name for f in plan.files}
    assert {"COPY", "COPY_TAIL", "TRUNCATE", "REMOVE", "NONE"} <= actions
    assert any(f.blocks for f in plan.files)
    conf = {c.path: c for c in plan.config_changes}
    assert any(line.startswith("primary_conninfo:") for line in conf["postgresql.conf"].differences)


def test_databases(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(setup=("CREATE DATABASE inprimary",),
                    on_source=("CREATE DATABASE instandby", "DROP DATABASE inprimary"),
                    on_target=("CREATE DATABASE inprimary_after", "CREATE DATABASE tmp_db", "DROP DATABASE tmp_db"))
    plan = compare(pg15, pair)
    assert plan.outcome == "rewind_needed"
    assert any(f.path.startswith("base/") and f.action.name in ("COPY", "REMOVE") for f in plan.files)


def test_extra_and_excluded_files(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    for cluster, names in ((pair.target, ("tgt_extra_file", "tgt_dir/file", "pg_replslot/slot/state",
                                          "base/pgsql_tmp/pgsql_tmp.1", "pg_notify/0000", "backup_label.old")),
                           (pair.source, ("src_extra_file", "src_dir/sub/file", "pg_stat_tmp/x",
                                          "backup_label", "pg_internal.init.123"))):
        for name in names:
            path = cluster.pgdata / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("extra\n")
        chown_postgres(cluster.pgdata)
    plan = compare(pg15, pair)
    by_path = {f.path: f.action.name for f in plan.files}
    assert by_path["tgt_extra_file"] == "REMOVE" and by_path["src_extra_file"] == "COPY"
    assert by_path["pg_replslot/slot/state"] == "REMOVE" and by_path.get("backup_label") == "NONE"


def test_same_timeline(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    shutil.rmtree(pair.source.pgdata)
    pair.source = pair.target.cold_copy(pair.source.workdir)
    plan = compare(pg15, pair)
    assert plan.outcome == "no_rewind_required"
    assert plan.divergence is not None and not plan.divergence.warnings  # identical WAL: nothing to warn of


def test_three_timelines(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    source = pair.source
    source.make_standby_of(None)
    source.start()
    source.promote()
    source.execute("INSERT INTO tbl1 VALUES ('on timeline 3')", "CHECKPOINT")
    source.stop()
    assert read_control_file(source.pgdata).timeline == 3
    plan = compare(pg15, pair)
    assert plan.divergence is not None and plan.divergence.source_timeline == 3


def test_standby_as_target(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """pg_rewind's 008: the target is a standby that followed the old primary past the divergence."""
    pair = scenario(setup=BASIC["setup"])
    old_primary = pair.target
    standby = old_primary.cold_copy(make_workdir("pgrk15-standby-"), name="data")
    try:
        standby.make_standby_of(old_primary)
        old_primary.start()
        standby.start()
        old_primary.execute(*BASIC["on_target"])
        wait_replayed(standby, old_primary.query_one("SELECT pg_current_wal_insert_lsn()::text"))
        standby.execute("CHECKPOINT")
        standby.stop()
        old_primary.stop()
        control = read_control_file(standby.pgdata)
        assert control.state.description == "shut down in recovery" and control.min_recovery_point.is_valid
        theirs = pg_rewind_dry_run(pg15, standby.pgdata, source_pgdata=pair.source.pgdata)
        assert_same_decisions(plan_rewind(pair.source.pgdata, standby.pgdata), theirs)
    finally:
        standby.destroy()


def test_checksums_instead_of_hints(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(pg15, scenario(checksums=True, wal_log_hints=False, **BASIC))
    assert plan.outcome == "rewind_needed"


def test_neither_checksums_nor_hints(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(pg15, scenario(wal_log_hints=False, **BASIC))
    assert plan.error is not None and plan.error.kind == "no_wal_log_hints_or_checksums"


def test_unclean_target(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(pg15, scenario(stop_target="immediate", **BASIC))
    assert plan.error is not None and plan.error.kind == "target_not_cleanly_shut_down"
    assert plan.provisional and plan.divergence is not None and plan.divergence.rewind_needed
    assert any(f.blocks for f in plan.files)


def test_recycled_wal(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    plan = plan_rewind(pair.source.pgdata, pair.target.pgdata)
    assert plan.divergence is not None and plan.divergence.last_common_checkpoint is not None
    checkpoint_segment = plan.wal_segments_needed[0]
    (pair.target.pgdata / "pg_wal" / checkpoint_segment.name).unlink()
    plan = compare(pg15, pair)
    assert plan.error is not None and plan.error.kind == "wal_missing"
    assert checkpoint_segment.name in {s.name for s in plan.wal_segments_needed if not s.present}


def test_live_source(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    pair.source.start()
    pair.source.execute("CHECKPOINT")
    with LiveSource(pair.source.conninfo()) as live:
        plan = plan_rewind(live, pair.target.pgdata)
    theirs = pg_rewind_dry_run(pg15, pair.target.pgdata, source_server=pair.source.conninfo())
    assert theirs.returncode == 0, theirs.output
    assert plan.outcome == "rewind_needed"
    d = plan.divergence
    assert d is not None and d.last_common_checkpoint is not None
    assert (str(d.lsn), d.timeline) == theirs.diverged
    assert (str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline) == theirs.checkpoint
    ours = {(f.path, f.action.name, tuple(f.blocks)) for f in plan.shown_files}
    assert ours == {(p, a, tuple(b)) for p, a, b in theirs.files}


def test_unreachable_source_masks_the_password(pg15: pgbinaries.PgBinaries, tmp_path: Path) -> None:
    from pgrewindkit.errors import SourceError

    with pytest.raises(SourceError) as info:
        LiveSource(f"host={tmp_path} port=1 user=postgres password=s3cret-pw connect_timeout=2")
    assert "s3cret-pw" not in str(info.value) and "********" in str(info.value)



def test_relation_over_one_gigabyte(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """A relation in two segment files (1 GB each): a changed block of ``.1`` is numbered within that
    file, and the file is truncated to the source's shorter ``.1``."""
    pair = scenario(
        setup=("CREATE TABLE big (g int, pad text) WITH (autovacuum_enabled = off)",
               "INSERT INTO big SELECT g, repeat('x', 1800) FROM generate_series(1, 560000) g", "CHECKPOINT"),
        on_source=("DELETE FROM big WHERE g > 545000", "VACUUM big"),
        on_target=("UPDATE big SET g = -g WHERE g IN (10, 533000)",),
    )
    plan = compare(pg15, pair)
    second = [f for f in plan.files if f.path.endswith(".1") and f.path.startswith("base/")]
    assert len(second) == 1 and second[0].action.name == "TRUNCATE"
    assert second[0].blocks and all(b < 131072 for b in second[0].blocks)


def test_tablespace_and_unlogged_tables(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """Relation files under pg_tblspc/<oid>/PG_15_.../ and init forks of unlogged tables."""
    pair = scenario(
        setup=("CREATE TABLESPACE ts LOCATION ''",
               "CREATE TABLE in_ts (id int, v text) TABLESPACE ts",
               "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
               "CREATE UNLOGGED TABLE scratch (id int)", "INSERT INTO scratch SELECT generate_series(1, 100)",
               "CHECKPOINT"),
        on_source=("INSERT INTO in_ts SELECT g, 'source' FROM generate_series(1, 2000) g",
                   "CREATE TABLE in_ts2 (x int) TABLESPACE ts"),
        on_target=("UPDATE in_ts SET v = 'target' WHERE id % 10 = 0", "CREATE UNLOGGED TABLE scratch2 (id int)",
                   "CHECKPOINT"),
        allow_in_place_tablespaces="on",
    )
    plan = compare(pg15, pair)
    tablespace_files = [f for f in plan.files if f.path.startswith("pg_tblspc/") and f.path.count("/") == 4]
    assert any(f.blocks or f.action.name != "NONE" for f in tablespace_files)
    assert any(f.path.endswith("_init") for f in plan.files)


def test_standby_as_live_source(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """From 14 the source may be a standby (pg_rewind's 007): here a standby of the new primary."""
    pair = scenario(**BASIC)
    new_primary = pair.source
    standby = new_primary.cold_copy(make_workdir("pgrk15-source-standby-"))
    try:
        standby.make_standby_of(new_primary)
        new_primary.start()
        standby.start()
        new_primary.execute("INSERT INTO tbl1 VALUES ('replicated to the standby source')", "CHECKPOINT")
        wait_replayed(standby, new_primary.query_one("SELECT pg_current_wal_insert_lsn()::text"))
        standby.execute("CHECKPOINT")
        with LiveSource(standby.conninfo()) as live:
            assert live.in_recovery()
            plan = plan_rewind(live, pair.target.pgdata)
        theirs = pg_rewind_dry_run(pg15, pair.target.pgdata, source_server=standby.conninfo())
        assert theirs.returncode == 0, theirs.output
        d = plan.divergence
        assert plan.outcome == "rewind_needed" and d is not None and d.last_common_checkpoint is not None
        assert (str(d.lsn), d.timeline) == theirs.diverged
        assert (str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline) == theirs.checkpoint
        assert {(f.path, f.action.name, tuple(f.blocks)) for f in plan.shown_files} == {
            (p, a, tuple(b)) for p, a, b in theirs.files}
    finally:
        standby.destroy()


def _relocate(cluster: Cluster, relatives: list[str]) -> None:
    """Move parts of a stopped data directory outside it and leave symbolic links behind."""
    outside = cluster.workdir / "outside"
    outside.mkdir(exist_ok=True)
    for relative in relatives:
        inside = cluster.pgdata / relative
        moved = outside / relative.replace("/", "_")
        shutil.move(str(inside), moved)
        inside.symlink_to(moved)
    chown_postgres(cluster.workdir)


def _tablespaces(cluster: Cluster) -> list[str]:
    return [f"pg_tblspc/{p.name}" for p in (cluster.pgdata / "pg_tblspc").iterdir()]


def test_symlinked_wal_and_tablespace(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """pg_wal as a symbolic link (pg_rewind's 004) and tablespaces behind pg_tblspc/<oid> links to
    outside directories; and a tablespace that is a link on one side and a directory on the other."""
    pair = scenario(
        setup=("CREATE TABLESPACE ts LOCATION ''", "CREATE TABLE in_ts (id int, v text) TABLESPACE ts",
               "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 3000) g", "CHECKPOINT"),
        on_source=("INSERT INTO in_ts SELECT g, 'source' FROM generate_series(1, 500) g",),
        on_target=("UPDATE in_ts SET v = 'target' WHERE id % 7 = 0", "CHECKPOINT"),
        allow_in_place_tablespaces="on",
    )
    _relocate(pair.target, ["pg_wal", *_tablespaces(pair.target)])
    conflict = compare(pg15, pair)
    assert conflict.error is not None and conflict.error.kind == "file_type_conflict"
    _relocate(pair.source, _tablespaces(pair.source))
    plan = compare(pg15, pair)
    assert plan.outcome == "rewind_needed"
    assert any(f.path.startswith("pg_tblspc/") and f.blocks for f in plan.files)


def test_live_source_permission_and_password(pg15: pgbinaries.PgBinaries) -> None:
    """A role without pg_rewind's grants, and a wrong password: clear errors, the password masked."""
    from tests.support.cluster import new_cluster

    cluster = new_cluster(pg15)
    try:
        hba = cluster.pgdata / "pg_hba.conf"
        hba.write_text("local all rewinder scram-sha-256\n" + hba.read_text())
        cluster.start()
        cluster.execute("CREATE ROLE rewinder LOGIN PASSWORD 'right-pass-123'")
        base = f"host={cluster.socket_dir} port={cluster.port} user=rewinder dbname=postgres"
        with pytest.raises(SourceError) as wrong:
            LiveSource(f"{base} password=wrong-pass-456")
        assert "wrong-pass-456" not in str(wrong.value) and "password authentication failed" in str(wrong.value)
        with LiveSource(f"{base} password=right-pass-123") as live:
            with pytest.raises(SourceError) as denied:
                live.files()
            assert denied.value.kind == "permission_denied" and "right-pass-123" not in str(denied.value)
            plan = plan_rewind(live, cluster.pgdata)
        assert plan.outcome == "error" and plan.error is not None and plan.error.kind == "permission_denied"
        assert "right-pass-123" not in plan.error.message
    finally:
        cluster.destroy()


def test_same_timeline_but_different_wal(pg15: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """Two copies of one stopped cluster both written to on timeline 1: pg_rewind says no rewind is
    required; pgrewindkit agrees, and warns that their WAL differs."""
    pair = scenario(**BASIC)
    shutil.rmtree(pair.source.pgdata)
    pair.source = pair.target.cold_copy(pair.source.workdir)
    for cluster, what in ((pair.target, "target"), (pair.source, "source")):
        cluster.start()
        rows = 100 if what == "target" else 3000
        cluster.execute(f"CREATE TABLE same_tli_{what} AS SELECT generate_series(1, {rows})", "CHECKPOINT")
        cluster.stop()
    plan = compare(pg15, pair)
    assert plan.outcome == "no_rewind_required"
    assert plan.divergence is not None and any("differs" in w or "past" in w for w in plan.divergence.warnings)
