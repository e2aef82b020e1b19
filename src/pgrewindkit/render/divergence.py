"""A divergence, as text (like ``pg_rewind --debug``) and as JSON (``divergence``)."""

from __future__ import annotations

from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.majors import versions
from pgrewindkit.majors.rewind import rules_for
from pgrewindkit.model import TimelineSpan
from pgrewindkit.render.shapes import checkpoint_json, divergence_point_json, lsn_json, span_json


def _span(span: TimelineSpan) -> str:
    return f"{span.timeline}: {span.begin} - {span.end if span.end is not None else '0/0'}"


def divergence_lines(d: Divergence) -> list[str]:
    lines = [f"source timeline {d.source_timeline}, target timeline {d.target_timeline} "
             f"(as pg_rewind {d.major} takes them)", "Source timeline history:"]
    lines += [f"  {_span(s)}" for s in d.source_history]
    lines += ["Target timeline history:", *(f"  {_span(s)}" for s in d.target_history)]
    if d.lsn is not None:
        word = rules_for(versions.parse_major(str(d.major))).wal_position_word  # "position" before 10
        lines.append(f"servers diverged at WAL {word} {d.lsn} on timeline {d.timeline}")
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
    lines += _truth_lines(d)
    return lines


def _truth_lines(d: Divergence) -> list[str]:
    """What pg_rewind does not look at: the source's real timeline, and whether the target can
    follow the source without a rewind."""
    lines = []
    if d.source_checkpoint_pending:
        lines.append(f"warning: the source is on timeline {d.source_current_timeline}, but its pg_control still "
                     f"shows timeline {d.source_timeline} (no checkpoint since its promotion): pg_rewind "
                     f"{d.major} decides on timeline {d.source_timeline}")
    if not d.rewind_needed:
        lines.append("the target's WAL is part of the source's history: it can follow the source without a rewind"
                     if d.target_is_ancestor else
                     "not proven that the target's WAL is part of the source's history: do not start it as a "
                     "standby of the source without a rewind")
    return lines


def divergence_json(d: Divergence) -> dict[str, object]:
    return {
        "rewind_needed": d.rewind_needed,
        "reason": d.reason,
        "source_timeline": d.source_timeline,
        "target_timeline": d.target_timeline,
        "divergence": divergence_point_json(d),
        "target_wal_end": lsn_json(d.target_wal_end),
        "last_common_checkpoint": checkpoint_json(d.last_common_checkpoint),
        "source_history": [span_json(s) for s in d.source_history],
        "target_history": [span_json(s) for s in d.target_history],
        "warnings": list(d.warnings),
        "source_current_timeline": d.source_current_timeline,
        "source_checkpoint_pending": d.source_checkpoint_pending,
        "target_is_ancestor": d.target_is_ancestor,
    }
