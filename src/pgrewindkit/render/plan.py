"""A rewind plan, as text (like ``pg_rewind --debug``) and as JSON (``plan``)."""

from __future__ import annotations

from pgrewindkit.analysis.plan import RewindPlan
from pgrewindkit.render.divergence import divergence_lines
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
    return {
        "outcome": plan.outcome,
        "error": None if plan.error is None else {"kind": plan.error.kind, "message": plan.error.message},
        "major": plan.major,
        "predicts": plan.predicts,
        "divergence": divergence_point_json(d),
        "last_common_checkpoint": checkpoint_json(last_common_checkpoint(d)),
        "target_wal_end": lsn_json(d.target_wal_end if d else None),
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
