"""pgrewindkit: exact, typed PostgreSQL failback.

Read ``pg_control``, timeline history files and WAL without a server; know before a rewind
whether and where two clusters diverged; run pg_rewind safely.
"""

from __future__ import annotations

from pgrewindkit.actions.archive import ArchiveProbe, probe_archive
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
from pgrewindkit.majors.versions import MAJORS, Major
from pgrewindkit.model import CheckPoint, ControlFile, DBState, HistoryEntry, TimelineSpan, WalLevel
from pgrewindkit.render.controldata import controldata_json, controldata_lines

# 0.1's name for PlanFailure, a value that was named like an exception.
PlanError = PlanFailure

__version__ = "0.1.0"

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
    "CommonCheckpoint",
    "ConfigChange",
    "ControlFile",
    "DBState",
    "DataDirectory",
    "DataFileAccessError",
    "DataFileNotFoundError",
    "DifferentSystemsError",
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
    "ProgramNotFoundError",
    "ProgressEvent",
    "PsycopgMissingError",
    "RecordFilter",
    "RecoveryConfig",
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
    "failback",
    "find_divergence",
    "find_program",
    "inspect_datadir",
    "lookup",
    "mask_password",
    "open_wal",
    "parse_control_file",
    "parse_release",
    "parse_timeline",
    "parse_timeline_history",
    "plan_rewind",
    "probe_archive",
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
