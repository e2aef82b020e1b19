"""A rewind plan, as text (like ``pg_rewind --debug``) and as JSON (``plan``)."""

from __future__ import annotations

from pgrewindkit.analysis.plan import (
    AbandonedHistory,
    Action,
    PlanFailure,
    PlanOutcome,
    RewindPlan,
    UnarchivedWal,
    WalSegmentNeeded,
)
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.majors.versions import by_major
from pgrewindkit.render.discarded import discarded_brief, discarded_json
from pgrewindkit.render.divergence import divergence_lines, picture_json
from pgrewindkit.render.shapes import checkpoint_json, divergence_point_json, last_common_checkpoint, lsn_json

MB = 1024 * 1024


def plan_lines(plan: RewindPlan) -> list[str]:
    lines = [f"Predicting {plan.predicts}.", "", "Checks:"] if plan.predicts else ["Checks:"]
    lines += [f"  [{'ok' if c.ok else 'FAILED'}] {c.name}: {c.message}" for c in plan.checks]
    if plan.divergence is not None:
        lines += ["", *divergence_lines(plan.divergence)]
    shown = plan.shown_files
    if shown:
        lines += ["", "File map (as pg_rewind --debug prints it):"]
        for f in shown:
            lines.append(f"{f.path} ({f.action.name})")
            lines += [f"block {b}" for b in f.blocks]
    lines += _wal_lines(plan)
    for change in plan.config_changes:
        lines += ["", f"{change.path}: the source's copy replaces the target's; it differs in:"]
        lines += [f"  {d}" for d in change.differences]
    if plan.discarded is not None:
        lines += ["", "What the rewind throws away:", *(f"  {line}" for line in discarded_brief(plan.discarded))]
    elif plan.discarded_skipped is not None and plan.discarded_skipped != "not asked for":
        lines += ["", f"What the rewind throws away: not read here: {plan.discarded_skipped}"]
    lines += ["", *_summary(plan)]
    return lines


def _segment_state(s: WalSegmentNeeded) -> str:
    if s.present:
        return ""
    return {None: "  (MISSING)", True: "  (MISSING, in the archive)", False: "  (MISSING, not in the archive)"}[
        s.in_archive]


def _unarchived_fate(u: UnarchivedWal, planned: bool) -> str:
    if not planned:
        return "not archived yet (no file map: what a rewind does to it is not known)"
    if u.lost:
        done = "removed" if u.action is Action.REMOVE else "overwritten with the source's copy"
        return f"{done} by the rewind: it will never reach the archive"
    if u.marker_lost:
        return "kept, but its .ready marker is removed: the archiver will not archive it"
    return "kept, still to be archived"


def _wal_lines(plan: RewindPlan) -> list[str]:
    """The WAL the rewind reads, the WAL not archived yet, the history files of abandoned timelines."""
    lines: list[str] = []
    wal_dir = programs_for(plan.major).wal_directory  # pg_xlog before 10
    if plan.wal_segments_needed:
        lines += ["", "WAL segments the rewind reads:"]
        lines += [f"  {wal_dir}/{s.name}{_segment_state(s)}" for s in plan.wal_segments_needed]
    if not plan.wal_list_complete:
        lines.append("  (and maybe older ones, back to the last common checkpoint: restore these and plan again)")
    if plan.unarchived_wal:
        lines += ["", "WAL not archived yet (archive_status/*.ready):"]
        planned = bool(plan.files) or plan.outcome is not PlanOutcome.ERROR
        lines += [f"  {wal_dir}/{u.name}: {_unarchived_fate(u, planned)}" for u in plan.unarchived_wal]
    if plan.abandoned_history_files:
        lines += ["", "History files of timelines the source does not follow:"]
        lines += [_abandoned_line(h, wal_dir) for h in plan.abandoned_history_files]
    return lines


def _abandoned_line(h: AbandonedHistory, wal_dir: str) -> str:
    where = f"{wal_dir}/{h.name}" if h.in_pg_wal else f"archive/{h.name}"
    if h.in_pg_wal and h.in_archive is not None:
        where += "  (also in the archive)" if h.in_archive else "  (not in the archive)"
    return where + ("  (newer than the source's timeline: recovery_target_timeline = 'latest' would look for it)"
                    if h.newer_than_source else "")


def _summary(plan: RewindPlan) -> list[str]:
    """pg_rewind's own conclusion, then what it does not see."""
    lines = [_pg_rewind_summary(plan)]
    if plan.truth_error is not None:
        lines.append(f"error: {plan.truth_error.kind}: {plan.truth_error.message}")
    return lines


def _pg_rewind_summary(plan: RewindPlan) -> str:
    if plan.outcome == "error" and plan.error is not None:
        provisional = " (provisional: blocks up to the end of valid WAL)" if plan.provisional and plan.files else ""
        return f"error: {plan.error.kind}: {plan.error.message}{provisional}"
    if plan.outcome == "no_rewind_required":
        return "no rewind required"
    actions: dict[str, int] = {}
    for f in plan.files:
        actions[f.action.name] = actions.get(f.action.name, 0) + 1
    counted = ", ".join(f"{n} {a}" for a, n in sorted(actions.items()) if a != "NONE")
    blocks = sum(len(f.blocks) for f in plan.files)
    return (f"need to copy {plan.bytes_to_copy // MB} MB (total source directory size is "
            f"{plan.source_total_bytes // MB} MB): {counted}, {blocks} blocks to overwrite")


def plan_json(plan: RewindPlan) -> dict[str, object]:
    d = plan.divergence
    return {
        "outcome": plan.outcome,
        "error": failure_json(plan.error),
        "major": by_major(plan.major).json,
        "predicts": plan.predicts,
        "divergence": divergence_point_json(d),
        "last_common_checkpoint": checkpoint_json(last_common_checkpoint(d)),
        "target_wal_end": lsn_json(d.target_wal_end if d else None),
        "provisional": plan.provisional,
        "files": [{"path": f.path, "action": f.action.name, "blocks": list(f.blocks)} for f in plan.shown_files],
        "bytes_to_copy": plan.bytes_to_copy,
        "source_total_bytes": plan.source_total_bytes,
        "wal_segments_needed": [{"name": s.name, "timeline": s.timeline, "present": s.present,
                                 "in_archive": s.in_archive} for s in plan.wal_segments_needed],
        "wal_list_complete": plan.wal_list_complete,
        "checks": [{"name": c.name, "ok": c.ok, "message": c.message, "kind": c.kind} for c in plan.checks],
        "config_changes": [{"path": ch.path, "differences": list(ch.differences)} for ch in plan.config_changes],
        "warnings": list(d.warnings) if d else [],
        "truth_error": failure_json(plan.truth_error),
        "source_current_timeline": d.source_current_timeline if d else None,
        "target_is_ancestor": d.target_is_ancestor if d else False,
        "unarchived_wal": [{"name": u.name, "action": u.action.name if u.action else None,
                            "marker_action": u.marker_action.name if u.marker_action else None,
                            "lost": u.lost, "marker_lost": u.marker_lost} for u in plan.unarchived_wal],
        "abandoned_history_files": [{"name": h.name, "timeline": h.timeline, "newer_than_source": h.newer_than_source,
                                     "in_pg_wal": h.in_pg_wal, "in_archive": h.in_archive}
                                    for h in plan.abandoned_history_files],
        "picture": picture_json(d),
        "discarded": None if plan.discarded is None else discarded_json(plan.discarded),
        "discarded_skipped": plan.discarded_skipped,
    }


def failure_json(f: PlanFailure | None) -> dict[str, object] | None:
    return None if f is None else {"kind": f.kind, "message": f.message}
