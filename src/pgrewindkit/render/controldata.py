"""A control file as PostgreSQL's own tools show it.

* ``controldata_lines``: the lines ``pg_controldata`` of the file's major prints (C locale).
* ``controldata_json``: the columns of ``pg_control_system()``, ``pg_control_checkpoint()``,
  ``pg_control_recovery()`` and ``pg_control_init()`` of that major, with the settings
  pg_controldata shows and the state, as one flat mapping of JSON values.

Both are tables with one row per output item and the majors that have it, read from
src/bin/pg_controldata/pg_controldata.c and src/backend/utils/misc/pg_controldata.c of 10–18.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TypeAlias

import attrs

from pgrewindkit.model import ControlFile

JSONValue: TypeAlias = str | int | float | bool | None

LABEL_WIDTH = 38  # every pg_controldata label, colon and padding included, is this wide


def _on_off(value: bool | None) -> str:
    return "on" if value else "off"


def _by_value(value: bool | None) -> str:
    return "by value" if value else "by reference"


def _local_time(seconds: int) -> str:
    """``strftime("%c", localtime(t))`` in the C locale; "???" where localtime fails, as 17 does."""
    try:
        return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "???"


def _iso(seconds: int) -> str | None:
    """A ``timestamptz`` as the server's ``to_json`` gives it in a UTC session."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


@attrs.frozen
class _Row:
    label: str
    render: Callable[[ControlFile], str]
    since: int = 10
    until: int = 99

    def applies(self, major: int) -> bool:
        return self.since <= major <= self.until


_TEXT_ROWS: tuple[_Row, ...] = (
    _Row("pg_control version number:", lambda c: str(c.control_version)),
    _Row("Catalog version number:", lambda c: str(c.catalog_version)),
    _Row("Database system identifier:", lambda c: str(c.system_identifier)),
    _Row("Database cluster state:", lambda c: c.state.description),
    _Row("pg_control last modified:", lambda c: _local_time(c.time)),
    _Row("Latest checkpoint location:", lambda c: str(c.checkpoint)),
    _Row("Prior checkpoint location:", lambda c: str(c.prev_checkpoint), until=10),
    _Row("Latest checkpoint's REDO location:", lambda c: str(c.checkpoint_copy.redo)),
    _Row("Latest checkpoint's REDO WAL file:", lambda c: c.redo_segment.file_name(c.xlog_seg_size)),
    _Row("Latest checkpoint's TimeLineID:", lambda c: str(c.checkpoint_copy.timeline)),
    _Row("Latest checkpoint's PrevTimeLineID:", lambda c: str(c.checkpoint_copy.prev_timeline)),
    _Row("Latest checkpoint's full_page_writes:", lambda c: _on_off(c.checkpoint_copy.full_page_writes)),
    _Row("Latest checkpoint's NextXID:",
         lambda c: f"{c.checkpoint_copy.next_xid_epoch}:{c.checkpoint_copy.next_xid}"),
    _Row("Latest checkpoint's NextOID:", lambda c: str(c.checkpoint_copy.next_oid)),
    _Row("Latest checkpoint's NextMultiXactId:", lambda c: str(c.checkpoint_copy.next_multi)),
    _Row("Latest checkpoint's NextMultiOffset:", lambda c: str(c.checkpoint_copy.next_multi_offset)),
    _Row("Latest checkpoint's oldestXID:", lambda c: str(c.checkpoint_copy.oldest_xid)),
    _Row("Latest checkpoint's oldestXID's DB:", lambda c: str(c.checkpoint_copy.oldest_xid_db)),
    _Row("Latest checkpoint's oldestActiveXID:", lambda c: str(c.checkpoint_copy.oldest_active_xid)),
    _Row("Latest checkpoint's oldestMultiXid:", lambda c: str(c.checkpoint_copy.oldest_multi)),
    _Row("Latest checkpoint's oldestMulti's DB:", lambda c: str(c.checkpoint_copy.oldest_multi_db)),
    _Row("Latest checkpoint's oldestCommitTsXid:", lambda c: str(c.checkpoint_copy.oldest_commit_ts_xid)),
    _Row("Latest checkpoint's newestCommitTsXid:", lambda c: str(c.checkpoint_copy.newest_commit_ts_xid)),
    _Row("Time of latest checkpoint:", lambda c: _local_time(c.checkpoint_copy.time)),
    _Row("Fake LSN counter for unlogged rels:", lambda c: str(c.unlogged_lsn)),
    _Row("Minimum recovery ending location:", lambda c: str(c.min_recovery_point)),
    _Row("Min recovery ending loc's timeline:", lambda c: str(c.min_recovery_point_tli)),
    _Row("Backup start location:", lambda c: str(c.backup_start_point)),
    _Row("Backup end location:", lambda c: str(c.backup_end_point)),
    _Row("End-of-backup record required:", lambda c: "yes" if c.backup_end_required else "no"),
    _Row("wal_level setting:", lambda c: c.wal_level.setting),
    _Row("wal_log_hints setting:", lambda c: _on_off(c.wal_log_hints)),
    _Row("max_connections setting:", lambda c: str(c.max_connections)),
    _Row("max_worker_processes setting:", lambda c: str(c.max_worker_processes)),
    _Row("max_wal_senders setting:", lambda c: str(c.max_wal_senders), since=12),
    _Row("max_prepared_xacts setting:", lambda c: str(c.max_prepared_xacts)),
    _Row("max_locks_per_xact setting:", lambda c: str(c.max_locks_per_xact)),
    _Row("track_commit_timestamp setting:", lambda c: _on_off(c.track_commit_timestamp)),
    _Row("Maximum data alignment:", lambda c: str(c.max_align)),
    _Row("Database block size:", lambda c: str(c.blcksz)),
    _Row("Blocks per segment of large relation:", lambda c: str(c.relseg_size)),
    _Row("WAL block size:", lambda c: str(c.xlog_blcksz)),
    _Row("Bytes per WAL segment:", lambda c: str(c.xlog_seg_size)),
    _Row("Maximum length of identifiers:", lambda c: str(c.name_data_len)),
    _Row("Maximum columns in an index:", lambda c: str(c.index_max_keys)),
    _Row("Maximum size of a TOAST chunk:", lambda c: str(c.toast_max_chunk_size)),
    _Row("Size of a large-object chunk:", lambda c: str(c.loblksize)),
    _Row("Date/time type storage:", lambda c: "64-bit integers"),
    _Row("Float4 argument passing:", lambda c: _by_value(c.float4_byval), until=12),
    _Row("Float8 argument passing:", lambda c: _by_value(c.float8_byval)),
    _Row("Data page checksum version:", lambda c: str(c.data_checksum_version)),
    _Row("Default char data signedness:", lambda c: "signed" if c.default_char_signedness else "unsigned",
         since=18),
    _Row("Mock authentication nonce:", lambda c: c.mock_authentication_nonce.hex()),
)


