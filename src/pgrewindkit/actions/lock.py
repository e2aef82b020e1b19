"""One rewind or failback of a target at a time.

Two runs at once on one target run pg_rewind twice over the same files, or share one backup and
report different things; so each takes an exclusive ``flock`` on a lock file of its own target and a
second run is refused (``target_locked``) before it reads, stops or writes anything.

The lock file lives in the state directory (``<state>/locks``, ours alone, see ``backup``), named by
the target's device and inode: never inside or beside PGDATA, where the data directory's owner could
swap it for a link or take the lock first. The lock is reentrant within a process (a failback's
rewind runs under the failback's lock) and released when the run ends or the process dies.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pgrewindkit.actions.backup import state_directory
from pgrewindkit.actions.safefs import Directory, private_directory
from pgrewindkit.errors import Kind, RewindError

_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_held: dict[tuple[int, int], int] = {}  # (device, inode) -> how many holders in this process
_guard = threading.Lock()


F = TypeVar("F", bound=Callable[..., Any])


def one_run_per_target(action: F) -> F:
    """Run ``action(target, ...)`` holding the target's lock (in the state directory)."""

    @functools.wraps(action)
    def locked(*args: Any, **kwargs: Any) -> Any:
        target = Path(args[0] if args else kwargs["target"]).resolve()
        if not target.is_dir():
            return action(*args, **kwargs)  # which says what is wrong with it, in its own words
        with target_lock(target, state_directory()):
            return action(*args, **kwargs)

    return locked  # type: ignore[return-value]


def lock_name(pgdata: Directory) -> str:
    info = os.fstat(pgdata.fd)
    return f"{info.st_dev}-{info.st_ino}.lock"


@contextmanager
def target_lock(pgdata: str | os.PathLike[str], state: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive lock of the data directory ``pgdata`` (resolved) while the block runs;
    ``RewindError(kind=target_locked)`` when another run holds it."""
    with Directory.open(Path(pgdata)) as directory:
        key = (os.fstat(directory.fd).st_dev, os.fstat(directory.fd).st_ino)
        name = lock_name(directory)
    with _guard:
        if key in _held:
            _held[key] += 1
            fd = -1
        else:
            fd = _acquire(Path(state), name, Path(pgdata))
            _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            _held[key] -= 1
            if _held[key] == 0:
                del _held[key]
        if fd >= 0:
            os.close(fd)  # closing the last descriptor releases the flock


def _acquire(state: Path, name: str, pgdata: Path) -> int:
    with private_directory(state / "locks") as locks:
        fd = os.open(name, _FLAGS, 0o600, dir_fd=locks.fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RewindError(f"another pgrewindkit rewind or failback of {pgdata} is running (it holds "
                          f"{state / 'locks' / name}); nothing was stopped or changed",
                          kind=Kind.TARGET_LOCKED) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
