"""Which lines ``pg_controldata`` prints and which columns the ``pg_control_*()`` functions return,
per major, in their order: src/bin/pg_controldata/pg_controldata.c and
src/backend/utils/misc/pg_controldata.c of 9.5–18 (9.5 has no ``pg_control_*()`` functions: its
JSON takes 9.6's column names).

Each item is a key (the SQL column's name where there is one); ``MAJORS_OF`` gives the majors that
have it. How an item is shown lives in ``render/controldata.py``. A new major joins ``EVERY``
(through ``MAJORS``) and each set of ``MAJORS_OF`` that still holds for it.
"""

from __future__ import annotations

from pgrewindkit.majors.versions import MAJORS

EVERY = frozenset(m.major for m in MAJORS)
NINE = frozenset({95, 96})  # 9.5 and 9.6

# The items some majors lack; every other item is in every major.
MAJORS_OF: dict[str, frozenset[int]] = {
    "prior_lsn": NINE | {10},  # "Prior checkpoint location" left in 11
    "max_wal_senders": frozenset({12, 13, 14, 15, 16, 17, 18}),  # joined ControlFileData in 12
    "float4_pass_by_value": NINE | {10, 11, 12},  # float4 always by value from 13
    "default_char_signedness": frozenset({18}),  # came in 18
    "bigint_timestamps": NINE,  # pg_control_init()'s column for enableIntTimes, gone in 10
    "mock_authentication_nonce": EVERY - NINE,  # came in 10
}

# Columns 9.6's functions name "location" where 10 says "lsn" (9.5, without functions, follows 9.6).
COLUMN_NAMES: dict[int, dict[str, str]] = {
    major: {"checkpoint_lsn": "checkpoint_location", "prior_lsn": "prior_location", "redo_lsn": "redo_location",
            "min_recovery_end_lsn": "min_recovery_end_location", "backup_start_lsn": "backup_start_location",
            "backup_end_lsn": "backup_end_location"}
    for major in NINE
}

# pg_controldata's "NextXID" joins epoch and xid with "/" in 9.5, ":" from 9.6 on.
NEXT_XID_SEPARATOR: dict[int, str] = {95: "/"}

# pg_controldata's lines, in its order.
PG_CONTROLDATA_LINES: tuple[str, ...] = (
    "pg_control_version", "catalog_version_no", "system_identifier", "state", "pg_control_last_modified",
    "checkpoint_lsn", "prior_lsn", "redo_lsn", "redo_wal_file", "timeline_id", "prev_timeline_id",
    "full_page_writes", "next_xid", "next_oid", "next_multixact_id", "next_multi_offset", "oldest_xid",
    "oldest_xid_dbid", "oldest_active_xid", "oldest_multi_xid", "oldest_multi_dbid", "oldest_commit_ts_xid",
    "newest_commit_ts_xid", "checkpoint_time", "unlogged_lsn",
    "min_recovery_end_lsn", "min_recovery_end_timeline", "backup_start_lsn", "backup_end_lsn",
    "end_of_backup_record_required",
    "wal_level", "wal_log_hints", "max_connections", "max_worker_processes", "max_wal_senders",
    "max_prepared_xacts", "max_locks_per_xact", "track_commit_timestamp",
    "max_data_alignment", "database_block_size", "blocks_per_segment", "wal_block_size", "bytes_per_wal_segment",
    "max_identifier_length", "max_index_columns", "max_toast_chunk_size", "large_object_chunk_size",
    "date_time_storage", "float4_pass_by_value", "float8_pass_by_value", "data_page_checksum_version",
    "default_char_signedness", "mock_authentication_nonce",
)

# The columns of the SQL functions, in their order.
SQL_COLUMNS: tuple[str, ...] = (
    # pg_control_system()
    "pg_control_version", "catalog_version_no", "system_identifier", "pg_control_last_modified",
    # pg_control_checkpoint()
    "checkpoint_lsn", "prior_lsn", "redo_lsn", "redo_wal_file", "timeline_id", "prev_timeline_id",
    "full_page_writes", "next_xid", "next_oid", "next_multixact_id", "next_multi_offset", "oldest_xid",
    "oldest_xid_dbid", "oldest_active_xid", "oldest_multi_xid", "oldest_multi_dbid", "oldest_commit_ts_xid",
    "newest_commit_ts_xid", "checkpoint_time",
    # pg_control_recovery()
    "min_recovery_end_lsn", "min_recovery_end_timeline", "backup_start_lsn", "backup_end_lsn",
    "end_of_backup_record_required",
    # pg_control_init()
    "max_data_alignment", "database_block_size", "blocks_per_segment", "wal_block_size", "bytes_per_wal_segment",
    "max_identifier_length", "max_index_columns", "max_toast_chunk_size", "large_object_chunk_size",
    "bigint_timestamps", "float4_pass_by_value", "float8_pass_by_value", "data_page_checksum_version",
    "default_char_signedness",
)

# What pg_controldata shows beyond the SQL functions (pgrewindkit's JSON adds them after the columns).
EXTRA_COLUMNS: tuple[str, ...] = (
    "major", "state", "unlogged_lsn", "wal_level", "wal_log_hints", "max_connections", "max_worker_processes",
    "max_wal_senders", "max_prepared_xacts", "max_locks_per_xact", "track_commit_timestamp",
    "mock_authentication_nonce",
)


def majors_of(key: str) -> frozenset[int]:
    """The majors that have this item."""
    return MAJORS_OF.get(key, EVERY)


def _of(keys: tuple[str, ...], major: int) -> tuple[str, ...]:
    return tuple(key for key in keys if major in majors_of(key))


def line_keys(major: int) -> tuple[str, ...]:
    """The keys of the lines ``pg_controldata`` of ``major`` prints, in order."""
    return _of(PG_CONTROLDATA_LINES, major)


def column_keys(major: int) -> tuple[str, ...]:
    """The ``pg_control_*()`` columns of ``major``, then pg_controldata's extras, in order."""
    return _of(SQL_COLUMNS, major) + _of(EXTRA_COLUMNS, major)


def column_name(key: str, major: int) -> str:
    """The name ``major``'s functions give the column ``key``."""
    return COLUMN_NAMES.get(major, {}).get(key, key)


def next_xid_separator(major: int) -> str:
    return NEXT_XID_SEPARATOR.get(major, ":")
