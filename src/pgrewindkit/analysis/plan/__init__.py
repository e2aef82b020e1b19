"""The rewind plan: ``plan_rewind()`` (planner), what it says (model), and how it decides: pg_rewind's
checks (checks), its file map (filemap) and its page map (pagemap)."""

from __future__ import annotations

from pgrewindkit.analysis.plan.model import (
    AbandonedHistory,
    Action,
    Check,
    ConfigChange,
    FileAction,
    PlanFailure,
    PlanOutcome,
    RewindPlan,
    UnarchivedWal,
    WalSegmentNeeded,
)
from pgrewindkit.analysis.plan.planner import plan_rewind
from pgrewindkit.analysis.plan.walfiles import (
    abandoned_history_files,
    source_lineage,
    unarchived_wal,
    wal_segments_needed,
    with_archive,
)

__all__ = ["AbandonedHistory", "Action", "Check", "ConfigChange", "FileAction", "PlanFailure", "PlanOutcome",
           "RewindPlan", "UnarchivedWal", "WalSegmentNeeded", "abandoned_history_files", "plan_rewind",
           "source_lineage", "unarchived_wal", "wal_segments_needed", "with_archive"]
