"""Plans against ``pg_rewind --dry-run --debug -P`` itself, on real failovers modelled on pg_rewind's
own test suite: outcome, divergence, checkpoint, every file action and block, and the totals it prints.

Each comparison runs on each major's own servers and pg_rewind (``bins``, tests/fix_postgres.py): every
scenario on 15 (Debian) and 18.6, a representative subset on 14.23, 16.15 and 17.11 (docs/versions.md);
and the plan predicts the minor of the pg_rewind it is compared with."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pgrewindkit import read_control_file
from pgrewindkit.analysis.plan import RewindPlan, plan_rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import SourceError
from pgrewindkit.majors.rewind import release_name
from tests.fix_postgres import EVERY_MAJOR, FULL, install, release_of
from tests.support import pgbinaries
from tests.support.cluster import Cluster, chown_postgres, make_workdir
from tests.support.rewind_oracle import assert_same_decisions, pg_rewind_dry_run
from tests.support.scenarios import Diverged, diverged, wait_replayed

pytestmark = pytest.mark.integration
on_full = pytest.mark.parametrize("bins", FULL, indirect=True)
on_every_major = pytest.mark.parametrize("bins", EVERY_MAJOR, indirect=True)

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


@pytest.fixture(scope="session")
def basic_pairs() -> Iterator[dict[Path, Diverged]]:
    """The BASIC failover of each tool set (by bindir), made once, stopped, never changed: tests copy it."""
    made: dict[Path, Diverged] = {}
    yield made
    for pair in made.values():
        pair.destroy()


def basic_copy(bins: pgbinaries.PgBinaries, basic_pairs: dict[Path, Diverged]) -> Diverged:
    """A copy of the BASIC failover of ``bins``, made the first time it is asked for."""
    if bins.bindir not in basic_pairs:
        basic_pairs[bins.bindir] = diverged(bins, setup=BASIC["setup"], common=BASIC["common"],
                                            on_source=BASIC["on_source"], on_target=BASIC["on_target"])
    return basic_pairs[bins.bindir].copy()


@pytest.fixture
def scenario(bins: pgbinaries.PgBinaries, basic_pairs: dict[Path, Diverged]) -> Iterator[Callable[..., Diverged]]:
    made: list[Diverged] = []

    def make(**kwargs: object) -> Diverged:
        pair = basic_copy(bins, basic_pairs) if kwargs == BASIC else diverged(bins, **kwargs)  # type: ignore[arg-type]
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.destroy()


def compare(bins: pgbinaries.PgBinaries, pair: Diverged, target: Path | None = None) -> RewindPlan:
    """pg_rewind of ``bins`` and a plan predicting that very release, on ``pair`` (or another ``target``)."""
    target = target or pair.target.pgdata
    theirs = pg_rewind_dry_run(bins, target, source_pgdata=pair.source.pgdata)
    plan = plan_rewind(pair.source.pgdata, target, pg_rewind_version=release_of(bins))
    assert plan.predicts == f"pg_rewind {release_name(*release_of(bins))}"
    assert_same_decisions(plan, theirs)
    return plan


def compare_live(bins: pgbinaries.PgBinaries, source: Cluster, target: Path) -> RewindPlan:
    """The same with a running ``source`` (pg_rewind --source-server, LiveSource)."""
    with LiveSource(source.conninfo()) as live:
        plan = plan_rewind(live, target, pg_rewind_version=release_of(bins))
    theirs = pg_rewind_dry_run(bins, target, source_server=source.conninfo())
    assert theirs.returncode == 0, theirs.output
    assert plan.outcome == "rewind_needed"
    d = plan.divergence
    assert d is not None and d.last_common_checkpoint is not None
    assert (str(d.lsn), d.timeline) == theirs.diverged
    assert (str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline) == theirs.checkpoint
    ours = {(f.path, f.action.name, tuple(f.blocks)) for f in plan.shown_files}
    assert ours == {(p, a, tuple(b)) for p, a, b in theirs.files}
    return plan


@on_every_major
def test_basic(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(bins, scenario(**BASIC))
    actions = {f.action.name for f in plan.files}
    assert {"COPY", "COPY_TAIL", "TRUNCATE", "REMOVE", "NONE"} <= actions
    assert any(f.blocks for f in plan.files)
    conf = {c.path: c for c in plan.config_changes}
    assert any(line.startswith("primary_conninfo:") for line in conf["postgresql.conf"].differences)


@on_full
def test_databases(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(setup=("CREATE DATABASE inprimary",),
                    on_source=("CREATE DATABASE instandby", "DROP DATABASE inprimary"),
                    on_target=("CREATE DATABASE inprimary_after", "CREATE DATABASE tmp_db", "DROP DATABASE tmp_db"))
    plan = compare(bins, pair)
    assert plan.outcome == "rewind_needed"
    assert any(f.path.startswith("base/") and f.action.name in ("COPY", "REMOVE") for f in plan.files)


TARGET_EXTRA = ("tgt_extra_file", "tgt_dir/file", "pg_replslot/slot/state", "base/pgsql_tmp/pgsql_tmp.1",
                "pg_notify/0000", "backup_label.old")
SOURCE_EXTRA = ("src_extra_file", "src_dir/sub/file", "pg_stat_tmp/x", "backup_label", "pg_internal.init.123")


def leave_extra_files(pair: Diverged, *, source_also: tuple[str, ...] = ()) -> None:
    """TARGET_EXTRA in the target, SOURCE_EXTRA (and ``source_also``) in the source, owned by postgres."""
    for cluster, names in ((pair.target, TARGET_EXTRA), (pair.source, SOURCE_EXTRA + source_also)):
        for name in names:
            path = cluster.pgdata / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("extra\n")
        chown_postgres(cluster.pgdata)


@on_full
def test_extra_and_excluded_files(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    leave_extra_files(pair)
    plan = compare(bins, pair)
    by_path = {f.path: f.action.name for f in plan.files}
    assert by_path["tgt_extra_file"] == "REMOVE" and by_path["src_extra_file"] == "COPY"
    assert by_path["pg_replslot/slot/state"] == "REMOVE" and by_path.get("backup_label") == "NONE"


@on_full
def test_same_timeline(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    shutil.rmtree(pair.source.pgdata)
    pair.source = pair.target.cold_copy(pair.source.workdir)
    plan = compare(bins, pair)
    assert plan.outcome == "no_rewind_required"
    assert plan.divergence is not None and not plan.divergence.warnings  # identical WAL: nothing to warn of


@on_every_major
def test_three_timelines(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = _onto_timeline_3(scenario(**BASIC))
    plan = compare(bins, pair)
    assert plan.divergence is not None and plan.divergence.source_timeline == 3


def _onto_timeline_3(pair: Diverged) -> Diverged:
    """The source promoted once more: timeline 3, one more history file."""
    source = pair.source
    source.make_standby_of(None)
    source.start()
    source.promote()
    source.execute("INSERT INTO tbl1 VALUES ('on timeline 3')", "CHECKPOINT")
    source.stop()
    assert read_control_file(source.pgdata).timeline == 3
    return pair


def _source_drops_old_wal(pair: Diverged) -> None:
    """The source removes or recycles its WAL from before the divergence (no wal_keep_size): the
    target's segments that pg_rewind reads to find the last common checkpoint are then the target's only."""
    source = pair.source
    source.set(wal_keep_size=0, max_wal_size="'2MB'", min_wal_size="'2MB'")
    source.start()
    for _ in range(4):
        source.execute("INSERT INTO tbl1 VALUES ('filler')", "SELECT pg_switch_wal()", "CHECKPOINT")
    source.stop()
    names = {p.name for p in (source.pgdata / "pg_wal").iterdir()}
    assert not any(n.startswith("00000001") and len(n) == 24 for n in names), names


def test_each_minor_of_16_decides_its_own_way(basic_pairs: dict[Path, Diverged]) -> None:
    """pg_rewind 16.2 removes the target's WAL segments that it read looking for the last common
    checkpoint; 16.6 and later keep them ("Not removing file ... because it is required for
    recovery"). One three-timeline failover, each pg_rewind and the plan predicting its release."""
    older, newer = install("pg16.2"), install("pg16.15")
    pair = _onto_timeline_3(basic_copy(newer, basic_pairs))
    try:
        _source_drops_old_wal(pair)
        removes, keeps = compare(older, pair), compare(newer, pair)
    finally:
        pair.destroy()
    assert (removes.predicts, keeps.predicts) == ("pg_rewind 16.2", "pg_rewind 16.15")
    removed = {f.path for f in removes.files if f.path.startswith("pg_wal/") and f.action.name == "REMOVE"}
    kept = {f.path for f in keeps.files if f.path.startswith("pg_wal/") and f.action.name == "NONE"}
    assert removed & kept, (removed, kept)
    assert [(f.path, f.action) for f in removes.files if f.path not in removed] == [
        (f.path, f.action) for f in keeps.files if f.path not in removed]


@on_every_major
def test_standby_as_target(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """pg_rewind's 008: the target is a standby that followed the old primary past the divergence."""
    pair = scenario(setup=BASIC["setup"])
    old_primary = pair.target
    standby = old_primary.cold_copy(make_workdir(f"pgrk{bins.major}-standby-"), name="data")
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
        compare(bins, pair, standby.pgdata)
    finally:
        standby.destroy()


@on_full
def test_checksums_instead_of_hints(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(bins, scenario(checksums=True, wal_log_hints=False, **BASIC))
    assert plan.outcome == "rewind_needed"


@on_full
def test_neither_checksums_nor_hints(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(bins, scenario(wal_log_hints=False, **BASIC))
    assert plan.error is not None and plan.error.kind == "no_wal_log_hints_or_checksums"


@on_every_major
def test_unclean_target(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    plan = compare(bins, scenario(stop_target="immediate", **BASIC))
    assert plan.error is not None and plan.error.kind == "target_not_cleanly_shut_down"
    assert plan.provisional and plan.divergence is not None and plan.divergence.rewind_needed
    assert any(f.blocks for f in plan.files)


@on_full
def test_recycled_wal(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    plan = plan_rewind(pair.source.pgdata, pair.target.pgdata)
    assert plan.divergence is not None and plan.divergence.last_common_checkpoint is not None
    checkpoint_segment = plan.wal_segments_needed[0]
    (pair.target.pgdata / "pg_wal" / checkpoint_segment.name).unlink()
    plan = compare(bins, pair)
    assert plan.error is not None and plan.error.kind == "wal_missing"
    assert checkpoint_segment.name in {s.name for s in plan.wal_segments_needed if not s.present}


@on_every_major
def test_live_source(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    pair = scenario(**BASIC)
    pair.source.start()
    pair.source.execute("CHECKPOINT")
    compare_live(bins, pair.source, pair.target.pgdata)


def test_unreachable_source_masks_the_password(pg15: pgbinaries.PgBinaries, tmp_path: Path) -> None:
    from pgrewindkit.errors import SourceError

    with pytest.raises(SourceError) as info:
        LiveSource(f"host={tmp_path} port=1 user=postgres password=s3cret-pw connect_timeout=2")
    assert "s3cret-pw" not in str(info.value) and "********" in str(info.value)



@pytest.mark.parametrize("bins", FULL[:1], indirect=True)  # 1 GB of rows: on one major (16 s or more)
def test_relation_over_one_gigabyte(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """A relation in two segment files (1 GB each): a changed block of ``.1`` is numbered within that
    file, and the file is truncated to the source's shorter ``.1``."""
    pair = scenario(
        setup=("CREATE TABLE big (g int, pad text) WITH (autovacuum_enabled = off)",
               "INSERT INTO big SELECT g, repeat('x', 1800) FROM generate_series(1, 560000) g", "CHECKPOINT"),
        on_source=("DELETE FROM big WHERE g > 545000", "VACUUM big"),
        on_target=("UPDATE big SET g = -g WHERE g IN (10, 533000)",),
    )
    plan = compare(bins, pair)
    second = [f for f in plan.files if f.path.endswith(".1") and f.path.startswith("base/")]
    assert len(second) == 1 and second[0].action.name == "TRUNCATE"
    assert second[0].blocks and all(b < 131072 for b in second[0].blocks)


@on_full
def test_tablespace_and_unlogged_tables(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
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
    plan = compare(bins, pair)
    tablespace_files = [f for f in plan.files if f.path.startswith("pg_tblspc/") and f.path.count("/") == 4]
    assert any(f.blocks or f.action.name != "NONE" for f in tablespace_files)
    assert any(f.path.endswith("_init") for f in plan.files)


@on_full
def test_standby_as_live_source(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
    """From 14 the source may be a standby (pg_rewind's 007): here a standby of the new primary."""
    pair = scenario(**BASIC)
    new_primary = pair.source
    standby = new_primary.cold_copy(make_workdir(f"pgrk{bins.major}-source-standby-"))
    try:
        standby.make_standby_of(new_primary)
        new_primary.start()
        standby.start()
        new_primary.execute("INSERT INTO tbl1 VALUES ('replicated to the standby source')", "CHECKPOINT")
        wait_replayed(standby, new_primary.query_one("SELECT pg_current_wal_insert_lsn()::text"))
        standby.execute("CHECKPOINT")
        with LiveSource(standby.conninfo()) as live:
            assert live.in_recovery()
        compare_live(bins, standby, pair.target.pgdata)
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


@on_full
def test_symlinked_wal_and_tablespace(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
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
    conflict = compare(bins, pair)
    assert conflict.error is not None and conflict.error.kind == "file_type_conflict"
    _relocate(pair.source, _tablespaces(pair.source))
    plan = compare(bins, pair)
    assert plan.outcome == "rewind_needed"
    assert any(f.path.startswith("pg_tblspc/") and f.blocks for f in plan.files)


@on_full
def test_live_source_permission_and_password(bins: pgbinaries.PgBinaries) -> None:
    """A role without pg_rewind's grants, and a wrong password: clear errors, the password masked."""
    from tests.support.cluster import new_cluster

    cluster = new_cluster(bins)
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


@on_full
def test_same_timeline_but_different_wal(bins: pgbinaries.PgBinaries, scenario: Callable[..., Diverged]) -> None:
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
    plan = compare(bins, pair)
    assert plan.outcome == "no_rewind_required"
    assert plan.divergence is not None and any("differs" in w or "past" in w for w in plan.divergence.warnings)
