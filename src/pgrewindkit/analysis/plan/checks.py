"""pg_rewind's checks before it decides anything, in its order: the two clusters' compatibility and
state (``sanityChecks``), and a live source's settings (``libpq_source``'s checks)."""

from __future__ import annotations

from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.analysis.plan.model import Check, PlanFailure
from pgrewindkit.cluster.source import Source
from pgrewindkit.errors import Kind
from pgrewindkit.majors.rewind import RewindRules
from pgrewindkit.majors.versions import display
from pgrewindkit.model import ControlFile

_SIZES = ("blcksz", "xlog_blcksz", "xlog_seg_size", "relseg_size")


class CheckList:
    """The checks made so far, passed and failed, in the order they were made."""

    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, name: str, ok: bool, message: str, kind: Kind) -> None:
        self.items.append(Check(name, ok, message, None if ok else kind))

    def first_failure(self) -> PlanFailure | None:
        failed = next((c for c in self.items if not c.ok and c.kind), None)
        return PlanFailure(failed.kind, failed.message) if failed and failed.kind else None


def sanity_checks(checks: CheckList, source: Source, s: ControlFile, t: ControlFile) -> None:
    """Source control file ``s`` against target control file ``t``."""
    same_system = s.system_identifier == t.system_identifier
    checks.add("same_system", same_system,
               "source and target are the same system" if same_system
               else "source and target clusters are from different systems", Kind.DIFFERENT_SYSTEMS)
    same_version = (s.control_version, s.catalog_version) == (t.control_version, t.catalog_version)
    checks.add("compatible_versions", same_version,
               f"both are PostgreSQL {t.version.name}" if same_version
               else "clusters are not compatible with this version of pg_rewind", Kind.INCOMPATIBLE_CLUSTERS)
    differing = [f"{n} {getattr(s, n)} (source) vs {getattr(t, n)} (target)" for n in _SIZES
                 if getattr(s, n) != getattr(t, n)]
    checks.add("compatible_sizes", not differing,
               "block, WAL block, WAL segment and relation segment sizes match" if not differing
               else "clusters are not compatible: " + ", ".join(differing), Kind.INCOMPATIBLE_CLUSTERS)
    hints = t.data_checksums or t.wal_log_hints
    checks.add("wal_log_hints_or_checksums", hints,
               ("target uses data checksums" if t.data_checksums else "target has wal_log_hints = on")
               if hints else 'target server needs to use either data checksums or "wal_log_hints = on"',
               Kind.NO_WAL_LOG_HINTS_OR_CHECKSUMS)
    clean = t.state.is_clean_shutdown
    checks.add("target_shut_down", clean,
               f"target is {t.state.description}" if clean else
               f"target server must be shut down cleanly (it is {t.state.description})",
               Kind.TARGET_NOT_CLEANLY_SHUT_DOWN)
    if not source.is_live:  # a server is running by definition; a data directory must be shut down
        clean = s.state.is_clean_shutdown
        checks.add("source_shut_down", clean,
                   f"source is {s.state.description}" if clean else
                   f"source data directory must be shut down cleanly (it is {s.state.description})",
                   Kind.SOURCE_NOT_CLEANLY_SHUT_DOWN)


def live_source_checks(checks: CheckList, source: Source, rules: RewindRules) -> None:
    """What pg_rewind asks of a running source: full-page writes, and (before 14) a primary."""
    if not source.is_live:
        return
    fpw = source.setting("full_page_writes")
    checks.add("source_full_page_writes", fpw == "on",
               "source has full_page_writes = on" if fpw == "on"
               else '"full_page_writes" must be enabled in the source server', Kind.FULL_PAGE_WRITES_OFF)
    if not rules.standby_source:
        primary = not source.in_recovery()
        checks.add("source_not_in_recovery", primary, "source is a primary" if primary
                   else "source server must not be in recovery mode", Kind.SOURCE_IN_RECOVERY)


def source_checkpointed(divergence: Divergence | None) -> Check | None:
    """Not pg_rewind's check: whether the timeline it takes for the source is the source's real one.
    Right after a promotion, until its first checkpoint, the source's pg_control shows the old
    timeline, and pg_rewind before 16 decides on it ("no rewind required", or the wrong divergence).
    None when there is no divergence to judge."""
    if divergence is None:
        return None
    taken, current = divergence.source_timeline, divergence.source_current_timeline
    if current is None:
        return Check("source_checkpointed", True,
                     f"source on timeline {taken} (its current timeline could not be asked)")
    if current <= taken:
        return Check("source_checkpointed", True, f"source's pg_control shows its current timeline {current}")
    return Check("source_checkpointed", False,
                 f"source is on timeline {current}, but its pg_control still shows timeline {taken} (no checkpoint "
                 f"since its promotion): pg_rewind {display(divergence.major)} decides on timeline {taken}; run "
                 "CHECKPOINT on the source and plan again", Kind.SOURCE_CHECKPOINT_PENDING)
