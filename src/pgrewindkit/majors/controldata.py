"""Which lines ``pg_controldata`` prints and which columns the ``pg_control_*()`` functions return,
per major, in their order: src/bin/pg_controldata/pg_controldata.c and
src/backend/utils/misc/pg_controldata.c of 10–18.

Each item is a key (the SQL column's name where there is one) and the set of majors that have it;
how an item is shown lives in ``render/controldata.py``. A new major is added to ``EVERY`` (through
``MAJORS``) and to each set that still holds for it.
"""

from __future__ import annotations

from pgrewindkit.majors.versions import MAJORS

Items = tuple[tuple[str, frozenset[int]], ...]

EVERY = frozenset(m.major for m in MAJORS)
ONLY_10 = frozenset({10})  # "Prior checkpoint location" left in 11
FROM_12 = frozenset({12, 13, 14, 15, 16, 17, 18})  # max_wal_senders joined ControlFileData in 12
UP_TO_12 = frozenset({10, 11, 12})  # float4 always by value from 13
FROM_18 = frozenset({18})  # "Default char data signedness" came in 18

# pg_controldata's lines, in its order.
PG_CONTROLDATA_LINES: Items = (
    ("pg_control_version", EVERY),
    ("catalog_version_no", EVERY),
    ("system_identifier", EVERY),
    ("state", EVERY),
    ("pg_control_last_modified", EVERY),
    ("checkpoint_lsn", EVERY),
    ("prior_lsn", ONLY_10),
    ("redo_lsn", EVERY),
    ("redo_wal_file", EVERY),
    ("timeline_id", EVERY),
    ("prev_timeline_id", EVERY),
    ("full_page_writes", EVERY),
    ("next_xid", EVERY),
    ("next_oid", EVERY),
    ("next_multixact_id", EVERY),
    ("next_multi_offset", EVERY),
    ("oldest_xid", EVERY),
    ("oldest_xid_dbid", EVERY),
    ("oldest_active_xid", EVERY),
    ("oldest_multi_xid", EVERY),
    ("oldest_multi_dbid", EVERY),
    ("oldest_commit_ts_xid", EVERY),
    ("newest_commit_ts_xid", EVERY),
    ("checkpoint_time", EVERY),
    ("unlogged_lsn", EVERY),
    ("min_recovery_end_lsn", EVERY),
    ("min_recovery_end_timeline", EVERY),
    ("backup_start_lsn", EVERY),
    ("backup_end_lsn", EVERY),
    ("end_of_backup_record_required", EVERY),
    ("wal_level", EVERY),
    ("wal_log_hints", EVERY),
    ("max_connections", EVERY),
    ("max_worker_processes", EVERY),
    ("max_wal_senders", FROM_12),
    ("max_prepared_xacts", EVERY),
    ("max_locks_per_xact", EVERY),
    ("track_commit_timestamp", EVERY),
    ("max_data_alignment", EVERY),
    ("database_block_size", EVERY),
    ("blocks_per_segment", EVERY),
    ("wal_block_size", EVERY),
    ("bytes_per_wal_segment", EVERY),
    ("max_identifier_length", EVERY),
    ("max_index_columns", EVERY),
    ("max_toast_chunk_size", EVERY),
    ("large_object_chunk_size", EVERY),
    ("date_time_storage", EVERY),
    ("float4_pass_by_value", UP_TO_12),
    ("float8_pass_by_value", EVERY),
    ("data_page_checksum_version", EVERY),
    ("default_char_signedness", FROM_18),
    ("mock_authentication_nonce", EVERY),
)

# The columns of pg_control_system(), pg_control_checkpoint(), pg_control_recovery() and
# pg_control_init(), in that order.
SQL_COLUMNS: Items = (
    ("pg_control_version", EVERY),
    ("catalog_version_no", EVERY),
    ("system_identifier", EVERY),
    ("pg_control_last_modified", EVERY),
    ("checkpoint_lsn", EVERY),
    ("prior_lsn", ONLY_10),
    ("redo_lsn", EVERY),
    ("redo_wal_file", EVERY),
    ("timeline_id", EVERY),
    ("prev_timeline_id", EVERY),
    ("full_page_writes", EVERY),
    ("next_xid", EVERY),
    ("next_oid", EVERY),
    ("next_multixact_id", EVERY),
    ("next_multi_offset", EVERY),
    ("oldest_xid", EVERY),
    ("oldest_xid_dbid", EVERY),
    ("oldest_active_xid", EVERY),
    ("oldest_multi_xid", EVERY),
    ("oldest_multi_dbid", EVERY),
    ("oldest_commit_ts_xid", EVERY),
    ("newest_commit_ts_xid", EVERY),
    ("checkpoint_time", EVERY),
    ("min_recovery_end_lsn", EVERY),
    ("min_recovery_end_timeline", EVERY),
    ("backup_start_lsn", EVERY),
    ("backup_end_lsn", EVERY),
    ("end_of_backup_record_required", EVERY),
    ("max_data_alignment", EVERY),
    ("database_block_size", EVERY),
    ("blocks_per_segment", EVERY),
    ("wal_block_size", EVERY),
    ("bytes_per_wal_segment", EVERY),
    ("max_identifier_length", EVERY),
    ("max_index_columns", EVERY),
    ("max_toast_chunk_size", EVERY),
    ("large_object_chunk_size", EVERY),
    ("float4_pass_by_value", UP_TO_12),
    ("float8_pass_by_value", EVERY),
    ("data_page_checksum_version", EVERY),
    ("default_char_signedness", FROM_18),
)

# What pg_controldata shows beyond the SQL functions (pgrewindkit's JSON adds them after the columns).
EXTRA_COLUMNS: Items = (
    ("major", EVERY),
    ("state", EVERY),
    ("unlogged_lsn", EVERY),
    ("wal_level", EVERY),
    ("wal_log_hints", EVERY),
    ("max_connections", EVERY),
    ("max_worker_processes", EVERY),
    ("max_wal_senders", FROM_12),
    ("max_prepared_xacts", EVERY),
    ("max_locks_per_xact", EVERY),
    ("track_commit_timestamp", EVERY),
    ("mock_authentication_nonce", EVERY),
)


def _of(items: Items, major: int) -> tuple[str, ...]:
    return tuple(key for key, majors in items if major in majors)


def line_keys(major: int) -> tuple[str, ...]:
    """The keys of the lines ``pg_controldata`` of ``major`` prints, in order."""
    return _of(PG_CONTROLDATA_LINES, major)


def column_keys(major: int) -> tuple[str, ...]:
    """The ``pg_control_*()`` columns of ``major``, then pg_controldata's extras, in order."""
    return _of(SQL_COLUMNS, major) + _of(EXTRA_COLUMNS, major)
