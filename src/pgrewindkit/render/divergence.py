"""A divergence, as text (like ``pg_rewind --debug``) and as JSON (``divergence``)."""

from __future__ import annotations

import attrs

from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.formats.lsn import LSN
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
    lines += timeline_picture(d)
    return lines


@attrs.frozen
class _Points:
    """What the picture shows: where the source left the common timeline, for which, the last
    common checkpoint, the end of the target's WAL, and what of it a rewind throws away."""

    switchpoint: LSN
    source_timeline: int
    target_timeline: int
    checkpoint: LSN | None
    target_end: LSN | None
    discarded: tuple[LSN, LSN] | None


def _points(d: Divergence) -> _Points | None:
    if d.lsn is None or d.common_index is None:
        return None
    index = d.common_index
    after = d.source_history[index + 1].timeline if index + 1 < len(d.source_history) else d.source_timeline
    end = d.target_wal_end
    discarded = (d.lsn, end) if end is not None and end > d.lsn else None
    checkpoint = d.last_common_checkpoint.lsn if d.last_common_checkpoint is not None else None
    return _Points(d.lsn, after, d.target_timeline, checkpoint, end, discarded)


def timeline_picture(d: Divergence) -> list[str]:
    """Both clusters' timelines in a few terminal lines (not to scale): the shared history, the
    source going on on its new timeline, the target's WAL after the divergence that a rewind
    throws away. Nothing when they never parted."""
    p = _points(d)
    if p is None:
        return []
    shared = f"{'=' * 6}{'C' if p.checkpoint is not None else '='}{'=' * 6}"
    if p.discarded is not None:
        target = f"{shared}D{'#' * 18}| TL{p.target_timeline} ends {p.target_end}"
    else:
        target = f"{shared[:-3]}| D   TL{p.target_timeline} ends {p.target_end} (before the divergence)"
    lines = ["", "Timelines (not to scale):",
             f"  source  TL{d.timeline} {shared}D{'-' * 18}> TL{p.source_timeline} from {p.switchpoint}",
             f"  target  TL{d.timeline} {target}"]
    if p.checkpoint is not None:
        lines.append(f"  C  last common checkpoint {p.checkpoint}: the rewind replays from there")
    lines.append(f"  D  divergence {p.switchpoint} on timeline {d.timeline}: the source switched to timeline "
                 f"{p.source_timeline}")
    if p.discarded is not None:
        lines.append(f"  #  the target's WAL from {p.discarded[0]} to {p.discarded[1]}: what a rewind throws away")
    return lines


def picture_json(d: Divergence | None) -> dict[str, object] | None:
    """The picture's points: null when the clusters never parted."""
    p = None if d is None else _points(d)
    if p is None:
        return None
    return {"switchpoint": str(p.switchpoint), "source_timeline": p.source_timeline,
            "target_timeline": p.target_timeline, "last_common_checkpoint": lsn_json(p.checkpoint),
            "target_wal_end": lsn_json(p.target_end),
            "discarded_from": lsn_json(p.discarded[0]) if p.discarded else None,
            "discarded_to": lsn_json(p.discarded[1]) if p.discarded else None}


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
        "picture": picture_json(d),
    }
