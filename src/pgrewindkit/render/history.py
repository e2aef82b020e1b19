"""A timeline history, as text and as JSON (``history``; ``timeline_history`` of ``inspect``)."""

from __future__ import annotations

from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.render.shapes import history_entry_json, span_json


def history_json(history: TimelineHistory) -> dict[str, object]:
    return {
        "timeline": history.timeline,
        "entries": [history_entry_json(e) for e in history.entries],
        "spans": [span_json(s) for s in history.spans],
    }


def history_lines(history: TimelineHistory) -> list[str]:
    lines = [f"Timeline {history.timeline}"]
    for span in history.spans:
        end = "(current)" if span.end is None else str(span.end)
        lines.append(f"  timeline {span.timeline}: {span.begin} - {end}")
    lines += [f"  switched from timeline {e.timeline} at {e.switchpoint}: {e.reason}" for e in history.entries]
    return lines
