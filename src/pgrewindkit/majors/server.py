"""What a running server of each major offers to SQL, and which of its settings a streaming pair
needs: one explicit row per major, every field spelled out. Before 10 the WAL functions are named
``xlog``/``location`` (10 renamed them ``wal``/``lsn``: "Rename "pg_xlog" directory to "pg_wal"" and
its follow-ups), and several defaults keep a server from streaming."""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions


@attrs.frozen
class WalFunctions:
    """The SQL names of a server's WAL positions and files (``xlog``/``location`` before 10)."""

    current_lsn: str  # the position written up to: pg_current_xlog_location()
    current_insert_lsn: str  # ... inserted up to (pg_rewind's libpq source reads it)
    last_replay_lsn: str  # a standby's replay position
    last_receive_lsn: str  # a standby's receive position
    walfile_name: str  # the function naming the segment of an LSN (called with one)
    switch: str  # switch to a new segment


_XLOG = WalFunctions(current_lsn="pg_current_xlog_location()",
                     current_insert_lsn="pg_current_xlog_insert_location()",
                     last_replay_lsn="pg_last_xlog_replay_location()",
                     last_receive_lsn="pg_last_xlog_receive_location()", walfile_name="pg_xlogfile_name",
                     switch="pg_switch_xlog()")
_WAL = WalFunctions(current_lsn="pg_current_wal_lsn()", current_insert_lsn="pg_current_wal_insert_lsn()",
                    last_replay_lsn="pg_last_wal_replay_lsn()", last_receive_lsn="pg_last_wal_receive_lsn()",
                    walfile_name="pg_walfile_name", switch="pg_switch_wal()")


@attrs.frozen
class ServerSql:
    """A major's SQL names for WAL positions and files, the views and settings it has, and what a
    primary and its standby must be told that this major's defaults do not give them."""

    version: versions.Major
    wal: WalFunctions
    wal_receiver_view: bool  # pg_stat_wal_receiver (9.6+); a 9.5 standby does not show its received timeline
    # the statements pg_rewind's libpq source sends first (idle_in_transaction_session_timeout is 9.6+)
    session_setup: tuple[str, ...]
    # pg_create_physical_replication_slot(name, immediately_reserve) (9.6+); 9.5 takes the name only
    slot_reserves_wal: bool
    # settings whose defaults keep a primary from serving a standby, or a standby from answering
    # queries: max_wal_senders defaults to 0 and hot_standby to off before 10
    streaming_settings: tuple[tuple[str, str], ...]
    wal_keep_setting: str  # wal_keep_segments (segments; to 12), wal_keep_size (MB; 13+)

    @property
    def major(self) -> int:
        return self.version.major

    def keep_wal(self, megabytes: int, segment_mb: int = 16) -> dict[str, object]:
        """The setting keeping ``megabytes`` of WAL for standbys, as this major spells it."""
        if self.wal_keep_setting == "wal_keep_size":
            return {"wal_keep_size": f"'{megabytes}MB'"}
        return {self.wal_keep_setting: max(megabytes // segment_mb, 1)}


_SESSION_95 = ("SET statement_timeout = 0", "SET lock_timeout = 0")
_SESSION_96 = (*_SESSION_95, "SET idle_in_transaction_session_timeout = 0")
_STREAMING_9 = (("max_wal_senders", "10"), ("hot_standby", "on"))
_V = versions.by_major

# One explicit row per major, every field spelled out.
SERVER_SQL: dict[int, ServerSql] = versions.keyed((
    ServerSql(version=_V(95), wal=_XLOG, wal_receiver_view=False, session_setup=_SESSION_95, slot_reserves_wal=False,
              streaming_settings=_STREAMING_9, wal_keep_setting="wal_keep_segments"),
    ServerSql(version=_V(96), wal=_XLOG, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=_STREAMING_9, wal_keep_setting="wal_keep_segments"),
    ServerSql(version=_V(10), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_segments"),
    ServerSql(version=_V(11), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_segments"),
    ServerSql(version=_V(12), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_segments"),
    ServerSql(version=_V(13), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
    ServerSql(version=_V(14), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
    ServerSql(version=_V(15), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
    ServerSql(version=_V(16), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
    ServerSql(version=_V(17), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
    ServerSql(version=_V(18), wal=_WAL, wal_receiver_view=True, session_setup=_SESSION_96, slot_reserves_wal=True,
              streaming_settings=(), wal_keep_setting="wal_keep_size"),
), key="major")


def server_sql(major: int) -> ServerSql:
    """The row of ``major``; a major pgrewindkit does not know is refused (``UnsupportedVersionError``)."""
    return versions.lookup(SERVER_SQL, major, "server functions and settings")
