"""The fixtures the project ships, as data: where they are and what the servers said about them.

Plain functions and constants, not pytest fixtures, because ``parametrize`` needs them when test
modules are imported. The PostgreSQL 15 failover is package data (``pgrewindkit demo`` reads it
from an installed wheel), so the tests read it where the package does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pgrewindkit.demo import SHIPPED

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MAJOR_DIRS = sorted(FIXTURES.glob("pg[0-9]*"), key=lambda p: int(p.name[2:]))
FAILOVER = SHIPPED / "failover15"


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def expected(major: int) -> dict[str, Any]:
    return _json(FIXTURES / f"pg{major}" / "expected.json")


def wal_expected(major: int) -> dict[str, Any]:
    return _json(FIXTURES / f"pg{major}" / "wal-expected.json")


def failover_expected() -> dict[str, Any]:
    return _json(FAILOVER / "expected.json")


def control_cases() -> list[tuple[int, str]]:
    """(major, snapshot name) for every control file the fixture script kept."""
    return [
        (int(d.name[2:]), name)
        for d in MAJOR_DIRS
        for name in sorted(expected(int(d.name[2:]))["control"])
    ]


def history_cases() -> list[tuple[int, str]]:
    return [
        (int(d.name[2:]), name)
        for d in MAJOR_DIRS
        for name in sorted(expected(int(d.name[2:]))["history"])
    ]


WAL_MAJORS = [int(d.name[2:]) for d in MAJOR_DIRS if (d / "wal.tar.gz").is_file()]


def rewind_recordings() -> list[Path]:
    """Every failover shipped with what a real pg_rewind decided on it (``pair.tar.gz``,
    ``pg_rewind-dry-run-debug.txt``, ``expected.json``): the PostgreSQL 15 one, and 10–13's fixtures."""
    return [FAILOVER, *sorted(p.parent for p in FIXTURES.glob("failover*/**/expected.json"))]


def recording_id(recording: Path) -> str:
    """``failover15``, ``failover10``, ``failover10/files``."""
    return recording.name if recording == FAILOVER else recording.relative_to(FIXTURES).as_posix()
