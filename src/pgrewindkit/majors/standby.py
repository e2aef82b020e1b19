"""Where a standby of each major is told the seed's promotion trigger file. One explicit row per major.

Facts (PostgreSQL's release notes and ``guc.c`` of each major): ``trigger_file`` is a
``recovery.conf`` setting up to 11; 12 moved recovery settings into the server's configuration
and renamed it ``promote_trigger_file``; 16 removed it (``pg_ctl promote`` or ``pg_promote()``
only). ``wal_keep_segments`` (in segments) became ``wal_keep_size`` (in megabytes) in 13."""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions


@attrs.frozen
class StandbySettings:
    version: versions.Major
    # the setting naming a file whose appearance promotes the standby; None where there is none
    trigger_file_setting: str | None

    @property
    def major(self) -> int:
        return self.version.major

    @property
    def trigger_file_in_recovery_conf(self) -> bool:
        return self.trigger_file_setting == "trigger_file"


_V = versions.by_major

STANDBY_SETTINGS: dict[int, StandbySettings] = versions.keyed((
    StandbySettings(_V(95), trigger_file_setting="trigger_file"),
    StandbySettings(_V(96), trigger_file_setting="trigger_file"),
    StandbySettings(_V(10), trigger_file_setting="trigger_file"),
    StandbySettings(_V(11), trigger_file_setting="trigger_file"),
    StandbySettings(_V(12), trigger_file_setting="promote_trigger_file"),
    StandbySettings(_V(13), trigger_file_setting="promote_trigger_file"),
    StandbySettings(_V(14), trigger_file_setting="promote_trigger_file"),
    StandbySettings(_V(15), trigger_file_setting="promote_trigger_file"),
    StandbySettings(_V(16), trigger_file_setting=None),
    StandbySettings(_V(17), trigger_file_setting=None),
    StandbySettings(_V(18), trigger_file_setting=None),
), key="major")


def standby_settings(major: int) -> StandbySettings:
    """The row of ``major``; a major pgrewindkit does not know is refused (``UnsupportedVersionError``)."""
    return versions.lookup(STANDBY_SETTINGS, major, "standby settings")
