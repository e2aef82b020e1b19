"""The rewind plan: ``plan_rewind()`` (planner), what it says (model), and how it decides: pg_rewind's
checks (checks), its file map (filemap) and its page map (pagemap)."""

from __future__ import annotations

from pgrewindkit.analysis.plan.model import (
    Action,
    Check,
    ConfigChange,
    FileAction,
    PlanFailure,
    PlanOutcome,
    RewindPlan,
    WalSegmentNeeded,
)
from pgrewindkit.analysis.plan.planner import plan_rewind

__all__ = ["Action", "Check", "ConfigChange", "FileAction", "PlanFailure", "PlanOutcome", "RewindPlan",
           "WalSegmentNeeded", "plan_rewind"]