def controldata_lines(control: ControlFile) -> list[str]:
    """The table ``pg_controldata`` of ``control.major`` prints, line by line (C locale, local time)."""
    return [
        f"{row.label:<{LABEL_WIDTH}}{row.render(control)}"
        for row in _TEXT_ROWS
        if row.applies(control.major)
    ]


@attrs.frozen
class _Column:
    name: str
    value: Callable[[ControlFile], JSONValue]
    since: int = 10
    until: int = 99


def _lsn(get: Callable[[ControlFile], object]) -> Callable[[ControlFile], JSONValue]:
    return lambda c: str(get(c))


# pg_control_system(), pg_control_checkpoint(), pg_control_recovery(), pg_control_init(), in order.
_SQL_COLUMNS: tuple[_Column, ...] = (
    _Column("pg_control_version", lambda c: c.control_version),
    _Column("catalog_version_no", lambda c: c.catalog_version),
    _Column("system_identifier", lambda c: c.system_identifier),
    _Column("pg_control_last_modified", lambda c: _iso(c.time)),
    _Column("checkpoint_lsn", _lsn(lambda c: c.checkpoint)),
    _Column("prior_lsn", _lsn(lambda c: c.prev_checkpoint), until=10),
    _Column("redo_lsn", _lsn(lambda c: c.checkpoint_copy.redo)),
    _Column("redo_wal_file", lambda c: c.redo_segment.file_name(c.xlog_seg_size)),
    _Column("timeline_id", lambda c: c.checkpoint_copy.timeline),
    _Column("prev_timeline_id", lambda c: c.checkpoint_copy.prev_timeline),
    _Column("full_page_writes", lambda c: c.checkpoint_copy.full_page_writes),
    _Column("next_xid", lambda c: f"{c.checkpoint_copy.next_xid_epoch}:{c.checkpoint_copy.next_xid}"),
    _Column("next_oid", lambda c: c.checkpoint_copy.next_oid),
    _Column("next_multixact_id", lambda c: c.checkpoint_copy.next_multi),
    _Column("next_multi_offset", lambda c: c.checkpoint_copy.next_multi_offset),
    _Column("oldest_xid", lambda c: c.checkpoint_copy.oldest_xid),
    _Column("oldest_xid_dbid", lambda c: c.checkpoint_copy.oldest_xid_db),
    _Column("oldest_active_xid", lambda c: c.checkpoint_copy.oldest_active_xid),
    _Column("oldest_multi_xid", lambda c: c.checkpoint_copy.oldest_multi),
    _Column("oldest_multi_dbid", lambda c: c.checkpoint_copy.oldest_multi_db),
    _Column("oldest_commit_ts_xid", lambda c: c.checkpoint_copy.oldest_commit_ts_xid),
    _Column("newest_commit_ts_xid", lambda c: c.checkpoint_copy.newest_commit_ts_xid),
    _Column("checkpoint_time", lambda c: _iso(c.checkpoint_copy.time)),
    _Column("min_recovery_end_lsn", _lsn(lambda c: c.min_recovery_point)),
    _Column("min_recovery_end_timeline", lambda c: c.min_recovery_point_tli),
    _Column("backup_start_lsn", _lsn(lambda c: c.backup_start_point)),
    _Column("backup_end_lsn", _lsn(lambda c: c.backup_end_point)),
    _Column("end_of_backup_record_required", lambda c: c.backup_end_required),
    _Column("max_data_alignment", lambda c: c.max_align),
    _Column("database_block_size", lambda c: c.blcksz),
    _Column("blocks_per_segment", lambda c: c.relseg_size),
    _Column("wal_block_size", lambda c: c.xlog_blcksz),
    _Column("bytes_per_wal_segment", lambda c: c.xlog_seg_size),
    _Column("max_identifier_length", lambda c: c.name_data_len),
    _Column("max_index_columns", lambda c: c.index_max_keys),
    _Column("max_toast_chunk_size", lambda c: c.toast_max_chunk_size),
    _Column("large_object_chunk_size", lambda c: c.loblksize),
    _Column("float4_pass_by_value", lambda c: c.float4_byval, until=12),
    _Column("float8_pass_by_value", lambda c: c.float8_byval),
    _Column("data_page_checksum_version", lambda c: c.data_checksum_version),
    _Column("default_char_signedness", lambda c: c.default_char_signedness, since=18),
)

