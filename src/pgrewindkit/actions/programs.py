"""Finding the PostgreSQL programs of the right major: an explicit directory, ``pg_config
--bindir``, Debian's ``/usr/lib/postgresql/N/bin``, RHEL's ``/usr/pgsql-N/bin``, ``PATH``, then
``/usr/local/pgsql/bin`` (a source build). A program of another major is
refused with a clear message: pg_rewind only works on clusters of its own major. The programs'
``--version`` and ``pg_config`` run through the same injectable command runner as everything else."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from pgrewindkit.actions.pgctl import CommandRunner, run_command
from pgrewindkit.errors import BinaryNotFoundError, UnsupportedVersionError
from pgrewindkit.majors import versions

# "(PostgreSQL) 16.2", "(PostgreSQL) 9.5.25": before 10 the major has two parts
_VERSION = re.compile(r"\(PostgreSQL\) (9\.\d+|\d+)")


@attrs.frozen
class Program:
    path: Path
    major: int
    version: str


def _output(runner: CommandRunner, argv: Sequence[str]) -> tuple[int, str] | None:
    """Exit status and output of a quick query (``--version``, ``--bindir``); None if it cannot run."""
    lines: list[str] = []
    try:
        code = runner(argv, env={**os.environ, "LC_ALL": "C"}, user=None, on_line=lines.append)
    except OSError:
        return None
    return code, "\n".join(lines).strip()


def program_version(path: Path, runner: CommandRunner = run_command) -> tuple[int, str] | None:
    ran = _output(runner, [str(path), "--version"])
    match = _VERSION.search(ran[1]) if ran is not None else None
    if ran is None or match is None:
        return None
    if "." not in match[1]:
        return int(match[1]), ran[1]
    try:
        return versions.parse_major(match[1]), ran[1]
    except UnsupportedVersionError:  # 9.4 or older: no major pgrewindkit can use
        return None


def candidate_dirs(major: int, bindir: str | os.PathLike[str] | None = None,
                   runner: CommandRunner = run_command) -> Iterator[Path]:
    """Where to look, in order; lazily, so that ``pg_config`` runs only when ``bindir`` has no match."""
    if bindir:
        yield Path(bindir)
    pg_config = shutil.which("pg_config")
    if pg_config:
        ran = _output(runner, [pg_config, "--bindir"])
        if ran is not None and ran[0] == 0 and ran[1]:
            yield Path(ran[1])
    yield Path(f"/usr/lib/postgresql/{versions.display(major)}/bin")  # Debian, Ubuntu
    yield Path(f"/usr/pgsql-{versions.display(major)}/bin")  # the PGDG packages of RHEL and its kin
    yield from (Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    yield Path("/usr/local/pgsql/bin")  # a build from source with configure's default prefix


def find_program(name: str, major: int, bindir: str | os.PathLike[str] | None = None, *,
                 runner: CommandRunner = run_command) -> Program:
    """``name`` (pg_rewind, pg_ctl, postgres …) of PostgreSQL ``major``."""
    seen = []
    for directory in candidate_dirs(major, bindir, runner):
        path = directory / name
        if not path.is_file() or not os.access(path, os.X_OK):
            continue
        found = program_version(path, runner)
        if found is None:
            continue
        found_major, text = found
        if found_major == major:
            return Program(path, major, text)
        seen.append(f"{path} is PostgreSQL {versions.display(found_major)}")
        if bindir and directory == Path(bindir):
            raise BinaryNotFoundError(f"{path} is PostgreSQL {versions.display(found_major)}, but the cluster is "
                                      f"PostgreSQL {versions.display(major)}: "
                                      f"pg_rewind works only on clusters of its own major")
    detail = f" ({'; '.join(seen)})" if seen else ""
    raise BinaryNotFoundError(f"no {name} of PostgreSQL {versions.display(major)} found{detail}; give its directory "
                              f"with --bindir or install postgresql-{versions.display(major)}")
