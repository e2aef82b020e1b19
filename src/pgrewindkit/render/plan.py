"""A divergence and a rewind plan, as text (like ``pg_rewind --debug``) and as JSON."""

from __future__ import annotations

from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.analysis.plan import RewindPlan
from pgrewindkit.model import TimelineSpan

MB = 1024 * 1024


def _span(span: TimelineSpan) -> str:
    return f"{span.timeline}: {span.begin} - {span.end if span.end is not None else '0/0'}"


def divergence_lines(d: Divergence) -> list[str]:
    lines = [f"source timeline {d.source_timeline}, target timeline {d.target_timeline} "
             f"(as pg_rewind {d.major} takes them)", "Source timeline history:"]
    lines += [f"  {_span(s)}" for s in d.source_history]
    lines += ["Target timeline history:", *(f"  {_span(s)}" for s in d.target_history)]
    if d.lsn is not None:
        lines.append(f"servers diverged at WAL location {d.lsn} on timeline {d.timeline}")
    if d.target_wal_end is not None:
        lines.append(f"target WAL ends at {d.target_wal_end}")
    if d.last_common_checkpoint is not None:
        c = d.last_common_checkpoint
        lines.append(f"rewinding from last common checkpoint at {c.lsn} on timeline {c.timeline} (REDO {c.redo})")
    if not d.rewind_needed:
        lines.append(d.reason or "no rewind required")
        if d.reason != "no rewind required" and d.lsn is None:
            lines.append("no rewind required")
    lines += [f"warning: {w}" for w in d.warnings]
    return lines


def divergence_json(d: Divergence) -> dict[str, object]:
    c = d.last_common_checkpoint
    return {
        "rewind_needed": d.rewind_needed,
        "reason": d.reason,
        "source_timeline": d.source_timeline,
        "target_timeline": d.target_timeline,
        "lsn": None if d.lsn is None else str(d.lsn),
        "timeline": d.timeline,
        "target_wal_end": None if d.target_wal_end is None else str(d.target_wal_end),
        "last_common_checkpoint": None if c is None else {"lsn": str(c.lsn), "timeline": c.timeline,
                                                         "redo": str(c.redo)},
        "source_history": [_span_json(s) for s in d.source_history],
        "target_history": [_span_json(s) for s in d.target_history],
        "warnings": list(d.warnings),
    }


def _span_json(s: TimelineSpan) -> dict[str, object]:
    return {"timeline": s.timeline, "begin": str(s.begin), "end": None if s.end is None else str(s.end)}


def plan_lines(plan: RewindPlan) -> list[str]:
    lines = ["Checks:"]
    lines += [f"  [{'ok' if c.ok else 'FAILED'}] {c.name}: {c.message}" for c in plan.checks]
    if plan.divergence is not None:
        lines += ["", *divergence_lines(plan.divergence)]
    shown = plan.shown_files
    if shown:
        lines += ["", "File map (as pg_rewind --debug prints it):"]
        for f in shown:
            lines.append(f"{f.path} ({f.action.name})")
            lines += [f"block {b}" for b in f.blocks]
    if plan.wal_segments_needed:
        lines += ["", "WAL segments the rewind reads:"]
        lines += [f"  pg_wal/{s.name}{'' if s.present else '  (MISSING)'}" for s in plan.wal_segments_needed]
    for change in plan.config_changes:
        lines += ["", f"{change.path}: the source's copy replaces the target's; it differs in:"]
        lines += [f"  {d}" for d in change.differences]
    lines += ["", _summary(plan)]
    return lines


def _summary(plan: RewindPlan) -> str:
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
    c = d.last_common_checkpoint if d else None
    return {
        "outcome": plan.outcome,
        "error": None if plan.error is None else {"kind": plan.error.kind, "message": plan.error.message},
        "major": plan.major,
        "divergence": None if d is None or d.lsn is None else {"lsn": str(d.lsn), "timeline": d.timeline},
        "last_common_checkpoint": None if c is None else {"lsn": str(c.lsn), "timeline": c.timeline,
                                                         "redo": str(c.redo)},
        "target_wal_end": None if d is None or d.target_wal_end is None else str(d.target_wal_end),
        "provisional": plan.provisional,
        "files": [{"path": f.path, "action": f.action.name, "blocks": list(f.blocks)} for f in plan.shown_files],
        "bytes_to_copy": plan.bytes_to_copy,
        "source_total_bytes": plan.source_total_bytes,
        "wal_segments_needed": [{"name": s.name, "timeline": s.timeline, "present": s.present}
                                for s in plan.wal_segments_needed],
        "checks": [{"name": c.name, "ok": c.ok, "message": c.message, "kind": c.kind} for c in plan.checks],
        "config_changes": [{"path": ch.path, "differences": list(ch.differences)} for ch in plan.config_changes],
        "warnings": list(d.warnings) if d else [],
    }
