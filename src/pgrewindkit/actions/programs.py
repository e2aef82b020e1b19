"""Finding the PostgreSQL programs of the right major: an explicit directory, ``pg_config
--bindir``, Debian's ``/usr/lib/postgresql/N/bin``, then ``PATH``. A program of another major is
refused with a clear message: pg_rewind only works on clusters of its own major."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import attrs

from pgrewindkit.errors import BinaryNotFoundError

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


@attrs.frozen
class Program:
    path: Path
    major: int
    version: str


def program_version(path: Path) -> tuple[int, str] | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30,
                             check=False, env={**os.environ, "LC_ALL": "C"}).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    return int(match[1]), out.strip()


def candidate_dirs(major: int, bindir: str | os.PathLike[str] | None = None) -> list[Path]:
    dirs: list[Path] = []
    if bindir:
        dirs.append(Path(bindir))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                dirs.append(Path(out.stdout.strip()))
        except OSError:
            pass
    dirs.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    dirs += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return dirs


def find_program(name: str, major: int, bindir: str | os.PathLike[str] | None = None) -> Program:
    """``name`` (pg_rewind, pg_ctl, postgres …) of PostgreSQL ``major``."""
    seen = []
    for directory in candidate_dirs(major, bindir):
        path = directory / name
        if not path.is_file() or not os.access(path, os.X_OK):
            continue
        found = program_version(path)
        if found is None:
            continue
        found_major, text = found
        if found_major == major:
            return Program(path, major, text)
        seen.append(f"{path} is PostgreSQL {found_major}")
        if bindir and directory == Path(bindir):
            raise BinaryNotFoundError(f"{path} is PostgreSQL {found_major}, but the cluster is PostgreSQL {major}: "
                                      f"pg_rewind works only on clusters of its own major")
    detail = f" ({'; '.join(seen)})" if seen else ""
    raise BinaryNotFoundError(f"no {name} of PostgreSQL {major} found{detail}; give its directory with --bindir "
                              f"or install postgresql-{major}")
