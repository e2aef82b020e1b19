"""Starting and stopping a cluster, and single-user crash recovery: actions, run as the data
directory's owner (PostgreSQL refuses to run as root), through an injectable command runner."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import attrs

from pgrewindkit.actions.safefs import private_directory
from pgrewindkit.errors import CommandError

log = logging.getLogger(__name__)


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
    # In a session of its own: a Ctrl-C at the terminal reaches us, not the program (pg_rewind killed
    # half way leaves a target that looks startable and is not). We decide: while pg_rewind runs,
    # ``shielded`` holds the signal until it is done; any other program is stopped when we are stopped.
    process = subprocess.Popen(
        list(argv), env={**env, "LC_ALL": "C", "LANG": "C"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL if stdin_devnull else None, cwd="/", user=uid, group=gid, extra_groups=groups,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        pending = b""
        while chunk := os.read(process.stdout.fileno(), 65536):
            pending += chunk.replace(b"\r", b"\n")
            *lines, pending = pending.split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
        if pending:
            on_line(pending.decode("utf-8", "replace"))
        code: int = process.wait()
    except BaseException:
        _stop_group(process)
        raise
    finally:
        process.stdout.close()
    return code


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a program we were interrupted in (and what it started), without leaving it orphaned."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except OSError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@attrs.define
class Shield:
    """The SIGINT/SIGTERM that arrived while shielded (None when none did)."""

    received: int | None = None


@contextmanager
def shielded() -> Iterator[Shield]:
    """Hold SIGINT and SIGTERM while the block runs (pg_rewind, from the first file it writes to its
    last): the block finishes, then the caller reports the target's true state and stops. Outside
    the main thread signals cannot be caught; the block then just runs."""
    shield = Shield()
    if threading.current_thread() is not threading.main_thread():
        yield shield
        return

    def hold(signum: int, frame: object) -> None:
        shield.received = signum
        log.warning("%s received: letting pg_rewind finish first", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield shield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def child_env(strip: tuple[str, ...] = ("PGDATA", "PGPASSWORD")) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in strip}


@contextmanager
def libpq_password(password: str | None, owner: str, state: Path) -> Iterator[dict[str, str]]:
    """What a program run as ``owner`` needs to authenticate as we would, never on its command line:
    the conninfo's password, else our ``PGPASSWORD``, as ``PGPASSWORD`` in its environment only; else
    our password file (``PGPASSFILE`` or ``~/.pgpass``, which the owner cannot read as root's) copied
    for the run into a directory of the owner's alone under the state directory (0600, as libpq
    wants it), named by ``PGPASSFILE``, and removed afterwards."""
    password = password if password is not None else os.environ.get("PGPASSWORD")
    if password is not None:
        yield {"PGPASSWORD": password}
        return
    passfile = Path(os.environ.get("PGPASSFILE") or Path("~/.pgpass").expanduser())
    try:
        content = passfile.read_bytes() if passfile.is_file() else None
    except OSError:
        content = None
    if content is None or (os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name == owner):
        yield {}  # none, or the program runs as us and reads it itself
        return
    entry = pwd.getpwnam(owner)
    with private_directory(state) as top:
        os.fchmod(top.fd, 0o711)
    with private_directory(state / "run") as run:
        os.fchmod(run.fd, 0o711)  # the owner passes through, lists nothing
        with run.make_private_subdir("pgpass-") as private:
            try:
                if os.geteuid() == 0:
                    os.fchown(private.fd, entry.pw_uid, entry.pw_gid)
                private.write("pgpass", content, mode=0o600, owner=(entry.pw_uid, entry.pw_gid))
                yield {"PGPASSFILE": str(private.path / "pgpass")}
            finally:
                for name in private.names():
                    private.remove(name)
                os.rmdir(private.path.name, dir_fd=run.fd)


def _run(runner: CommandRunner, argv: Sequence[str], owner: str, what: str) -> list[str]:
    lines: list[str] = []
    code = runner(argv, env=child_env(), user=owner, on_line=lines.append)
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