# What pg_controldata shows beyond the SQL functions, named after its labels.
_EXTRA_COLUMNS: tuple[_Column, ...] = (
    _Column("major", lambda c: c.major),
    _Column("state", lambda c: c.state.description),
    _Column("unlogged_lsn", _lsn(lambda c: c.unlogged_lsn)),
    _Column("wal_level", lambda c: c.wal_level.setting),
    _Column("wal_log_hints", lambda c: c.wal_log_hints),
    _Column("max_connections", lambda c: c.max_connections),
    _Column("max_worker_processes", lambda c: c.max_worker_processes),
    _Column("max_wal_senders", lambda c: c.max_wal_senders, since=12),
    _Column("max_prepared_xacts", lambda c: c.max_prepared_xacts),
    _Column("max_locks_per_xact", lambda c: c.max_locks_per_xact),
    _Column("track_commit_timestamp", lambda c: c.track_commit_timestamp),
    _Column("mock_authentication_nonce", lambda c: c.mock_authentication_nonce.hex()),
)

def controldata_json(control: ControlFile) -> dict[str, JSONValue]:
    """One flat object: the SQL functions' columns for this major, then pg_controldata's extras.

    Numbers are JSON numbers (the server's ``to_json`` would quote ``oid`` and ``xid`` columns),
    LSNs are text like ``0/1F613C0``, times ISO 8601 in UTC.
    """
    return {
        col.name: col.value(control)
        for col in (*_SQL_COLUMNS, *_EXTRA_COLUMNS)
        if col.since <= control.major <= col.until
    }
