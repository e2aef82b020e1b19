"""pgrewindkit: exact, typed PostgreSQL failback.

Read ``pg_control``, timeline history files and WAL without a server; know before a rewind
whether and where two clusters diverged; run pg_rewind safely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgrewindkit._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use (_LAZY)
    from pgrewindkit.actions.archive import ArchiveProbe, probe_archive, probe_plan
    from pgrewindkit.actions.failback import (
        FailbackOutcome,
        FailbackResult,
        Step,
        configure_standby,
        failback,
        standby_conninfo,
    )
    from pgrewindkit.actions.programs import find_program
    from pgrewindkit.actions.recovery import (
        RecoveryConfig,
        current_recovery_settings,
        read_current,
        recovery_config,
        write_recovery_config,
    )
    from pgrewindkit.actions.rewind import (
        ProgressEvent,
        RewindOptions,
        RewindOutcome,
        RewindResult,
        build_command,
        rewind,
    )
    from pgrewindkit.analysis.discarded import (
        CommittedTransaction,
        DiscardedWork,
        PreparedTransaction,
        RelationChanges,
        discarded_work,
    )
    from pgrewindkit.analysis.divergence import CommonCheckpoint, Divergence, find_divergence
    from pgrewindkit.analysis.inspection import Finding, Inspection, Severity, inspect_datadir
    from pgrewindkit.analysis.plan import (
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
        abandoned_history_files,
        plan_rewind,
        unarchived_wal,
        wal_segments_needed,
    )
    from pgrewindkit.cluster.datadir import DataDirectory, FileEntry, FileType
    from pgrewindkit.cluster.source import LiveSource, LocalSource, Source, mask_password
    from pgrewindkit.errors import (
        BinaryNotFoundError,
        ChecksumError,
        ClassifiedError,
        CommandError,
        DataFileAccessError,
        DataFileNotFoundError,
        DifferentSystemsError,
        DivergenceError,
        FailbackError,
        FormatError,
        HistoryMissingError,
        HistoryParseError,
        Kind,
        NoCommonAncestorError,
        PgRewindKitError,
        ProgramNotFoundError,
        PsycopgMissingError,
        RewindError,
        SourceError,
        SourcePermissionError,
        TargetState,
        TruncatedError,
        UnsafePathError,
        UnsupportedVersionError,
        WalMissingError,
        WalReadError,
        lookup,
    )
    from pgrewindkit.formats.controlfile import parse_control_file, read_control_file
    from pgrewindkit.formats.lsn import LSN, TimelineID, WalSegment, check_segment_size, parse_timeline
    from pgrewindkit.formats.timeline import TimelineHistory, parse_timeline_history, read_timeline_history
    from pgrewindkit.formats.wal import BlockRef, EndOfWal, Wal, WalRecord, WalScan, open_wal
    from pgrewindkit.formats.wal.dump import (
        RecordFilter,
        SegmentName,
        SegmentRange,
        rmgr_list,
        segment_name,
        segment_range,
        selected,
        stats_of,
    )
    from pgrewindkit.formats.wal.parallel import scan_stats
    from pgrewindkit.formats.wal.stats import WalStats
    from pgrewindkit.majors.rewind import parse_release
    from pgrewindkit.majors.versions import MAJORS, Major, parse_major
    from pgrewindkit.model import CheckPoint, ControlFile, DBState, HistoryEntry, TimelineSpan, WalLevel
    from pgrewindkit.render.controldata import controldata_json, controldata_lines

    # 0.1's name for PlanFailure, a value that was named like an exception.
    PlanError = PlanFailure

# Where each public name lives. `import pgrewindkit` imports none of these modules: each is imported when
# one of its names is first used, so a command (or a library user) pays only for the layers it needs.
_LAZY: dict[str, tuple[str, ...]] = {
    "pgrewindkit.actions.archive": ("ArchiveProbe", "probe_archive", "probe_plan"),
    "pgrewindkit.actions.failback": (
        "FailbackOutcome", "FailbackResult", "Step", "configure_standby", "failback", "standby_conninfo",
    ),
    "pgrewindkit.actions.programs": ("find_program",),
    "pgrewindkit.actions.recovery": (
        "RecoveryConfig", "current_recovery_settings", "read_current", "recovery_config", "write_recovery_config",
    ),
    "pgrewindkit.actions.rewind": (
        "ProgressEvent", "RewindOptions", "RewindOutcome", "RewindResult", "build_command", "rewind",
    ),
    "pgrewindkit.analysis.discarded": (
        "CommittedTransaction", "DiscardedWork", "PreparedTransaction", "RelationChanges", "discarded_work",
    ),
    "pgrewindkit.analysis.divergence": ("CommonCheckpoint", "Divergence", "find_divergence"),
    "pgrewindkit.analysis.inspection": ("Finding", "Inspection", "Severity", "inspect_datadir"),
    "pgrewindkit.analysis.plan": (
        "AbandonedHistory", "Action", "Check", "ConfigChange", "FileAction", "PlanFailure", "PlanOutcome",
        "RewindPlan", "UnarchivedWal", "WalSegmentNeeded", "abandoned_history_files", "plan_rewind",
        "unarchived_wal", "wal_segments_needed",
    ),
    "pgrewindkit.cluster.datadir": ("DataDirectory", "FileEntry", "FileType"),
    "pgrewindkit.cluster.source": ("LiveSource", "LocalSource", "Source", "mask_password"),
    "pgrewindkit.errors": (
        "BinaryNotFoundError", "ChecksumError", "ClassifiedError", "CommandError", "DataFileAccessError",
        "DataFileNotFoundError", "DifferentSystemsError", "DivergenceError", "FailbackError", "FormatError",
        "HistoryMissingError", "HistoryParseError", "Kind", "NoCommonAncestorError", "PgRewindKitError",
        "ProgramNotFoundError", "PsycopgMissingError", "RewindError", "SourceError", "SourcePermissionError",
        "TargetState", "TruncatedError", "UnsafePathError", "UnsupportedVersionError", "WalMissingError",
        "WalReadError", "lookup",
    ),
    "pgrewindkit.formats.controlfile": ("parse_control_file", "read_control_file"),
    "pgrewindkit.formats.lsn": ("LSN", "TimelineID", "WalSegment", "check_segment_size", "parse_timeline"),
    "pgrewindkit.formats.timeline": ("TimelineHistory", "parse_timeline_history", "read_timeline_history"),
    "pgrewindkit.formats.wal": ("BlockRef", "EndOfWal", "Wal", "WalRecord", "WalScan", "open_wal"),
    "pgrewindkit.formats.wal.dump": (
        "RecordFilter", "SegmentName", "SegmentRange", "rmgr_list", "segment_name", "segment_range", "selected",
        "stats_of",
    ),
    "pgrewindkit.formats.wal.parallel": ("scan_stats",),
    "pgrewindkit.formats.wal.stats": ("WalStats",),
    "pgrewindkit.majors.rewind": ("parse_release",),
    "pgrewindkit.majors.versions": ("MAJORS", "Major", "parse_major"),
    "pgrewindkit.model": ("CheckPoint", "ControlFile", "DBState", "HistoryEntry", "TimelineSpan", "WalLevel"),
    "pgrewindkit.render.controldata": ("controldata_json", "controldata_lines"),
}

__version__ = "0.1.0"

if not TYPE_CHECKING:  # type checkers see the imports above, not a module __getattr__ that takes any name
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, aliases={"PlanError": "PlanFailure"})

__all__ = [
    "LSN",
    "MAJORS",
    "AbandonedHistory",
    "Action",
    "ArchiveProbe",
    "BinaryNotFoundError",
    "BlockRef",
    "Check",
    "CheckPoint",
    "ChecksumError",
    "ClassifiedError",
    "CommandError",
    "CommittedTransaction",
    "CommonCheckpoint",
    "ConfigChange",
    "ControlFile",
    "DBState",
    "DataDirectory",
    "DataFileAccessError",
    "DataFileNotFoundError",
    "DifferentSystemsError",
    "DiscardedWork",
    "Divergence",
    "DivergenceError",
    "EndOfWal",
    "FailbackError",
    "FailbackOutcome",
    "FailbackResult",
    "FileAction",
    "FileEntry",
    "FileType",
    "Finding",
    "FormatError",
    "HistoryEntry",
    "HistoryMissingError",
    "HistoryParseError",
    "Inspection",
    "Kind",
    "LiveSource",
    "LocalSource",
    "Major",
    "NoCommonAncestorError",
    "PgRewindKitError",
    "PlanError",
    "PlanFailure",
    "PlanOutcome",
    "PreparedTransaction",
    "ProgramNotFoundError",
    "ProgressEvent",
    "PsycopgMissingError",
    "RecordFilter",
    "RecoveryConfig",
    "RelationChanges",
    "RewindError",
    "RewindOptions",
    "RewindOutcome",
    "RewindPlan",
    "RewindResult",
    "SegmentName",
    "SegmentRange",
    "Severity",
    "Source",
    "SourceError",
    "SourcePermissionError",
    "Step",
    "TargetState",
    "TimelineHistory",
    "TimelineID",
    "TimelineSpan",
    "TruncatedError",
    "UnarchivedWal",
    "UnsafePathError",
    "UnsupportedVersionError",
    "Wal",
    "WalLevel",
    "WalMissingError",
    "WalReadError",
    "WalRecord",
    "WalScan",
    "WalSegment",
    "WalSegmentNeeded",
    "WalStats",
    "__version__",
    "abandoned_history_files",
    "build_command",
    "check_segment_size",
    "configure_standby",
    "controldata_json",
    "controldata_lines",
    "current_recovery_settings",
    "discarded_work",
    "failback",
    "find_divergence",
    "find_program",
    "inspect_datadir",
    "lookup",
    "mask_password",
    "open_wal",
    "parse_control_file",
    "parse_major",
    "parse_release",
    "parse_timeline",
    "parse_timeline_history",
    "plan_rewind",
    "probe_archive",
    "probe_plan",
    "read_control_file",
    "read_current",
    "read_timeline_history",
    "recovery_config",
    "rewind",
    "rmgr_list",
    "scan_stats",
    "segment_name",
    "segment_range",
    "selected",
    "standby_conninfo",
    "stats_of",
    "unarchived_wal",
    "wal_segments_needed",
    "write_recovery_config",
]
