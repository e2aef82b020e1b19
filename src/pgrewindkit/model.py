"""The typed, frozen values pgrewindkit returns: nothing here reads bytes or files."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.majors.versions import Major

if TYPE_CHECKING:
    import datetime as dt


class DBState(enum.IntEnum):
    """``DBState`` of pg_control.h, with the words pg_controldata prints."""

    STARTUP = 0
    SHUTDOWNED = 1
    SHUTDOWNED_IN_RECOVERY = 2
    SHUTDOWNING = 3
    IN_CRASH_RECOVERY = 4
    IN_ARCHIVE_RECOVERY = 5
    IN_PRODUCTION = 6

    @property
    def description(self) -> str:
        return _DB_STATE_WORDS[self]

    @property
    def is_clean_shutdown(self) -> bool:
        """What pg_rewind asks of a target: shut down, as a primary or in recovery."""
        return self in (DBState.SHUTDOWNED, DBState.SHUTDOWNED_IN_RECOVERY)


_DB_STATE_WORDS = {
    DBState.STARTUP: "starting up",
    DBState.SHUTDOWNED: "shut down",
    DBState.SHUTDOWNED_IN_RECOVERY: "shut down in recovery",
    DBState.SHUTDOWNING: "shutting down",
    DBState.IN_CRASH_RECOVERY: "in crash recovery",
    DBState.IN_ARCHIVE_RECOVERY: "in archive recovery",
    DBState.IN_PRODUCTION: "in production",
}


class WalLevel(enum.IntEnum):
    """``WalLevel`` of xlog.h from 9.6 on (archive and hot_standby became replica)."""

    MINIMAL = 0
    REPLICA = 1
    LOGICAL = 2

    @property
    def setting(self) -> str:
        return self.name.lower()


def _utc(seconds: int) -> dt.datetime | None:
    """A ``pg_time_t`` as an aware UTC datetime, or None when it is outside what datetime holds."""
    import datetime as dt  # here: reading WAL or a control file does not need it (2 ms of import)

    try:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


@attrs.frozen
class CheckPoint:
    """``CheckPoint``: the state a checkpoint records, in pg_control and in checkpoint WAL records."""

    redo: LSN
    timeline: int
    prev_timeline: int
    full_page_writes: bool
    next_xid_epoch: int
    next_xid: int
    next_oid: int
    next_multi: int
    next_multi_offset: int
    oldest_xid: int
    oldest_xid_db: int
    oldest_multi: int
    oldest_multi_db: int
    time: int
    oldest_commit_ts_xid: int
    newest_commit_ts_xid: int
    oldest_active_xid: int
    wal_level: WalLevel | None = None  # recorded in the checkpoint from 17 on

    @property
    def time_utc(self) -> dt.datetime | None:
        return _utc(self.time)

    @property
    def next_full_xid(self) -> int:
        return (self.next_xid_epoch << 32) | self.next_xid

    def redo_segment(self, segment_size: int) -> WalSegment:
        return WalSegment.containing(self.timeline, self.redo, segment_size)


@attrs.frozen
class ControlFile:
    """Every field of ``ControlFileData`` for the major that wrote it.

    Fields a major does not have are None (``prev_checkpoint`` before 11 only, ``max_wal_senders``
    from 12, ``float4_byval`` up to 12, ``default_char_signedness`` from 18, ``enable_int_times`` in
    9.5 and 9.6 only, ``mock_authentication_nonce`` from 10).
    """

    version: Major
    system_identifier: int
    control_version: int
    catalog_version: int
    state: DBState
    time: int
    checkpoint: LSN
    checkpoint_copy: CheckPoint
    unlogged_lsn: LSN
    min_recovery_point: LSN
    min_recovery_point_tli: int
    backup_start_point: LSN
    backup_end_point: LSN
    backup_end_required: bool
    wal_level: WalLevel
    wal_log_hints: bool
    max_connections: int
    max_worker_processes: int
    max_prepared_xacts: int
    max_locks_per_xact: int
    track_commit_timestamp: bool
    max_align: int
    float_format: float
    blcksz: int
    relseg_size: int
    xlog_blcksz: int
    xlog_seg_size: int
    name_data_len: int
    index_max_keys: int
    toast_max_chunk_size: int
    loblksize: int
    float8_byval: bool
    data_checksum_version: int
    crc: int
    mock_authentication_nonce: bytes | None = None  # from 10
    enable_int_times: bool | None = None  # 9.5 and 9.6 only
    # wal_level as this major's pg_controldata names it ("archive", "hot_standby" in 9.5; wal_level is
    # then REPLICA); None where it is wal_level.setting
    wal_level_name: str | None = None
    prev_checkpoint: LSN | None = None
    max_wal_senders: int | None = None
    float4_byval: bool | None = None
    default_char_signedness: bool | None = None
    path: str | None = None

    @property
    def major(self) -> int:
        return self.version.major

    @property
    def wal_level_setting(self) -> str:
        """wal_level as pg_controldata of this major prints it."""
        return self.wal_level_name if self.wal_level_name is not None else self.wal_level.setting

    @property
    def time_utc(self) -> dt.datetime | None:
        return _utc(self.time)

    @property
    def timeline(self) -> int:
        """The timeline of the latest checkpoint (``checkPointCopy.ThisTimeLineID``)."""
        return self.checkpoint_copy.timeline

    @property
    def data_checksums(self) -> bool:
        return self.data_checksum_version != 0

    @property
    def redo_segment(self) -> WalSegment:
        return self.checkpoint_copy.redo_segment(self.xlog_seg_size)


@attrs.frozen
class HistoryEntry:
    """One line of a timeline history file: ``timeline`` ended, and its child began, at ``switchpoint``."""

    timeline: int
    switchpoint: LSN
    reason: str


@attrs.frozen
class TimelineSpan:
    """A timeline's stretch of WAL within a history: ``begin`` ≤ position < ``end`` (None: no end)."""

    timeline: int
    begin: LSN
    end: LSN | None

    def __contains__(self, lsn: LSN) -> bool:
        return self.begin <= lsn and (self.end is None or lsn < self.end)
