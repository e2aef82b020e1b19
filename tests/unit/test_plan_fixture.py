"""The shipped PostgreSQL 15 failover, offline: divergence and the CLI on it (its plan against pg_rewind's
recording: test_plan_recordings.py), and the file map's rules."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pgrewindkit import Action, FileType, cli, find_divergence
from pgrewindkit.analysis.plan.filemap import relation_path, sort_key
from pgrewindkit.analysis.plan.model import FileAction
from pgrewindkit.majors.rewind import rules_for
from tests.support.shipped import failover_expected


def test_divergence_alone(failover_pair: Path) -> None:
    d = find_divergence(failover_pair / "new-primary", failover_pair / "old-primary")
    assert d.rewind_needed and d.source_timeline == 2 and d.target_timeline == 1
    assert d.target_wal_end is not None and d.lsn is not None and d.target_wal_end > d.lsn


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_cli_plan_json(failover_pair: Path) -> None:
    code, out, _ = run("plan", "--target-pgdata", str(failover_pair / "old-primary"),
                       "--source-pgdata", str(failover_pair / "new-primary"), "--json")
    data = json.loads(out)
    assert code == 0
    assert {"outcome", "error", "divergence", "last_common_checkpoint", "files", "bytes_to_copy",
            "source_total_bytes", "wal_segments_needed", "checks"} <= set(data)
    theirs = failover_expected()["pg_rewind"]
    assert data["outcome"] == "rewind_needed" and data["error"] is None
    assert [data["divergence"]["lsn"], data["divergence"]["timeline"]] == theirs["diverged"]
    assert set(data["last_common_checkpoint"]) == {"lsn", "timeline", "redo"}
    assert [[f["path"], f["action"], f["blocks"]] for f in data["files"]] == theirs["files"]


def test_cli_plan_and_divergence_text(failover_pair: Path) -> None:
    args = ("--target-pgdata", str(failover_pair / "old-primary"),
            "--source-pgdata", str(failover_pair / "new-primary"))
    code, out, _ = run("plan", *args)
    theirs = failover_expected()["pg_rewind"]
    assert code == 0
    assert f"servers diverged at WAL location {theirs['diverged'][0]} on timeline 1" in out
    assert "need to copy" in out and "(COPY)" in out and "\nblock " in out
    code, out, _ = run("divergence", *args)
    assert code == 0 and "rewinding from last common checkpoint at" in out
    code, out, _ = run("divergence", *args, "--json")
    assert json.loads(out)["rewind_needed"] is True


def test_cli_plan_errors(tmp_path: Path, failover_pair: Path) -> None:
    code, _, err = run("plan", "--target-pgdata", str(tmp_path), "--source-pgdata", str(failover_pair / "new-primary"))
    assert code == cli.EXIT_BAD_INPUT and "not a PostgreSQL data directory" in err and err.count("\n") == 1
    code, out, _ = run("plan", "--target-pgdata", str(failover_pair / "old-primary"),
                       "--source-pgdata", str(failover_pair / "old-primary"), "--json")
    assert code == 0 and json.loads(out)["outcome"] == "no_rewind_required"


@pytest.mark.parametrize(
    ("path", "is_relation"),
    [("base/5/16384", True), ("base/5/16384.1", True), ("global/1262", True), ("base/5/16384_fsm", False),
     ("base/5/16384_vm", False), ("base/5/016384", False), ("base/5/16384.", False), ("base/5/PG_VERSION", False),
     ("pg_tblspc/16400/PG_15_202209061/5/16385", True), ("pg_tblspc/16400/PG_14_202107181/5/16385", False),
     ("base/5/16384.0", False), ("pg_wal/000000010000000000000001", False)],
)
def test_relation_files_as_pg_rewind_recognises_them(path: str, is_relation: bool) -> None:
    assert relation_path(path, rules_for(15)) is is_relation


def test_order_of_the_file_map() -> None:
    actions = [FileAction("b", Action.REMOVE), FileAction("b/c", Action.REMOVE), FileAction("a", Action.COPY),
               FileAction("base/1", Action.NONE, (1,)), FileAction("a/b", Action.CREATE)]
    ordered = sorted(actions, key=sort_key)
    assert [(f.path, f.action.name) for f in ordered] == [
        ("a/b", "CREATE"), ("a", "COPY"), ("base/1", "NONE"), ("b/c", "REMOVE"), ("b", "REMOVE")]
    assert FileType.REGULAR.value == "regular"
