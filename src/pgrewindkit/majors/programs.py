"""The PostgreSQL programs pgrewindkit runs, per major: the options pg_rewind of that major has, and
how a standby of that major is configured. One explicit row per major; ``pg_ctl`` and
``postgres --single`` take the same options in every major pgrewindkit knows, so they need none."""

from __future__ import annotations

import enum

import attrs

from pgrewindkit.majors import versions


class RecoveryStyle(enum.Enum):
    """How a data directory is told to start as a standby."""

    RECOVERY_CONF = "recovery.conf"  # recovery.conf with standby_mode = on (up to 11)
    STANDBY_SIGNAL = "standby.signal"  # standby.signal, the settings in the configuration (from 12)


@attrs.frozen
class Programs:
    major: int
    pg_rewind_options: frozenset[str]  # the optional flags pg_rewind of this major accepts
    recovery: RecoveryStyle

    @property
    def recovery_conf(self) -> bool:
        return self.recovery is RecoveryStyle.RECOVERY_CONF


# pg_rewind's optional flags as they grew (src/bin/pg_rewind/pg_rewind.c of each major).
_REWIND_10 = frozenset({"--dry-run", "--progress", "--debug"})
_REWIND_12 = _REWIND_10 | {"--no-sync"}
_REWIND_13 = _REWIND_12 | {"--no-ensure-shutdown", "--restore-target-wal", "--write-recovery-conf"}
_REWIND_15 = _REWIND_13 | {"--config-file"}

_CONF, _SIGNAL = RecoveryStyle.RECOVERY_CONF, RecoveryStyle.STANDBY_SIGNAL

PROGRAMS: tuple[Programs, ...] = (
    Programs(10, _REWIND_10, _CONF),
    Programs(11, _REWIND_10, _CONF),
    Programs(12, _REWIND_12, _SIGNAL),
    Programs(13, _REWIND_13, _SIGNAL),
    Programs(14, _REWIND_13, _SIGNAL),
    Programs(15, _REWIND_15, _SIGNAL),
    Programs(16, _REWIND_15, _SIGNAL),
    Programs(17, _REWIND_15, _SIGNAL),
    Programs(18, _REWIND_15, _SIGNAL),
)

_BY_MAJOR = {row.major: row for row in PROGRAMS}


def programs_for(major: int) -> Programs:
    """The row of ``major``; a major pgrewindkit does not know is refused (``UnsupportedVersionError``)."""
    return _BY_MAJOR[versions.by_major(major).major]


def first_major_with(option: str) -> int | None:
    """The first major whose pg_rewind has ``option`` (for saying so when an older one lacks it)."""
    return next((row.major for row in PROGRAMS if option in row.pg_rewind_options), None)
