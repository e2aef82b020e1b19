"""The JSON sub-objects several results share, defined once so that every output spells them the
same way (docs/reference.md, "JSON shapes")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: rendering an LSN must not import the analysis layer
    from pgrewindkit.analysis.divergence import CommonCheckpoint, Divergence
    from pgrewindkit.formats.lsn import LSN
    from pgrewindkit.model import HistoryEntry, TimelineSpan


def lsn_json(lsn: LSN | None) -> str | None:
    """An LSN as text (``0/1F613C0``), or null."""
    return None if lsn is None else str(lsn)


def span_json(span: TimelineSpan) -> dict[str, object]:
    """``{"timeline", "begin", "end"}``: ``end`` is null for the newest timeline."""
    return {"timeline": span.timeline, "begin": str(span.begin), "end": lsn_json(span.end)}


def history_entry_json(entry: HistoryEntry) -> dict[str, object]:
    """``{"timeline", "switchpoint", "reason"}``: one line of a history file."""
    return {"timeline": entry.timeline, "switchpoint": str(entry.switchpoint), "reason": entry.reason}


def divergence_point_json(d: Divergence | None) -> dict[str, object] | None:
    """``divergence``: ``{"lsn", "timeline"}`` where the histories part, or null when they do not."""
    if d is None or d.lsn is None:
        return None
    return {"lsn": str(d.lsn), "timeline": d.timeline}


def checkpoint_json(c: CommonCheckpoint | None) -> dict[str, object] | None:
    """``last_common_checkpoint``: ``{"lsn", "timeline", "redo"}``, or null."""
    return None if c is None else {"lsn": str(c.lsn), "timeline": c.timeline, "redo": str(c.redo)}


def last_common_checkpoint(d: Divergence | None) -> CommonCheckpoint | None:
    return None if d is None else d.last_common_checkpoint
