"""Plans and divergences of PostgreSQL 9.5 and 9.6 against their own ``pg_rewind --dry-run --debug -P``
(9.5.25, 9.6.22), on real failovers: outcome, divergence, checkpoint, every file action and block, the
totals. One failover per major is made (the BASIC workload plus databases made and dropped on both
sides) and copied for each scenario; checksums need a cluster of their own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit import find_divergence, read_control_file
from pgrewindkit.analysis.plan import plan_rewind
from pgrewindkit.errors import DivergenceError
from tests.fix_postgres import NINE
from tests.integration.test_plan_vs_pg_rewind import BASIC, compare, compare_live, leave_extra_files
from tests.support import pgbinaries
from tests.support.cluster import tree_hash
from tests.support.rewind_oracle import assert_same_decisions, pg_rewind_dry_run
from tests.support.scenarios import Diverged, diverged

pytestmark = pytest.mark.integration
on_nine = pytest.mark.parametrize("bins", NINE, indirect=True)

WORKLOAD = {
    "setup": (*BASIC["setup"], "CREATE DATABASE inprimary"),
    "common": BASIC["common"],
    "on_source": (*BASIC["on_source"], "CREATE DATABASE instandby", "DROP DATABASE inprimary"),
    "on_target": (*BASIC["on_target"], "CREATE DATABASE inprimary_after", "CREATE DATABASE tmp_db",
                  "DROP DATABASE tmp_db"),
}


@pytest.fixture(scope="module")
def pairs() -> Iterator[dict[Path, Diverged]]:
    """The WORKLOAD failover of each 9.x tool set, made once, stopped, never changed: tests copy it."""
    made: dict[Path, Diverged] = {}
    yield made
    for pair in made.values():
        pair.destroy()


@pytest.fixture
def pair(bins: pgbinaries.PgBinaries, pairs: dict[Path, Diverged]) -> Iterator[Diverged]:
    if bins.bindir not in pairs:
        pairs[bins.bindir] = diverged(bins, **WORKLOAD)  # type: ignore[arg-type]
    copy = pairs[bins.bindir].copy()
    yield copy
    copy.destroy()


@on_nine
def test_basic_with_databases(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    plan = compare(bins, pair)
    assert plan.outcome == "rewind_needed" and plan.predicts == f"pg_rewind {bins.version}"
    actions = {f.action.name for f in plan.files}
    assert {"COPY", "COPY_TAIL", "TRUNCATE", "REMOVE", "NONE"} <= actions
    assert any(f.blocks for f in plan.files)
    assert any(f.path.startswith("base/") and f.action.name == "REMOVE" for f in plan.files)
    # pg_xlog, and no exclusion list before 11: the source's temporary statistics and WAL are copied
    assert any(f.path.startswith("pg_xlog/0000000") and f.action.name == "COPY" for f in plan.files)
    divergence = find_divergence(pair.source.pgdata, pair.target.pgdata)
    assert divergence == plan.divergence
    assert divergence.wal_segments_read and all(s.startswith("pg_xlog/") for s in divergence.wal_segments_read)


@on_nine
def test_extra_files(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    leave_extra_files(pair, source_also=("postmaster.opts",))
    plan = compare(bins, pair)
    by_path = {f.path: f.action.name for f in plan.files}
    assert by_path["tgt_extra_file"] == "REMOVE" and by_path["src_extra_file"] == "COPY"
    assert by_path["backup_label"] == "COPY" and by_path["pg_stat_tmp/x"] == "COPY"  # no exclusions before 11
    assert by_path["base/pgsql_tmp/pgsql_tmp.1"] == "REMOVE" and "postmaster.opts" not in by_path


@on_nine
def test_same_timeline(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    shutil.rmtree(pair.source.pgdata)
    pair.source = pair.target.cold_copy(pair.source.workdir)
    plan = compare(bins, pair)
    assert plan.outcome == "no_rewind_required"
    assert plan.divergence is not None
    assert plan.divergence.reason == "source and target cluster are on the same timeline"


@on_nine
def test_target_on_a_timeline_the_source_never_had(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    """The promoted node as the target of its old primary: 9.5 looks for timeline 2 in the source's
    history and fails; 9.6 compares both histories and would rewind it back onto timeline 1."""
    pair.target, pair.source = pair.source, pair.target
    before = tree_hash(pair.target.pgdata)
    plan = compare(bins, pair)
    assert tree_hash(pair.target.pgdata) == before
    if bins.major == 95:
        assert plan.outcome == "error" and plan.error is not None and plan.error.kind == "no_common_ancestor"
        with pytest.raises(DivergenceError, match="could not find common ancestor"):
            find_divergence(pair.source.pgdata, pair.target.pgdata)
    else:
        assert plan.outcome == "rewind_needed"
        assert plan.divergence is not None and plan.divergence.timeline == 1


@on_nine
def test_three_timelines(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    source = pair.source
    source.make_standby_of(None)
    source.start()
    source.promote()
    source.execute("INSERT INTO tbl1 VALUES ('on timeline 3')", "CHECKPOINT")
    source.stop()
    assert read_control_file(source.pgdata).timeline == 3
    plan = compare(bins, pair)
    assert plan.divergence is not None and plan.divergence.source_timeline == 3 and plan.divergence.timeline == 1


@on_nine
def test_live_source(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    pair.source.start()
    pair.source.execute("CHECKPOINT")
    plan = compare_live(bins, pair.source, pair.target.pgdata)
    assert plan.outcome == "rewind_needed"


@on_nine
def test_checksums_instead_of_hints(bins: pgbinaries.PgBinaries) -> None:
    made = diverged(bins, checksums=True, wal_log_hints=False, **BASIC)  # type: ignore[arg-type]
    try:
        assert read_control_file(made.target.pgdata).data_checksums
        plan = compare(bins, made)
        assert plan.outcome == "rewind_needed"
    finally:
        made.destroy()


@on_nine
def test_neither_checksums_nor_hints_is_refused_alike(bins: pgbinaries.PgBinaries, pair: Diverged) -> None:
    """pg_rewind checks the target's pg_control: a target restarted with wal_log_hints off is refused
    by both."""
    target = pair.target
    target.set(wal_log_hints="off")
    target.start()
    target.stop()
    assert not read_control_file(target.pgdata).wal_log_hints
    before = tree_hash(target.pgdata)
    theirs = pg_rewind_dry_run(bins, target.pgdata, source_pgdata=pair.source.pgdata)
    plan = plan_rewind(pair.source.pgdata, target.pgdata, pg_rewind_version=(bins.major, None))
    assert_same_decisions(plan, theirs)
    assert plan.error is not None and plan.error.kind == "no_wal_log_hints_or_checksums"
    assert tree_hash(target.pgdata) == before
