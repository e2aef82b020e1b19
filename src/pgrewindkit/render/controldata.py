"""A control file as PostgreSQL's own tools show it.

* ``controldata_lines``: the lines ``pg_controldata`` of the file's major prints (C locale).
* ``controldata_json``: the columns of ``pg_control_system()``, ``pg_control_checkpoint()``,
  ``pg_control_recovery()`` and ``pg_control_init()`` of that major, with the settings
  pg_controldata shows and the state, as one flat mapping of JSON values.

Which items each major has, and in which order, is per-major knowledge in
``majors/controldata.py``; here is only how each item is shown.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Union

from pgrewindkit.majors.controldata import column_keys, column_name, line_keys, next_xid_separator
from pgrewindkit.model import ControlFile

JSONValue = Union[str, int, float, bool, None]  # Union: evaluated at run time on 3.9

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
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _next_xid(c: ControlFile) -> str:
    return f"{c.checkpoint_copy.next_xid_epoch}:{c.checkpoint_copy.next_xid}"


def _next_xid_line(c: ControlFile) -> str:
    return f"{c.checkpoint_copy.next_xid_epoch}{next_xid_separator(c.major)}{c.checkpoint_copy.next_xid}"


def _date_time_storage(c: ControlFile) -> str:
    # computed from enableIntTimes in 9.5/9.6; a constant from 10 (no such field)
    return "floating-point numbers" if c.enable_int_times is False else "64-bit integers"


def _nonce(c: ControlFile) -> str | None:
    return None if c.mock_authentication_nonce is None else c.mock_authentication_nonce.hex()


def _redo_wal_file(c: ControlFile) -> str:
    return c.redo_segment.file_name(c.xlog_seg_size)


# key (majors/controldata.py) -> pg_controldata's label and how it prints the value
_LINES: dict[str, tuple[str, Callable[[ControlFile], str]]] = {
    "pg_control_version": ("pg_control version number:", lambda c: str(c.control_version)),
    "catalog_version_no": ("Catalog version number:", lambda c: str(c.catalog_version)),
    "system_identifier": ("Database system identifier:", lambda c: str(c.system_identifier)),
    "state": ("Database cluster state:", lambda c: c.state.description),
    "pg_control_last_modified": ("pg_control last modified:", lambda c: _local_time(c.time)),
    "checkpoint_lsn": ("Latest checkpoint location:", lambda c: str(c.checkpoint)),
    "prior_lsn": ("Prior checkpoint location:", lambda c: str(c.prev_checkpoint)),
    "redo_lsn": ("Latest checkpoint's REDO location:", lambda c: str(c.checkpoint_copy.redo)),
    "redo_wal_file": ("Latest checkpoint's REDO WAL file:", _redo_wal_file),
    "timeline_id": ("Latest checkpoint's TimeLineID:", lambda c: str(c.checkpoint_copy.timeline)),
    "prev_timeline_id": ("Latest checkpoint's PrevTimeLineID:", lambda c: str(c.checkpoint_copy.prev_timeline)),
    "full_page_writes": ("Latest checkpoint's full_page_writes:",
                         lambda c: _on_off(c.checkpoint_copy.full_page_writes)),
    "next_xid": ("Latest checkpoint's NextXID:", _next_xid_line),
    "next_oid": ("Latest checkpoint's NextOID:", lambda c: str(c.checkpoint_copy.next_oid)),
    "next_multixact_id": ("Latest checkpoint's NextMultiXactId:", lambda c: str(c.checkpoint_copy.next_multi)),
    "next_multi_offset": ("Latest checkpoint's NextMultiOffset:",
                          lambda c: str(c.checkpoint_copy.next_multi_offset)),
    "oldest_xid": ("Latest checkpoint's oldestXID:", lambda c: str(c.checkpoint_copy.oldest_xid)),
    "oldest_xid_dbid": ("Latest checkpoint's oldestXID's DB:", lambda c: str(c.checkpoint_copy.oldest_xid_db)),
    "oldest_active_xid": ("Latest checkpoint's oldestActiveXID:",
                          lambda c: str(c.checkpoint_copy.oldest_active_xid)),
    "oldest_multi_xid": ("Latest checkpoint's oldestMultiXid:", lambda c: str(c.checkpoint_copy.oldest_multi)),
    "oldest_multi_dbid": ("Latest checkpoint's oldestMulti's DB:",
                          lambda c: str(c.checkpoint_copy.oldest_multi_db)),
    "oldest_commit_ts_xid": ("Latest checkpoint's oldestCommitTsXid:",
                             lambda c: str(c.checkpoint_copy.oldest_commit_ts_xid)),
    "newest_commit_ts_xid": ("Latest checkpoint's newestCommitTsXid:",
                             lambda c: str(c.checkpoint_copy.newest_commit_ts_xid)),
    "checkpoint_time": ("Time of latest checkpoint:", lambda c: _local_time(c.checkpoint_copy.time)),
    "unlogged_lsn": ("Fake LSN counter for unlogged rels:", lambda c: str(c.unlogged_lsn)),
    "min_recovery_end_lsn": ("Minimum recovery ending location:", lambda c: str(c.min_recovery_point)),
    "min_recovery_end_timeline": ("Min recovery ending loc's timeline:", lambda c: str(c.min_recovery_point_tli)),
    "backup_start_lsn": ("Backup start location:", lambda c: str(c.backup_start_point)),
    "backup_end_lsn": ("Backup end location:", lambda c: str(c.backup_end_point)),
    "end_of_backup_record_required": ("End-of-backup record required:",
                                      lambda c: "yes" if c.backup_end_required else "no"),
    "wal_level": ("wal_level setting:", lambda c: c.wal_level_setting),
    "wal_log_hints": ("wal_log_hints setting:", lambda c: _on_off(c.wal_log_hints)),
    "max_connections": ("max_connections setting:", lambda c: str(c.max_connections)),
    "max_worker_processes": ("max_worker_processes setting:", lambda c: str(c.max_worker_processes)),
    "max_wal_senders": ("max_wal_senders setting:", lambda c: str(c.max_wal_senders)),
    "max_prepared_xacts": ("max_prepared_xacts setting:", lambda c: str(c.max_prepared_xacts)),
    "max_locks_per_xact": ("max_locks_per_xact setting:", lambda c: str(c.max_locks_per_xact)),
    "track_commit_timestamp": ("track_commit_timestamp setting:", lambda c: _on_off(c.track_commit_timestamp)),
    "max_data_alignment": ("Maximum data alignment:", lambda c: str(c.max_align)),
    "database_block_size": ("Database block size:", lambda c: str(c.blcksz)),
    "blocks_per_segment": ("Blocks per segment of large relation:", lambda c: str(c.relseg_size)),
    "wal_block_size": ("WAL block size:", lambda c: str(c.xlog_blcksz)),
    "bytes_per_wal_segment": ("Bytes per WAL segment:", lambda c: str(c.xlog_seg_size)),
    "max_identifier_length": ("Maximum length of identifiers:", lambda c: str(c.name_data_len)),
    "max_index_columns": ("Maximum columns in an index:", lambda c: str(c.index_max_keys)),
    "max_toast_chunk_size": ("Maximum size of a TOAST chunk:", lambda c: str(c.toast_max_chunk_size)),
    "large_object_chunk_size": ("Size of a large-object chunk:", lambda c: str(c.loblksize)),
    "date_time_storage": ("Date/time type storage:", _date_time_storage),
    "float4_pass_by_value": ("Float4 argument passing:", lambda c: _by_value(c.float4_byval)),
    "float8_pass_by_value": ("Float8 argument passing:", lambda c: _by_value(c.float8_byval)),
    "data_page_checksum_version": ("Data page checksum version:", lambda c: str(c.data_checksum_version)),
    "default_char_signedness": ("Default char data signedness:",
                                lambda c: "signed" if c.default_char_signedness else "unsigned"),
    "mock_authentication_nonce": ("Mock authentication nonce:", lambda c: str(_nonce(c))),
}


def controldata_lines(control: ControlFile) -> list[str]:
    """The table ``pg_controldata`` of ``control.major`` prints, line by line (C locale, local time)."""
    return [
        f"{label:<{LABEL_WIDTH}}{show(control)}"
        for label, show in (_LINES[key] for key in line_keys(control.major))
    ]


def _lsn(get: Callable[[ControlFile], object]) -> Callable[[ControlFile], JSONValue]:
    return lambda c: str(get(c))


# key (majors/controldata.py) -> the column's value as JSON: the pg_control_*() columns, then
# what pg_controldata shows beyond them, named after its labels
_COLUMNS: dict[str, Callable[[ControlFile], JSONValue]] = {
    "pg_control_version": lambda c: c.control_version,
    "catalog_version_no": lambda c: c.catalog_version,
    "system_identifier": lambda c: c.system_identifier,
    "pg_control_last_modified": lambda c: _iso(c.time),
    "checkpoint_lsn": _lsn(lambda c: c.checkpoint),
    "prior_lsn": _lsn(lambda c: c.prev_checkpoint),
    "redo_lsn": _lsn(lambda c: c.checkpoint_copy.redo),
    "redo_wal_file": _redo_wal_file,
    "timeline_id": lambda c: c.checkpoint_copy.timeline,
    "prev_timeline_id": lambda c: c.checkpoint_copy.prev_timeline,
    "full_page_writes": lambda c: c.checkpoint_copy.full_page_writes,
    "next_xid": _next_xid,
    "next_oid": lambda c: c.checkpoint_copy.next_oid,
    "next_multixact_id": lambda c: c.checkpoint_copy.next_multi,
    "next_multi_offset": lambda c: c.checkpoint_copy.next_multi_offset,
    "oldest_xid": lambda c: c.checkpoint_copy.oldest_xid,
    "oldest_xid_dbid": lambda c: c.checkpoint_copy.oldest_xid_db,
    "oldest_active_xid": lambda c: c.checkpoint_copy.oldest_active_xid,
    "oldest_multi_xid": lambda c: c.checkpoint_copy.oldest_multi,
    "oldest_multi_dbid": lambda c: c.checkpoint_copy.oldest_multi_db,
    "oldest_commit_ts_xid": lambda c: c.checkpoint_copy.oldest_commit_ts_xid,
    "newest_commit_ts_xid": lambda c: c.checkpoint_copy.newest_commit_ts_xid,
    "checkpoint_time": lambda c: _iso(c.checkpoint_copy.time),
    "min_recovery_end_lsn": _lsn(lambda c: c.min_recovery_point),
    "min_recovery_end_timeline": lambda c: c.min_recovery_point_tli,
    "backup_start_lsn": _lsn(lambda c: c.backup_start_point),
    "backup_end_lsn": _lsn(lambda c: c.backup_end_point),
    "end_of_backup_record_required": lambda c: c.backup_end_required,
    "max_data_alignment": lambda c: c.max_align,
    "database_block_size": lambda c: c.blcksz,
    "blocks_per_segment": lambda c: c.relseg_size,
    "wal_block_size": lambda c: c.xlog_blcksz,
    "bytes_per_wal_segment": lambda c: c.xlog_seg_size,
    "max_identifier_length": lambda c: c.name_data_len,
    "max_index_columns": lambda c: c.index_max_keys,
    "max_toast_chunk_size": lambda c: c.toast_max_chunk_size,
    "large_object_chunk_size": lambda c: c.loblksize,
    "bigint_timestamps": lambda c: c.enable_int_times,
    "float4_pass_by_value": lambda c: c.float4_byval,
    "float8_pass_by_value": lambda c: c.float8_byval,
    "data_page_checksum_version": lambda c: c.data_checksum_version,
    "default_char_signedness": lambda c: c.default_char_signedness,
    "major": lambda c: c.version.json,
    "state": lambda c: c.state.description,
    "unlogged_lsn": _lsn(lambda c: c.unlogged_lsn),
    "wal_level": lambda c: c.wal_level_setting,
    "wal_log_hints": lambda c: c.wal_log_hints,
    "max_connections": lambda c: c.max_connections,
    "max_worker_processes": lambda c: c.max_worker_processes,
    "max_wal_senders": lambda c: c.max_wal_senders,
    "max_prepared_xacts": lambda c: c.max_prepared_xacts,
    "max_locks_per_xact": lambda c: c.max_locks_per_xact,
    "track_commit_timestamp": lambda c: c.track_commit_timestamp,
    "mock_authentication_nonce": _nonce,
}


def controldata_json(control: ControlFile) -> dict[str, JSONValue]:
    """One flat object: the SQL functions' columns for this major, then pg_controldata's extras.

    Numbers are JSON numbers (the server's ``to_json`` would quote ``oid`` and ``xid`` columns),
    LSNs are text like ``0/1F613C0``, times ISO 8601 in UTC.
    """
    return {column_name(key, control.major): _COLUMNS[key](control) for key in column_keys(control.major)}


def controldata_brief(path: str, control: ControlFile) -> str:
    """One line per file: major, state, timeline, checkpoint, REDO, hints, checksums (``controldata --brief``)."""
    return (f"{path}: PostgreSQL {control.version.name}, {control.state.description}, timeline {control.timeline}, "
            f"checkpoint {control.checkpoint} (REDO {control.checkpoint_copy.redo}), "
            f"wal_log_hints {_on_off(control.wal_log_hints)}, "
            f"data checksums {_on_off(control.data_checksums)}")
