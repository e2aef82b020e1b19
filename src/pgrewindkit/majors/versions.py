"""The table of PostgreSQL majors pgrewindkit knows, and how a file says which major wrote it.

Detection follows pgBackRest: ``pg_control_version`` together with ``catalog_version_no`` (13–16
share control version 1300), and the WAL page magic. Unknown versions are refused with what was
found and what is supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import attrs

from pgrewindkit.errors import UnsupportedVersionError


@attrs.frozen
class Major:
    """One PostgreSQL major and the numbers that identify its files.

    ``major`` is the key of every per-major table: the major itself from 10, and 95 / 96 for 9.5 /
    9.6 (two-part majors). Users see ``name`` ("9.5"); majors are ordered by ``order``, never by the key.
    """

    major: int
    control_version: int  # PG_CONTROL_VERSION, src/include/catalog/pg_control.h
    catalog_version: int  # CATALOG_VERSION_NO of the release, src/include/catalog/catversion.h
    wal_page_magic: int  # XLOG_PAGE_MAGIC, src/include/access/xlog_internal.h
    name: str = attrs.field(default=attrs.Factory(lambda self: str(self.major), takes_self=True))

    @property
    def order(self) -> tuple[int, ...]:
        """The release's place among majors: (9, 5) < (9, 6) < (10,)."""
        return tuple(int(part) for part in self.name.split("."))

    @property
    def json(self) -> int | float:
        """The major as a JSON number: 9.5, 9.6, 10, 11 … (in release order)."""
        return float(self.name) if "." in self.name else self.major

    @property
    def tablespace_directory(self) -> str:
        """``TABLESPACE_VERSION_DIRECTORY``: the per-version subdirectory of a tablespace."""
        return f"PG_{self.name}_{self.catalog_version}"

    def __str__(self) -> str:
        return self.name


# Ordered by major. Catalog versions are those of the released major (they never change in minor
# releases); development builds in between are refused.
MAJORS: tuple[Major, ...] = (
    Major(95, 942, 201510051, 0xD087, name="9.5"),
    Major(96, 960, 201608131, 0xD093, name="9.6"),
    Major(10, 1002, 201707211, 0xD097),
    Major(11, 1100, 201809051, 0xD098),
    Major(12, 1201, 201909212, 0xD101),
    Major(13, 1300, 202007201, 0xD106),
    Major(14, 1300, 202107181, 0xD10D),
    Major(15, 1300, 202209061, 0xD110),
    Major(16, 1300, 202307071, 0xD113),
    Major(17, 1700, 202406281, 0xD116),
    Major(18, 1800, 202506291, 0xD118),
)

SUPPORTED = f"PostgreSQL {MAJORS[0].name} to {MAJORS[-1].name}"

_BY_MAJOR = {m.major: m for m in MAJORS}
_BY_NAME = {m.name: m for m in MAJORS}
# control versions older than every supported major
_OLD_CONTROL_VERSIONS = {937: "9.4"}


def display(major: int) -> str:
    """How users see a major key: "9.5" for 95, "16" for 16 (the key itself when unknown)."""
    known = _BY_MAJOR.get(major)
    return known.name if known is not None else str(major)


def order(major: int) -> tuple[int, ...]:
    """A sort key putting major keys in release order (9.5 < 9.6 < 10)."""
    known = _BY_MAJOR.get(major)
    return known.order if known is not None else (major,)


def parse_major(text: str) -> int:
    """The key of a major as users write it: "9.5" -> 95, "16" -> 16; unknown majors are refused."""
    known = _BY_NAME.get(text.strip())
    if known is None:
        raise UnsupportedVersionError(f"PostgreSQL {text.strip()} is not supported (supported: {SUPPORTED})")
    return known.major


def by_major(major: int) -> Major:
    try:
        return _BY_MAJOR[major]
    except KeyError:
        raise UnsupportedVersionError(f"PostgreSQL {display(major)} is not supported (supported: {SUPPORTED})") \
            from None


Row = TypeVar("Row")


def keyed(rows: tuple[Row, ...], key: str = "major") -> dict[int, Row]:
    """A per-major table from its rows, keyed by each row's ``key``; a key written twice is a mistake."""
    table: dict[int, Row] = {}
    for row in rows:
        number = getattr(row, key)
        if number in table:
            raise ValueError(f"two rows for {key} {number}")
        table[number] = row
    return table


def lookup(table: Mapping[int, Row], major: int, what: str) -> Row:
    """``major``'s row of a per-major table (``what`` names it); a major without a row is refused."""
    by_major(major)
    try:
        return table[major]
    except KeyError:
        raise UnsupportedVersionError(f"PostgreSQL {display(major)} is not supported yet: the table of {what} has no "
                                      f"row for it (supported: {SUPPORTED})") from None


def by_server_version(number: int) -> Major:
    """The major of a server from its ``server_version_num`` (90525 -> 9.5, 160002 -> 16)."""
    first = number // 10000
    name = f"{first}.{number // 100 % 100}" if first < 10 else str(first)
    known = _BY_NAME.get(name)
    if known is None:
        raise UnsupportedVersionError(f"PostgreSQL {name} is not supported (supported: {SUPPORTED})")
    return known


def by_control(control_version: int, catalog_version: int) -> Major:
    """The major whose control file carries these two numbers."""
    for m in MAJORS:
        if m.control_version == control_version and m.catalog_version == catalog_version:
            return m
    raise UnsupportedVersionError(_describe_unknown(control_version, catalog_version))


def _describe_unknown(control_version: int, catalog_version: int) -> str:
    found = f"pg_control version {control_version}, catalog version {catalog_version}"
    if control_version in _OLD_CONTROL_VERSIONS:
        return f"{found}: PostgreSQL {_OLD_CONTROL_VERSIONS[control_version]} is not supported ({SUPPORTED})"
    swapped = int.from_bytes(control_version.to_bytes(4, "little"), "big")
    if (control_version % 65536 == 0 and control_version != 0) or swapped in {m.control_version for m in MAJORS}:
        return f"{found}: possible byte ordering mismatch (pgrewindkit reads little-endian x86-64 files)"
    known = [m for m in MAJORS if m.control_version == control_version]
    if known:
        majors = ", ".join(m.name for m in known)
        return (f"{found}: control version {control_version} belongs to PostgreSQL {majors}, but no "
                f"release of it has this catalog version (a development build?)")
    return f"{found}: not a PostgreSQL release pgrewindkit knows ({SUPPORTED})"
