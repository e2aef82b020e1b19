from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from pgrewindkit import cli
from pgrewindkit.analysis.inspection import inspect_datadir


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_inspect_a_cleanly_stopped_old_primary(failover_pair: Path) -> None:
    inspection = inspect_datadir(failover_pair / "old-primary")
    assert inspection.major == 15 and inspection.control.state.description == "shut down"
    assert inspection.wal.end is not None and inspection.wal.end_reason is not None
    assert "wanted 24, got 0" in inspection.wal.end_reason
    assert not inspection.server.running and not inspection.server.stale
    assert not [f for f in inspection.findings if f.severity == "critical"]


def test_inspect_json_keys(failover_pair: Path) -> None:
    code, out, _ = run("inspect", str(failover_pair / "new-primary"), "--json")
    data = json.loads(out)
    assert code == 0
    assert {"major", "control", "timeline_history", "wal", "server", "recovery", "backup_label",
            "findings"} <= set(data)
    assert set(data["wal"]) >= {"segment_size", "segments", "gaps", "end", "end_reason"}
    assert set(data["server"]) == {"running", "pid", "stale"}
    assert data["control"]["timeline_id"] == 2 and data["timeline_history"]["timeline"] == 2


def test_inspect_findings_on_a_doctored_copy(failover_pair: Path, tmp_path: Path) -> None:
    """A stale postmaster.pid, a backup_label and a hole in pg_wal, on a copy of a real directory."""
    copy = tmp_path / "old"
    shutil.copytree(failover_pair / "old-primary", copy)
    (copy / "postmaster.pid").write_text("999999\n/data\n")
    (copy / "backup_label").write_text("START WAL LOCATION: 0/8000028 (file 000000010000000000000008)\n")
    segments = sorted((copy / "pg_wal").glob("0000000100000000000000*"))
    segments[len(segments) // 2].unlink()
    codes = {f.code for f in inspect_datadir(copy).findings}
    assert {"stale_postmaster_pid", "backup_label", "wal_gaps"} <= codes


def test_offline_demo() -> None:
    """Without --fixtures the demo reads the failover shipped in the package, wherever it runs."""
    code, out, _ = run("demo")
    assert code == 0
    assert "decided exactly the same" in out and "== pgrewindkit plan" in out


def test_demo_without_fixtures(tmp_path: Path) -> None:
    code, _, err = run("demo", "--fixtures", str(tmp_path))
    assert code == cli.EXIT_BAD_INPUT and "shipped failover is not here" in err
