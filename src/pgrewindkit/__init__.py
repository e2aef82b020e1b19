"""pgrewindkit: exact, typed PostgreSQL failback.

Read ``pg_control``, timeline history files and WAL without a server; know before a rewind
whether and where two clusters diverged; run pg_rewind safely.
"""

from __future__ import annotations

from pgrewindkit.actions.failback import FailbackError, FailbackResult, Step, failback, standby_conninfo
from pgrewindkit.actions.programs import BinaryNotFoundError, find_program
from pgrewindkit.actions.recovery import RecoveryConfig, read_current, recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import ProgressEvent, RewindError, RewindOptions, RewindResult, build_command, rewind
from pgrewindkit.analysis.divergence import CommonCheckpoint, Divergence, DivergenceError, find_divergence
from pgrewindkit.analysis.inspection import Finding, Inspection, inspect_datadir
from pgrewindkit.analysis.plan import Action, Check, ConfigChange, FileAction, PlanError, RewindPlan, plan_rewind
from pgrewindkit.cluster.datadir import DataDirectory, FileEntry, FileType
from pgrewindkit.cluster.source import LiveSource, LocalSource, Source, SourceError, mask_password
from pgrewindkit.errors import (
    ChecksumError,
    ClassifiedError,
    DataFileAccessError,
    DataFileNotFoundError,
    FormatError,
    HistoryParseError,
    PgRewindKitError,
    TruncatedError,
    UnsupportedVersionError,
)
from pgrewindkit.formats.controlfile import parse_control_file, read_control_file
from pgrewindkit.formats.lsn import LSN, TimelineID, WalSegment, check_segment_size, parse_timeline
from pgrewindkit.formats.timeline import TimelineHistory, parse_timeline_history, read_timeline_history
from pgrewindkit.formats.wal import BlockRef, EndOfWal, Wal, WalReadError, WalRecord, WalScan, open_wal
from pgrewindkit.formats.wal.parallel import scan_stats
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.majors.versions import MAJORS, Major
from pgrewindkit.model import CheckPoint, ControlFile, DBState, HistoryEntry, TimelineSpan, WalLevel
from pgrewindkit.render.controldata import controldata_json, controldata_lines

__version__ = "0.1.0"

__all__ = [
    "LSN",
    "MAJORS",
    "Action",
    "BinaryNotFoundError",
    "BlockRef",
    "Check",
    "CheckPoint",
    "ChecksumError",
    "ClassifiedError",
    "CommonCheckpoint",
    "ConfigChange",
    "ControlFile",
    "DBState",
    "DataDirectory",
    "DataFileAccessError",
    "DataFileNotFoundError",
    "Divergence",
    "DivergenceError",
    "EndOfWal",
    "FailbackError",
    "FailbackResult",
    "FileAction",
    "FileEntry",
    "FileType",
    "Finding",
    "FormatError",
    "HistoryEntry",
    "HistoryParseError",
    "Inspection",
    "LiveSource",
    "LocalSource",
    "Major",
    "PgRewindKitError",
    "PlanError",
    "ProgressEvent",
    "RecoveryConfig",
    "RewindError",
    "RewindOptions",
    "RewindPlan",
    "RewindResult",
    "Source",
    "SourceError",
    "Step",
    "TimelineHistory",
    "TimelineID",
    "TimelineSpan",
    "TruncatedError",
    "UnsupportedVersionError",
    "Wal",
    "WalLevel",
    "WalReadError",
    "WalRecord",
    "WalScan",
    "WalSegment",
    "WalStats",
    "__version__",
    "build_command",
    "check_segment_size",
    "controldata_json",
    "controldata_lines",
    "failback",
    "find_divergence",
    "find_program",
    "inspect_datadir",
    "mask_password",
    "open_wal",
    "parse_control_file",
    "parse_timeline",
    "parse_timeline_history",
    "plan_rewind",
    "read_control_file",
    "read_current",
    "read_timeline_history",
    "recovery_config",
    "rewind",
    "scan_stats",
    "standby_conninfo",
    "write_recovery_config",
]
