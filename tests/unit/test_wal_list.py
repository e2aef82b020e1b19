"""Issue 10, the analysis side: every WAL segment pg_rewind reads (present or not), WAL not archived
yet, abandoned history files, the source's real timeline, and timeline 1's empty history."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pgrewindkit import (
    LSN,
    Action,
    FileAction,
    TimelineHistory,
    abandoned_history_files,
    cli,
    find_divergence,
    plan_rewind,
    unarchived_wal,
    wal_segments_needed,
)
from pgrewindkit.formats.timeline import parse_timeline_history
from pgrewindkit.formats.wal.segments import WalDirectory
from pgrewindkit.model import TimelineSpan

MB = 1 << 20
SWITCH = LSN(3 * MB + MB // 2)  # in the middle of segment 3
SPANS = (TimelineSpan(1, LSN(0), SWITCH), TimelineSpan(2, SWITCH, None))


@pytest.fixture
def pair(failover_pair: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped failover: (source: the new primary on 2, target: the old one on 1)."""
    source, target = tmp_path / "new", tmp_path / "old"
    shutil.copytree(failover_pair / "new-primary", source)
    shutil.copytree(failover_pair / "old-primary", target)
    return source, target


def _plan_cli(source: Path, target: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = cli.main(["plan", "-D", str(target), "--source-pgdata", str(source), "--json"], out=out,
                    err=io.StringIO())
    return code, json.loads(out.getvalue())


# -- the pure functions ------------------------------------------------------------------------------

def test_segments_of_ranges_along_the_history() -> None:
    needed = wal_segments_needed(SPANS, MB, [(LSN(MB + 0x28), LSN(4 * MB)), (LSN(6 * MB + 0x100), LSN(6 * MB + 0x200))],
                                 {"000000010000000000000001", "000000020000000000000003"})
    assert [(s.name, s.present, s.in_archive) for s in needed] == [
        ("000000010000000000000001", True, None),
        ("000000010000000000000002", False, None),
        ("000000020000000000000003", True, None),  # the switchpoint's segment is read on the newer timeline
        ("000000020000000000000006", False, None),
    ]


def test_a_range_ending_on_a_segment_boundary_does_not_read_the_next_segment() -> None:
    needed = wal_segments_needed(SPANS, MB, [(LSN(MB + 0x28), LSN(2 * MB))], ())
    assert [s.name for s in needed] == ["000000010000000000000001"]


def test_overlapping_ranges_list_each_segment_once_in_order() -> None:
    needed = wal_segments_needed(SPANS, MB, [(LSN(5 * MB), LSN(5 * MB + 0x100)),
                                             (LSN(2 * MB), LSN(5 * MB + MB // 2))], ())
    assert [s.name[-2:] for s in needed] == ["02", "03", "04", "05"]


def test_unarchived_wal_under_a_file_map() -> None:
    files = [FileAction("pg_wal/000000010000000000000005", Action.COPY),
             FileAction("pg_wal/000000010000000000000006", Action.REMOVE),
             FileAction("pg_wal/000000010000000000000007", Action.NONE),
             FileAction("pg_wal/archive_status/000000010000000000000007.ready", Action.REMOVE),
             FileAction("pg_wal/archive_status/000000010000000000000008.ready", Action.COPY)]
    ready = ["000000010000000000000008", "000000010000000000000005", "000000010000000000000006",
             "000000010000000000000007"]
    result = {u.name[-1]: (u.lost, u.marker_lost) for u in unarchived_wal(ready, files)}
    assert result == {"5": (True, False), "6": (True, False), "7": (False, True), "8": (False, False)}
    assert [u.action for u in unarchived_wal(ready, [])] == [None] * 4  # no rewind: nothing done to them


def test_abandoned_history_files() -> None:
    names = ["00000002.history", "00000003.history", "00000004.history", "00000006.history",
             "000000030000000000000005", "archive_status"]
    found = abandoned_history_files(names, {1, 2, 4}, 4, keep={3})
    assert [(h.name, h.timeline, h.newer_than_source) for h in found] == [("00000006.history", 6, True)]
    found = abandoned_history_files(names, {1, 2, 4}, 4)
    assert [(h.timeline, h.newer_than_source) for h in found] == [(3, False), (6, True)]


# -- timeline 1's history is a value, not an empty container ------------------------------------------

def test_timeline_one_history_is_never_falsy(tmp_path: Path) -> None:
    assert TimelineHistory.initial() and len(TimelineHistory.initial()) == 0
    (tmp_path / "00000002.history").write_text("1\t0/6000000\tno recovery target specified\n")
    assert WalDirectory(tmp_path, segment_size=MB).history.timeline == 2  # no history given: the newest
    directory = WalDirectory(tmp_path, segment_size=MB, history=TimelineHistory.initial())
    assert directory.history.timeline == 1 and directory.timeline_for_segment(7) == 1


def test_a_timeline_one_target_with_a_newer_history_file(pair: tuple[Path, Path]) -> None:
    """The target started once as a standby of the new primary: 00000002.history landed in its
    pg_wal. Its WAL is still timeline 1's, and the plan is the same as without the file."""
    source, target = pair
    before = plan_rewind(source, target)
    shutil.copy(source / "pg_wal" / "00000002.history", target / "pg_wal")
    after = plan_rewind(source, target)
    assert after.outcome == before.outcome == "rewind_needed" and after.error is None
    assert after.wal_segments_needed == before.wal_segments_needed
    assert all(s.timeline == 1 and s.present for s in after.wal_segments_needed)
    assert [(f.path, f.action, f.blocks) for f in after.shown_files] == [
        (f.path, f.action, f.blocks) for f in before.shown_files]


# -- the whole WAL list in plans ---------------------------------------------------------------------

def test_the_list_covers_the_checkpoint_record_the_walk_back_and_the_forward_scan(pair: tuple[Path, Path]) -> None:
    source, target = pair
    plan = plan_rewind(source, target)
    d = plan.divergence
    assert d is not None and d.last_common_checkpoint is not None and d.target_wal_end is not None
    first = d.last_common_checkpoint.lsn.segment_number(MB)
    last = (d.target_wal_end.value - 1) // MB
    assert [int(s.name[8:], 16) for s in plan.wal_segments_needed] == list(range(first, last + 1))
    assert plan.wal_list_complete and not plan.wal_missing
    read_back = {name.removeprefix("pg_wal/") for name in d.wal_segments_read}
    assert read_back <= {s.name for s in plan.wal_segments_needed}


def test_every_missing_segment_after_the_checkpoint_record_is_listed(pair: tuple[Path, Path],
                                                                     failover_pair: Path) -> None:
    source, target = pair
    (target / "pg_wal" / "00000001000000000000000A").unlink()
    (target / "pg_wal" / "00000001000000000000000B").unlink()
    plan = plan_rewind(source, target)
    assert plan.outcome == "error" and plan.error is not None and plan.error.kind == "wal_missing"
    # the walk back starts in 0B (the divergence point): everything from it to the end is needed
    assert [(s.name[-2:], s.present) for s in plan.wal_segments_needed] == [("0B", False), ("0C", True)]
    assert not plan.wal_list_complete
    shutil.copy(failover_pair / "old-primary" / "pg_wal" / "00000001000000000000000B", target / "pg_wal")
    plan = plan_rewind(source, target)  # restored: the walk goes on, to the next missing one
    assert [(s.name[-2:], s.present) for s in plan.wal_segments_needed] == [("0A", False), ("0B", True),
                                                                             ("0C", True)]
    code, data = _plan_cli(source, target)
    assert code == 3 and data["wal_list_complete"] is False
    assert [s["name"] for s in data["wal_segments_needed"] if not s["present"]] == ["00000001000000000000000A"]


def test_a_missing_checkpoint_record_segment_is_listed(pair: tuple[Path, Path]) -> None:
    source, target = pair
    (target / "pg_wal" / "00000001000000000000000C").unlink()
    plan = plan_rewind(source, target)
    assert plan.error is not None and plan.error.kind == "wal_missing"
    assert [(s.name, s.present) for s in plan.wal_segments_needed] == [("00000001000000000000000C", False)]
    assert not plan.wal_list_complete


def test_plan_probes_the_archive_with_a_restore_command(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """``plan --restore-command``: the command runs into a private directory; pg_wal stays as it was."""
    source, target = pair
    archive = tmp_path / "archive"
    archive.mkdir()
    for name in ("00000001000000000000000A", "00000001000000000000000B"):
        (target / "pg_wal" / name).rename(archive / name)
    (archive / "00000003.history").write_text("1\t0/B00000\tno recovery target specified\n")
    before = sorted((p.name, p.read_bytes()) for p in (target / "pg_wal").iterdir() if p.is_file())
    out = io.StringIO()
    argv = ["plan", "-D", str(target), "--source-pgdata", str(source), "--restore-command", f"cp {archive}/%f %p"]
    assert cli.main([*argv, "--json"], out=out, err=io.StringIO()) == 3
    data = json.loads(out.getvalue())
    assert [(s["name"][-2:], s["in_archive"]) for s in data["wal_segments_needed"] if not s["present"]] == [
        ("0B", True)]
    assert data["abandoned_history_files"] == [{"name": "00000003.history", "timeline": 3, "newer_than_source": True,
                                                "in_pg_wal": False, "in_archive": True}]
    text = io.StringIO()
    assert cli.main(argv, out=text, err=io.StringIO()) == 3
    assert "pg_wal/00000001000000000000000B  (MISSING, in the archive)" in text.getvalue()
    assert "archive/00000003.history" in text.getvalue()
    assert sorted((p.name, p.read_bytes()) for p in (target / "pg_wal").iterdir() if p.is_file()) == before


# -- unarchived WAL and abandoned history files in plans -----------------------------------------------

def test_plan_reports_unarchived_wal_and_abandoned_history(pair: tuple[Path, Path]) -> None:
    source, target = pair
    status = target / "pg_wal" / "archive_status"
    for name in ("00000001000000000000000A", "00000001000000000000000C"):
        (status / f"{name}.ready").write_text("")
    (target / "pg_wal" / "00000003.history").write_text("1\t0/B00000\tno recovery target specified\n")
    plan = plan_rewind(source, target)
    assert plan.outcome == "rewind_needed"
    fates = {u.name: (u.action, u.lost) for u in plan.unarchived_wal}
    assert fates == {"00000001000000000000000A": (Action.COPY, True),
                     "00000001000000000000000C": (Action.REMOVE, True)}
    assert [(h.name, h.newer_than_source) for h in plan.abandoned_history_files] == [("00000003.history", True)]
    code, data = _plan_cli(source, target)
    assert code == 0
    assert [u["name"] for u in data["unarchived_wal"]] == list(fates)


# -- the source's real timeline ----------------------------------------------------------------------

def _promoted_without_checkpoint(source: Path, switchpoint: str) -> None:
    """A history file for timeline 2 as a promotion writes it, the control file still on timeline 1."""
    (source / "pg_wal" / "00000002.history").write_text(f"1\t{switchpoint}\tno recovery target specified\n")


def test_source_checkpoint_pending_is_its_own_error(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Both pg_controls say timeline 1: pg_rewind says "no rewind required", and so does the plan's
    outcome; but the source is on timeline 2 since before the target's WAL end: exit 3."""
    _, target = pair
    source = tmp_path / "copy"
    shutil.copytree(target, source)
    _promoted_without_checkpoint(source, "0/A00000")
    plan = plan_rewind(source, target)
    assert plan.outcome == "no_rewind_required" and plan.error is None
    d = plan.divergence
    assert d is not None and d.source_timeline == 1 and d.source_current_timeline == 2
    assert d.source_checkpoint_pending and not d.target_is_ancestor
    assert plan.truth_error is not None and plan.truth_error.kind == "source_checkpoint_pending"
    assert plan.failure == plan.truth_error and not plan.standby_without_rewind_is_safe
    assert [c.name for c in plan.checks if not c.ok] == ["different_timelines", "source_checkpointed"]
    code, data = _plan_cli(source, target)
    assert code == 3 and data["outcome"] == "no_rewind_required" and data["error"] is None
    assert data["truth_error"]["kind"] == "source_checkpoint_pending"


def test_a_target_that_stopped_before_the_promotion_is_an_ancestor(pair: tuple[Path, Path], tmp_path: Path) -> None:
    _, target = pair
    source = tmp_path / "copy"
    shutil.copytree(target, source)
    _promoted_without_checkpoint(source, "0/F00000")  # after the target's WAL end (0/CAF008)
    d = find_divergence(source, target)
    assert d.source_checkpoint_pending and d.target_is_ancestor


def test_target_is_ancestor(pair: tuple[Path, Path]) -> None:
    source, target = pair
    assert not find_divergence(source, target).target_is_ancestor  # a rewind is needed
    same = find_divergence(target, target)
    assert same.target_is_ancestor and not same.source_checkpoint_pending
    assert plan_rewind(target, target).standby_without_rewind_is_safe


def test_a_history_file_not_descending_from_the_control_file_is_no_evidence(pair: tuple[Path, Path]) -> None:
    source, _ = pair
    (source / "pg_wal" / "00000004.history").write_text("1\t0/B00000\tno recovery target specified\n")
    from pgrewindkit import LocalSource

    assert LocalSource(source).current_timeline() == 2
    assert parse_timeline_history(b"1\t0/B00000\n", timeline=4).timelines == (1, 4)


def test_the_last_segment_of_the_lsn_space_has_a_timeline() -> None:
    """Its end is 2^64, one past every LSN: the parallel scan's last, one-segment run asks for it
    when a control file points there (an absurd minRecoveryPoint)."""
    from pgrewindkit.formats.wal.segments import timeline_for_segment

    last = (1 << 64) // MB - 1
    assert timeline_for_segment(SPANS, last, MB) == 2
    assert timeline_for_segment(SPANS, 2, MB) == 1 and timeline_for_segment(SPANS, 3, MB) == 2
