"""Fixtures for the integration tests: real PostgreSQL programs and a template cluster.

They skip only when PostgreSQL truly cannot be had here; under CI (``CI=true``) a missing server
is a failure, not a skip.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator

import pytest

from tests.support import pgbinaries
from tests.support.cluster import Cluster, new_cluster


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg15() -> pgbinaries.PgBinaries:
    bins = pgbinaries.debian(15)
    if bins is None:
        _unavailable("Debian's postgresql-15 is not installed (make test installs it)")
    assert bins is not None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("there is no postgres user to run servers as")
    return bins


@pytest.fixture(scope="session")
def pg15_cluster_template(pg15: pgbinaries.PgBinaries) -> Iterator[Cluster]:
    """An initdb'd, stopped PG15 cluster (Debian defaults: 16 MB segments); copy it, never start it."""
    cluster = new_cluster(pg15, wal_segsize_mb=None)
    yield cluster
    cluster.destroy()
