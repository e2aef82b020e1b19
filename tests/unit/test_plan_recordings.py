"""Plans of the shipped failovers equal what a real pg_rewind printed for them, offline: Debian's 15.18
for ``failover15``, for 10–13 pg_rewind built from PostgreSQL's release tags (fixtures/manifest.json)
on failovers made with npm's servers of each major, and for 9.5 and 9.6 the project's builds of 9.5.25
and 9.6.22 (servers and pg_rewind)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pgrewindkit import plan_rewind
from pgrewindkit.analysis.plan.filemap import collect_entries, decide_actions, source_total_bytes
from pgrewindkit.cluster.datadir import FileEntry, FileType
from pgrewindkit.cluster.source import LocalSource
from pgrewindkit.majors.rewind import parse_release, release_name, rules_for
from tests.support.rewind_oracle import RewindDecision, assert_same_decisions, parse_pg_rewind
from tests.support.shipped import recording_id, rewind_recordings

RECORDINGS = rewind_recordings()


def recorded(recording: Path) -> tuple[dict[str, Any], RewindDecision]:
    expected: dict[str, Any] = json.loads((recording / "expected.json").read_text())
    output = (recording / "pg_rewind-dry-run-debug.txt").read_text()
    return expected, parse_pg_rewind(expected["pg_rewind"]["returncode"], output)


def test_every_major_9_5_to_13_has_recordings() -> None:
    assert {recording_id(r) for r in RECORDINGS} >= {
        f"failover{major}{part}" for major in (10, 11, 12, 13) for part in ("", "/files")} | {
        "failover95", "failover96"}


@pytest.mark.parametrize(("name", "block_line"), [("failover95", "  blk "), ("failover96", "  block ")])
def test_nine_recordings_show_their_release(name: str, block_line: str) -> None:
    """9.5 prints page-map lines as "  blk N" and no timeline histories; 9.6 "  block N" and the
    histories (the source's always empty: the print loop's bound is still 0); both "WAL position"."""
    recording = next(r for r in RECORDINGS if recording_id(r) == name)
    expected, theirs = recorded(recording)
    output = theirs.output
    assert expected["pg_rewind_version"] in ("9.5.25", "9.6.22")
    assert output.startswith("servers diverged at WAL position" if name == "failover95"
                             else "Source timeline history:\nTarget timeline history:\n1: 0/0 - 0/0\n")
    assert any(line.startswith(block_line) for line in output.splitlines())
    assert any(block for _path, _action, block in theirs.files)
    by_path = {path: action for path, action, _blocks in theirs.files}
    # 10's file rules: no exclusions, .DS_Store copied and removed, postmaster.* ignored
    assert by_path["tablespace_map"] == "COPY" and by_path[".DS_Store"] == "REMOVE"
    assert by_path["pg_stat_tmp/leftover.stat"] == "COPY" and "postmaster.opts" not in by_path


@pytest.mark.parametrize("recording", RECORDINGS, ids=recording_id)
def test_summary_is_what_the_recording_says(recording: Path) -> None:
    expected, theirs = recorded(recording)
    summary: dict[str, object] = {"returncode": theirs.returncode, "diverged": theirs.diverged,
                                  "checkpoint": theirs.checkpoint, "need_mb": theirs.need_mb, "files": theirs.files}
    if "pg_rewind_version" in expected:
        summary |= {"errors": theirs.errors, "no_rewind": theirs.no_rewind}
    assert json.loads(json.dumps(summary)) == expected["pg_rewind"]


@pytest.mark.parametrize("recording", RECORDINGS, ids=recording_id)
def test_plan_equals_recorded_pg_rewind(recording: Path, tmp_path: Path) -> None:
    expected, theirs = recorded(recording)
    with tarfile.open(recording / "pair.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    release = parse_release(expected["pg_rewind_version"]) if "pg_rewind_version" in expected else None
    plan = plan_rewind(LocalSource(tmp_path / "new-primary"), tmp_path / "old-primary", pg_rewind_version=release)
    if release is not None:
        assert plan.predicts == f"pg_rewind {release_name(*release)}"
    assert_same_decisions(plan, theirs)
    assert theirs.returncode != 0 or theirs.files, "a recording that decides nothing checks nothing"


def decisions(major: int, minor: int, source: list[str], target: list[str]) -> dict[str, str]:
    """Every path's action by pg_rewind ``major.minor``, both sides regular 8 kB files."""
    files = {side: [FileEntry(p, FileType.REGULAR, 8192) for p in paths] for side, paths in
             (("source", source), ("target", target))}
    rules = rules_for(major, minor)
    problems: list[str] = []
    entries = collect_entries(files["source"], files["target"], rules, problems)
    assert not problems
    return {f.path: f.action.name for f in decide_actions(entries.values(), rules, set(), problems)}


# What the 10–13 recordings showed, rule by rule, against 14+ (and the newest minors of 12 and 13);
# None: not in the file map at all (not printed, not counted)
@pytest.mark.parametrize(("release", "expected"), [
    ((95, 25), {"global/pg_control": "COPY", "postmaster.opts": None, "base/9/PG_VERSION": "NONE",
                ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": "COPY"}),
    ((96, 22), {"global/pg_control": "COPY", "postmaster.opts": None, "base/9/PG_VERSION": "NONE",
                ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": "COPY"}),
    ((10, 17), {"global/pg_control": "COPY", "postmaster.opts": None, "base/9/PG_VERSION": "NONE",
                ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": "COPY"}),
    ((11, 12), {"global/pg_control": "COPY", "postmaster.opts": "REMOVE", "base/9/PG_VERSION": "NONE",
                ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": None}),
    ((12, 7), {"global/pg_control": "COPY", "postmaster.opts": "REMOVE", "base/9/PG_VERSION": "NONE",
               ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": None}),
    ((12, 22), {"global/pg_control": "COPY", "postmaster.opts": "REMOVE", "base/9/PG_VERSION": "NONE",
                ".DS_Store": "NONE", "base/.DS_Store": "NONE", "tablespace_map": None}),
    ((13, 3), {"global/pg_control": "COPY", "postmaster.opts": "REMOVE", "base/9/PG_VERSION": "NONE",
               ".DS_Store": "REMOVE", "base/.DS_Store": "COPY", "tablespace_map": None}),
    ((14, 23), {"global/pg_control": "NONE", "postmaster.opts": "REMOVE", "base/9/PG_VERSION": "COPY",
                ".DS_Store": "NONE", "base/.DS_Store": "NONE", "tablespace_map": "NONE"}),
])
def test_file_rules_of_10_to_13(release: tuple[int, int], expected: dict[str, str | None]) -> None:
    got = decisions(*release, source=["global/pg_control", "postmaster.opts", "base/9/PG_VERSION", "base/.DS_Store",
                                      "tablespace_map"],
                    target=["global/pg_control", "postmaster.opts", ".DS_Store"])
    assert {path: got.get(path) for path in expected} == expected


def test_excluded_source_files_count_in_the_total_from_14() -> None:
    """10–13 leave excluded source files out of the file map, so out of "total source directory size"."""
    source = [FileEntry("backup_label", FileType.REGULAR, 3 * 1024 * 1024)]
    for release, total in (((13, 3), 0), ((14, 23), 3 * 1024 * 1024)):
        rules = rules_for(*release)
        entries = collect_entries(source, [], rules, [])
        assert source_total_bytes(decide_actions(entries.values(), rules, set(), [])) == total
