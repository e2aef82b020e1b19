"""The PostgreSQL programs pgrewindkit runs and the directories they use, per major: one explicit row
per major, every field spelled out. ``pg_ctl`` and ``postgres --single`` take the same options in every
major pgrewindkit knows, so they need none."""

from __future__ import annotations

import enum

import attrs

from pgrewindkit.majors import versions


class RecoveryStyle(enum.Enum):
    """How a data directory is told to start as a standby."""

    RECOVERY_CONF = "recovery.conf"  # recovery.conf with standby_mode = on (9.5 to 11)
    STANDBY_SIGNAL = "standby.signal"  # standby.signal, the settings in the configuration (from 12)


@attrs.frozen
class Programs:
    """A major's directory and program names, the options its programs have, and its standby style."""

    version: versions.Major
    wal_directory: str  # the data directory's WAL directory (pg_xlog before 10)
    waldump: str  # the WAL dump program (pg_xlogdump before 10)
    initdb_no_sync: str  # initdb's flag for not syncing: --nosync before 10
    replica_wal_level: str  # the wal_level a standby needs, as the server takes it: hot_standby in 9.5
    initdb_wal_segsize: bool  # initdb --wal-segsize (11+; before, the size was fixed at build time)
    initdb_checksums_by_default: bool  # initdb turns data checksums on unless told --no-data-checksums (18+)
    pg_rewind_options: frozenset[str]  # the optional flags pg_rewind of this major accepts
    recovery: RecoveryStyle
    # pg_ctl promote -w waits for the promotion to finish (10+); before, it returns at once ("server
    # promoting") and pg_is_in_recovery() tells when it is done
    promote_waits: bool
    # initdb's pg_hba.conf lets local replication connections in (10+: "local replication all" with
    # the -A method); before, those lines are commented out and a standby needs one added
    hba_allows_local_replication: bool

    @property
    def major(self) -> int:
        return self.version.major

    @property
    def recovery_conf(self) -> bool:
        return self.recovery is RecoveryStyle.RECOVERY_CONF

    def initdb_options(self, *, wal_segsize_mb: int | None, checksums: bool) -> list[str]:
        """initdb's options for a WAL segment size (when this major can choose it) and data checksums
        on or off whatever this major's default."""
        options = []
        if wal_segsize_mb is not None and self.initdb_wal_segsize:
            options.append(f"--wal-segsize={wal_segsize_mb}")
        if checksums:
            options.append("--data-checksums")
        elif self.initdb_checksums_by_default:
            options.append("--no-data-checksums")
        return options


# pg_rewind's optional flags as they grew (src/bin/pg_rewind/pg_rewind.c of each major; 9.5 and 9.6
# have 10's).
_REWIND_10 = frozenset({"--dry-run", "--progress", "--debug"})
_REWIND_12 = _REWIND_10 | {"--no-sync"}
_REWIND_13 = _REWIND_12 | {"--no-ensure-shutdown", "--restore-target-wal", "--write-recovery-conf"}
_REWIND_15 = _REWIND_13 | {"--config-file"}

_V = versions.by_major
_CONF, _SIGNAL = RecoveryStyle.RECOVERY_CONF, RecoveryStyle.STANDBY_SIGNAL

PROGRAMS: dict[int, Programs] = versions.keyed((
    Programs(version=_V(95), wal_directory="pg_xlog", waldump="pg_xlogdump", initdb_no_sync="--nosync",
             replica_wal_level="hot_standby",
             initdb_wal_segsize=False, initdb_checksums_by_default=False, pg_rewind_options=_REWIND_10,
             recovery=_CONF, promote_waits=False, hba_allows_local_replication=False),
    Programs(version=_V(96), wal_directory="pg_xlog", waldump="pg_xlogdump", initdb_no_sync="--nosync",
             replica_wal_level="replica",
             initdb_wal_segsize=False, initdb_checksums_by_default=False, pg_rewind_options=_REWIND_10,
             recovery=_CONF, promote_waits=False, hba_allows_local_replication=False),
    Programs(version=_V(10), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=False,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_10, recovery=_CONF,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(11), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_10, recovery=_CONF,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(12), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_12, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(13), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_13, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(14), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_13, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(15), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_15, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(16), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_15, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(17), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=False, pg_rewind_options=_REWIND_15, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
    Programs(version=_V(18), wal_directory="pg_wal", waldump="pg_waldump", initdb_no_sync="--no-sync",
             replica_wal_level="replica", initdb_wal_segsize=True,
             initdb_checksums_by_default=True, pg_rewind_options=_REWIND_15, recovery=_SIGNAL,
             promote_waits=True, hba_allows_local_replication=True),
), key="major")

# Every name a WAL directory has had, for finding one before the major is known.
WAL_DIRECTORY_NAMES = ("pg_wal", "pg_xlog")


def programs_for(major: int) -> Programs:
    """The row of ``major``; a major pgrewindkit does not know is refused (``UnsupportedVersionError``)."""
    return versions.lookup(PROGRAMS, major, "programs and their options")


def first_major_with(option: str) -> int | None:
    """The first major whose pg_rewind has ``option`` (for saying so when an older one lacks it)."""
    return next((row.major for row in PROGRAMS.values() if option in row.pg_rewind_options), None)
