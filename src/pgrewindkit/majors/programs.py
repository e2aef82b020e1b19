"""What a major's data directory and programs are called, and the options its programs take: one
explicit row per major."""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions


@attrs.frozen
class Programs:
    """A major's directory and program names, and which of initdb's options exist."""

    version: versions.Major
    wal_directory: str  # the data directory's WAL directory (pg_xlog before 10)
    waldump: str  # the WAL dump program (pg_xlogdump before 10)
    initdb_wal_segsize: bool  # initdb --wal-segsize (11+; before, the size was fixed at build time)
    initdb_checksums_by_default: bool  # initdb turns data checksums on unless told --no-data-checksums (18+)

    @property
    def major(self) -> int:
        return self.version.major

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


_V = versions.by_major

# One explicit row per major, every field spelled out.
PROGRAMS: dict[int, Programs] = versions.keyed((
    Programs(version=_V(10), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=False,
             initdb_checksums_by_default=False),
    Programs(version=_V(11), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(12), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(13), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(14), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(15), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(16), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(17), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=False),
    Programs(version=_V(18), wal_directory="pg_wal", waldump="pg_waldump", initdb_wal_segsize=True,
             initdb_checksums_by_default=True),
), key="major")

# Every name a WAL directory has had, for finding one before the major is known.
WAL_DIRECTORY_NAMES = ("pg_wal", "pg_xlog")


def programs_for(major: int) -> Programs:
    return versions.lookup(PROGRAMS, major, "programs and their options")
