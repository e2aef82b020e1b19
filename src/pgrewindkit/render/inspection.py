"""A data directory's inspection, as text and as JSON (``inspect``)."""

from __future__ import annotations

from pgrewindkit.analysis.inspection import Inspection
from pgrewindkit.render.controldata import controldata_json
from pgrewindkit.render.history import history_json
from pgrewindkit.render.shapes import lsn_json


def inspection_json(inspection: Inspection) -> dict[str, object]:
    w = inspection.wal
    history = inspection.history
    return {
        "path": str(inspection.path),
        "major": inspection.control.version.json,
        "control": controldata_json(inspection.control),
        "timeline_history": None if history is None else history_json(history),
        "wal": {"segment_size": w.segment_size,
                "segments": {str(t): list(names) for t, names in w.segments.items()},
                "gaps": list(w.gaps), "gap_count": w.gap_count,
                "bad_segment_names": list(w.bad_segment_names), "end": lsn_json(w.end), "end_reason": w.end_reason,
                "records_after_checkpoint": w.records_after_checkpoint,
                "checkpoint_readable": w.checkpoint_readable},
        "server": {"running": inspection.server.running, "pid": inspection.server.pid,
                   "stale": inspection.server.stale},
        "recovery": dict(inspection.recovery),
        "backup_label": inspection.backup_label,
        "tablespace_map": inspection.tablespace_map,
        "findings": [{"severity": f.severity, "code": f.code, "message": f.message} for f in inspection.findings],
    }


def inspection_lines(inspection: Inspection) -> list[str]:
    c = inspection.control
    w = inspection.wal
    lines = [
        f"{inspection.path}: PostgreSQL {c.version.name}, system identifier {c.system_identifier}",
        f"state:            {c.state.description}" + (" (a server is running)" if inspection.server.running else ""),
        f"checkpoint:       {c.checkpoint} (REDO {c.checkpoint_copy.redo}) on timeline {c.timeline}, "
        f"previous timeline {c.checkpoint_copy.prev_timeline}",
        f"minRecoveryPoint: {c.min_recovery_point} on timeline {c.min_recovery_point_tli}",
        f"data checksums:   {'on' if c.data_checksums else 'off'}; wal_log_hints: {'on' if c.wal_log_hints else 'off'}",
    ]
    if inspection.history is not None:
        spans = ", ".join(f"{s.timeline}: {s.begin}-{s.end if s.end is not None else ''}"
                          for s in inspection.history.spans)
        lines.append(f"timelines:        {spans}")
    per_tli = "; ".join(f"timeline {t}: {len(n)} ({n[0]} .. {n[-1]})" for t, n in w.segments.items())
    lines.append(f"WAL segments:     {per_tli or 'none'} ({w.segment_size // (1024 * 1024)} MB each)")
    lines.append(f"end of WAL:       {w.end if w.end else 'unknown'}: {w.end_reason}")
    server = inspection.server
    lines.append(f"postmaster.pid:   {'none' if server.pid is None else server.pid}"
                 + (" (stale)" if server.stale else " (running)" if server.running else ""))
    if inspection.recovery:
        lines.append("recovery:         " + ", ".join(f"{k}={v}" for k, v in inspection.recovery.items()))
    if inspection.backup_label:
        lines.append("backup_label:     " + inspection.backup_label.strip().replace("\n", " | "))
    lines.append("findings:" if inspection.findings else "findings:         none")
    lines += [f"  [{f.severity}] {f.message}" for f in inspection.findings]
    return lines
