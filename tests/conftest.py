from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MAJOR_DIRS = sorted(FIXTURES.glob("pg[0-9]*"), key=lambda p: int(p.name[2:]))


def expected(major: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"pg{major}" / "expected.json").read_text())
    return data


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


@pytest.fixture
def utc() -> Iterator[None]:
    """pg_controldata prints local time; the fixtures were recorded with TZ=UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def wal_expected(major: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"pg{major}" / "wal-expected.json").read_text())
    return data


WAL_MAJORS = [int(d.name[2:]) for d in MAJOR_DIRS if (d / "wal.tar.gz").is_file()]


@pytest.fixture(scope="session")
def wal_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Every major's WAL fixture, unpacked once: ``global/pg_control`` and ``pg_wal/``."""
    import tarfile

    dirs = {}
    for major in WAL_MAJORS:
        target = tmp_path_factory.mktemp(f"wal{major}")
        with tarfile.open(FIXTURES / f"pg{major}" / "wal.tar.gz") as tar:
            tar.extractall(target, filter="data")
        dirs[major] = target
    return dirs


@pytest.fixture(scope="session")
def failover_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped PostgreSQL 15 failover: ``old-primary/`` (target) and ``new-primary/`` (source)."""
    import tarfile

    target = tmp_path_factory.mktemp("failover15")
    with tarfile.open(FIXTURES / "failover15" / "pair.tar.gz") as tar:
        tar.extractall(target, filter="data")
    return target


def failover_expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "failover15" / "expected.json").read_text())
    return data
