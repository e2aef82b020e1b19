"""Everything pgrewindkit knows of one major, gathered from the per-major tables into one cached
object (as pgBackRest's ``pgInterface[]``): a major is refused until every table has its row."""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs

from pgrewindkit.errors import UnsupportedVersionError
from pgrewindkit.majors import programs as programs_table
from pgrewindkit.majors import records as records_table
from pgrewindkit.majors import rewind as rewind_table
from pgrewindkit.majors import rmgrs as rmgrs_table
from pgrewindkit.majors import server as server_table
from pgrewindkit.majors import standby as standby_table
from pgrewindkit.majors import versions
from pgrewindkit.majors import wal as wal_table
from pgrewindkit.majors.layouts import control as control_table
from pgrewindkit.majors.layouts.control import ControlLayout
from pgrewindkit.majors.layouts.xlog import WalStructs
from pgrewindkit.majors.programs import Programs
from pgrewindkit.majors.rewind import RewindRules
from pgrewindkit.majors.rmgrs import ResourceManager
from pgrewindkit.majors.server import ServerSql
from pgrewindkit.majors.standby import StandbySettings
from pgrewindkit.majors.wal import Messages, WalFormat


@attrs.frozen
class MajorRow:
    """One major: its identity, layouts, WAL format, words, resource managers, pg_rewind's rules,
    its programs and its server's SQL."""

    version: versions.Major
    control: ControlLayout
    wal: WalFormat
    messages: Messages
    structs: WalStructs  # the WAL hot loop's precompiled formats, derived from the layouts
    rmgrs: tuple[ResourceManager, ...]
    rewind: RewindRules  # as the newest minor decides; rewind.rules_for(major, minor) for another minor
    programs: Programs
    standby: StandbySettings
    server: ServerSql  # a running server's SQL names and the settings a streaming pair needs

    @property
    def major(self) -> int:
        return self.version.major

    @property
    def uses_recovery_conf(self) -> bool:
        return self.programs.recovery_conf


# Every per-major table: its name (as refusals say it) and whether it has a row for a major. Read
# through the modules so that a table is always looked at as it is now.
TABLES: tuple[tuple[str, Callable[[versions.Major], bool]], ...] = (
    ("control file layouts", lambda m: m.control_version in control_table.CONTROL_LAYOUTS),
    ("WAL formats", lambda m: m.major in wal_table.WAL_FORMATS),
    ("xlogreader messages", lambda m: m.major in wal_table.MESSAGES_BY_MAJOR),
    ("resource manager names", lambda m: m.major in rmgrs_table.rmgr_names()),
    ("pg_rewind rules", lambda m: m.major in rewind_table.REWIND_RULES),
    ("programs and their options", lambda m: m.major in programs_table.PROGRAMS),
    ("standby settings", lambda m: m.major in standby_table.STANDBY_SETTINGS),
    ("server functions and settings", lambda m: m.major in server_table.SERVER_SQL),
    # issue 15: what the discarded-work report reads in records and catalogue pages
    ("WAL payload layouts", lambda m: m.major in records_table.RECORD_LAYOUTS),
    ("catalogue layouts", lambda m: m.major in records_table.CATALOG_LAYOUTS),
)


def missing_tables(major: versions.Major) -> list[str]:
    """The tables that have no row for ``major``."""
    return [name for name, covers in TABLES if not covers(major)]


@functools.cache
def for_major(major: int) -> MajorRow:
    """Every table's row for ``major``; a major some table lacks is refused, naming those tables."""
    version = versions.by_major(major)
    missing = missing_tables(version)
    if missing:
        raise UnsupportedVersionError(f"PostgreSQL {version.name} is not supported yet: no row for it in the tables of "
                                      f"{', '.join(missing)} (supported: {versions.SUPPORTED})")
    fmt = wal_table.wal_format(major)
    return MajorRow(
        version=version,
        control=control_table.control_layout(version),
        wal=fmt,
        messages=wal_table.messages(major),
        structs=fmt.structs,
        rmgrs=rmgrs_table.resource_managers(major),
        rewind=rewind_table.rules_for(major),
        programs=programs_table.programs_for(major),
        standby=standby_table.standby_settings(major),
        server=server_table.server_sql(major),
    )
