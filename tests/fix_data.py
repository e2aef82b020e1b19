"""Fixtures over the shipped data: unpacked WAL and failover directories, and a UTC clock."""

from __future__ import annotations

import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.shipped import FAILOVER, FIXTURES, WAL_MAJORS


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


def _unpack(archive: Path, target: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="session")
def wal_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Every major's WAL fixture, unpacked once: ``global/pg_control`` and ``pg_wal/``."""
    return {major: _unpack(FIXTURES / f"pg{major}" / "wal.tar.gz", tmp_path_factory.mktemp(f"wal{major}"))
            for major in WAL_MAJORS}


@pytest.fixture(scope="session")
def failover_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped PostgreSQL 15 failover: ``old-primary/`` (target) and ``new-primary/`` (source)."""
    return _unpack(FAILOVER / "pair.tar.gz", tmp_path_factory.mktemp("failover15"))
