"""pgrewindkit: exact, typed PostgreSQL failback.

Read ``pg_control``, timeline history files and WAL without a server; know before a rewind
whether and where two clusters diverged; run pg_rewind safely.
"""

from __future__ import annotations

from pgrewindkit.controlfile import parse_control_file, read_control_file
from pgrewindkit.controlreport import controldata_json, controldata_lines
from pgrewindkit.errors import (
    ChecksumError,
    DataFileAccessError,
    DataFileNotFoundError,
    FormatError,
    HistoryParseError,
    PgRewindKitError,
    TruncatedError,
    UnsupportedVersionError,
)
from pgrewindkit.lsn import LSN, TimelineID, WalSegment, check_segment_size, parse_timeline
from pgrewindkit.model import CheckPoint, ControlFile, DBState, HistoryEntry, TimelineSpan, WalLevel
from pgrewindkit.timeline import TimelineHistory, parse_timeline_history, read_timeline_history
from pgrewindkit.versions import MAJORS, Major
from pgrewindkit.wal import BlockRef, EndOfWal, Wal, WalReadError, WalRecord, WalScan, open_wal

__version__ = "0.1.0"

__all__ = [
    "LSN",
    "MAJORS",
    "BlockRef",
    "CheckPoint",
    "ChecksumError",
    "ControlFile",
    "DBState",
    "DataFileAccessError",
    "DataFileNotFoundError",
    "EndOfWal",
    "FormatError",
    "HistoryEntry",
    "HistoryParseError",
    "Major",
    "PgRewindKitError",
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
    "__version__",
    "check_segment_size",
    "controldata_json",
    "controldata_lines",
    "open_wal",
    "parse_control_file",
    "parse_timeline",
    "parse_timeline_history",
    "read_control_file",
    "read_timeline_history",
]
