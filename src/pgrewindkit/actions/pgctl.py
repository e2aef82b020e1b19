"""Starting and stopping a cluster, and single-user crash recovery: actions, run as the data
directory's owner (PostgreSQL refuses to run as root), through an injectable command runner."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pgrewindkit.errors import CommandError


class CommandRunner(Protocol):
    """Runs a program and hands each line it prints (stdout and stderr) to ``on_line``."""

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], user: str | None,
                 on_line: Callable[[str], None], stdin_devnull: bool = True) -> int: ...


def owner_of(path: str | os.PathLike[str]) -> str:
    return pwd.getpwuid(Path(path).stat().st_uid).pw_name


def run_command(argv: Sequence[str], *, env: Mapping[str, str], user: str | None,
                on_line: Callable[[str], None], stdin_devnull: bool = True) -> int:
    """The real runner: as ``user`` when we are root, in the C locale, lines as they come (a
    ``\\r`` ends a progress line as a newline does)."""
    uid = gid = None
    groups: list[int] | None = None
    if user is not None and os.geteuid() == 0 and user != "root":
        entry = pwd.getpwnam(user)
        uid, gid, groups = entry.pw_uid, entry.pw_gid, []
    process = subprocess.Popen(
        list(argv), env={**env, "LC_ALL": "C", "LANG": "C"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL if stdin_devnull else None, cwd="/", user=uid, group=gid, extra_groups=groups,
    )
    assert process.stdout is not None
    pending = b""
    while chunk := os.read(process.stdout.fileno(), 65536):
        pending += chunk.replace(b"\r", b"\n")
        *lines, pending = pending.split(b"\n")
        for line in lines:
            on_line(line.decode("utf-8", "replace"))
    if pending:
        on_line(pending.decode("utf-8", "replace"))
    code: int = process.wait()
    return code


def _run(runner: CommandRunner, argv: Sequence[str], owner: str, what: str) -> list[str]:
    lines: list[str] = []
    env = {k: v for k, v in os.environ.items() if k not in ("PGDATA", "PGPASSWORD")}
    code = runner(argv, env=env, user=owner, on_line=lines.append)
    if code != 0:
        raise CommandError(f"{what} failed (exit {code}): {' | '.join(lines[-3:])}", output="\n".join(lines))
    return lines


def stop(pg_ctl: Path, pgdata: Path, *, runner: CommandRunner = run_command, mode: str = "fast",
         timeout: int = 120) -> None:
    """A clean stop (fast by default: a shutdown checkpoint, as pg_rewind needs)."""
    _run(runner, [str(pg_ctl), "-D", str(pgdata), "-m", mode, "-w", "-t", str(timeout), "stop"], owner_of(pgdata),
         f"stopping the server of {pgdata}")


def start(pg_ctl: Path, pgdata: Path, log_file: Path, *, runner: CommandRunner = run_command,
          timeout: int = 120, config_file: str | None = None) -> None:
    options = ["-o", f"-c config_file={config_file}"] if config_file else []
    _run(runner, [str(pg_ctl), "-D", str(pgdata), "-l", str(log_file), "-w", "-t", str(timeout), *options,
                  "start"], owner_of(pgdata), f"starting the server of {pgdata}")


def single_user_recovery(postgres: Path, pgdata: Path, *, runner: CommandRunner = run_command) -> None:
    """What pg_rewind 13+ does for an uncleanly stopped target: crash recovery in single-user mode,
    ending with a shutdown checkpoint."""
    _run(runner, [str(postgres), "--single", "-F", "-D", str(pgdata), "template1"], owner_of(pgdata),
         f"single-user crash recovery of {pgdata}")
