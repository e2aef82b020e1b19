"""File operations inside and beside a data directory that its owner cannot turn against us.

pgrewindkit is run as root by failover tooling on data directories the ``postgres`` user owns. That
user can plant a symbolic link, a FIFO or a huge file wherever it may write, and swap them while we
work. So every operation an action does there goes through :class:`Directory`:

* a directory is opened once, component by component from ``/``, with ``O_DIRECTORY | O_NOFOLLOW``,
  and everything after that is relative to its file descriptor (``openat``, ``unlinkat``, ``renameat``);
* no operation follows a symbolic link: a link where a file or directory is expected is refused;
* files are created with ``O_CREAT | O_EXCL`` under unpredictable names, filled, given their owner and
  mode through the descriptor (``fchown``, ``fchmod``), synced, and renamed over the old name (a rename
  replaces a link planted there instead of writing through it);
* reads open with ``O_NONBLOCK`` (a FIFO never blocks), require a regular file after ``fstat`` and cap
  the size, so ``/dev/zero`` or a FIFO in place of a file is an error, never a hang.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from types import TracebackType

from pgrewindkit.errors import (
    DataFileAccessError,
    DataFileNotFoundError,
    FormatError,
    PgRewindKitError,
    UnsafePathError,
)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

# Configuration files and pg_control are small; anything larger than this is not what we expect.
DEFAULT_READ_LIMIT = 16 * 1024 * 1024


def _single_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UnsafePathError(f"not a plain file name: {name!r}")
    try:
        os.fsencode(name)  # a lone surrogate that is no undecodable byte (U+D800) names no file
    except UnicodeEncodeError:
        raise UnsafePathError(f"not a file name this system can spell: {name!r}") from None
    return name


def _os_error(exc: OSError, path: Path, what: str) -> PgRewindKitError:
    if isinstance(exc, FileNotFoundError):
        return DataFileNotFoundError(f"{what} does not exist", path=path)
    if isinstance(exc, PermissionError):
        return DataFileAccessError(f"cannot {what}: {exc.strerror}", path=path)
    if exc.errno in (getattr(os, "ELOOP", 40), getattr(os, "ENOTDIR", 20)):
        return UnsafePathError(f"{what}: a symbolic link or a non-directory is in the way", path=path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return PgRewindKitError(f"cannot {what}: {exc.strerror} (nothing was written there)", path=path)
    return PgRewindKitError(f"cannot {what}: {exc.strerror or exc}", path=path)


class Directory:
    """An open directory; every operation is relative to it and never follows a link."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Directory:
        """Open an absolute directory path, refusing a symbolic link at any component (resolve the
        path the user gave once, at the boundary, before calling this)."""
        target = Path(path)
        if not target.is_absolute():
            raise UnsafePathError("a directory must be given as an absolute path", path=target)
        fd = os.open("/", _DIR_FLAGS)
        try:
            for part in target.parts[1:]:
                try:
                    child = os.open(_single_name(part), _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise _os_error(exc, target, "open the directory") from None
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, target)

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def owner(self) -> tuple[int, int]:
        info = os.fstat(self.fd)
        return info.st_uid, info.st_gid

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry itself (a link is not followed), or None when there is none."""
        try:
            return os.stat(_single_name(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error(exc, self.path / name, "look at the file") from None

    def names(self) -> list[str]:
        return sorted(os.listdir(self.fd))  # noqa: PTH208 (a descriptor, not a path)

    def subdir(self, name: str) -> Directory:
        """A directory inside this one (not a link to one)."""
        try:
            return Directory(os.open(_single_name(name), _DIR_FLAGS, dir_fd=self.fd), self.path / name)
        except OSError as exc:
            raise _os_error(exc, self.path / name, "open the directory") from None

    def read(self, name: str, *, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        """A regular file's bytes, at most ``limit`` of them."""
        return self.read_entry(name, limit=limit)[0]

    def read_entry(self, name: str, *, limit: int = DEFAULT_READ_LIMIT) -> tuple[bytes, os.stat_result]:
        """A regular file's bytes (at most ``limit``) and its ``fstat`` (owner and mode, to restore)."""
        where = self.path / name
        try:
            fd = os.open(_single_name(name), _READ_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            raise _os_error(exc, where, "read the file") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafePathError("not a regular file", path=where)
            if info.st_size > limit:
                raise FormatError(f"{info.st_size} bytes, more than the {limit} expected here", path=where)
            chunks, total = [], 0
            while chunk := os.read(fd, 65536):
                total += len(chunk)
                if total > limit:  # it grew while we read
                    raise FormatError(f"more than the {limit} bytes expected here", path=where)
                chunks.append(chunk)
            return b"".join(chunks), info
        finally:
            os.close(fd)

    def write(self, name: str, data: bytes, *, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
        """Replace ``name`` with a new regular file holding ``data`` (a temporary under an
        unpredictable name, then a rename). ``owner`` (uid, gid) is set when we may."""
        _single_name(name)
        temporary = f".{name}.pgrewindkit-{secrets.token_hex(8)}"
        try:
            fd = os.open(temporary, _CREATE_FLAGS, 0o600, dir_fd=self.fd)
        except OSError as exc:
            raise _os_error(exc, self.path / name, "create the file") from None
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if owner is not None and os.geteuid() == 0:
                    os.fchown(fd, *owner)
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as exc:
            self.remove(temporary)
            raise _os_error(exc, self.path / name, "write the file") from None
        except BaseException:
            self.remove(temporary)
            raise

    def remove(self, name: str) -> bool:
        """Remove a file or link (never what a link points to); False when there was none."""
        try:
            os.unlink(_single_name(name), dir_fd=self.fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _os_error(exc, self.path / name, "remove the file") from None
        return True

    def rename(self, name: str, new_name: str) -> None:
        try:
            os.rename(_single_name(name), _single_name(new_name), src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as exc:
            raise _os_error(exc, self.path / name, f"rename the file to {new_name}") from None

    def walk(self, relative: str, *, create: tuple[int, tuple[int, int] | None] | None = None) -> Directory:
        """The directory ``relative`` (``a/b``) below this one, component by component, never through a
        link; with ``create`` (mode, owner) missing components are made (pg_rewind removes a directory
        the source lacks, and a restore puts it back)."""
        current = Directory(os.dup(self.fd), self.path)
        try:
            for part in (p for p in relative.split("/") if p):
                if create is not None and current.lstat(part) is None:
                    current.mkdir(part, *create)
                child = current.subdir(part)
                current.close()
                current = child
        except BaseException:
            current.close()
            raise
        return current

    def mkdir(self, name: str, mode: int = 0o700, owner: tuple[int, int] | None = None) -> None:
        """A new directory (never through a link); ``owner`` set when we may."""
        try:
            os.mkdir(_single_name(name), mode, dir_fd=self.fd)
        except FileExistsError:
            return
        except OSError as exc:
            raise _os_error(exc, self.path / name, "create the directory") from None
        with self.subdir(name) as made:
            if owner is not None and os.geteuid() == 0:
                os.fchown(made.fd, *owner)
            os.fchmod(made.fd, mode)

    def make_private_subdir(self, prefix: str) -> Directory:
        """A new directory under an unpredictable name, mode 0700, owned by us."""
        for _ in range(8):
            name = f"{prefix}{secrets.token_hex(6)}"
            try:
                os.mkdir(_single_name(name), 0o700, dir_fd=self.fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _os_error(exc, self.path / name, "create the directory") from None
            return self.subdir(name)
        raise PgRewindKitError("could not find a free directory name", path=self.path)

    def fsync(self) -> None:
        os.fsync(self.fd)


def private_directory(path: str | os.PathLike[str]) -> Directory:
    """Open (creating what is missing, 0700) a directory that only we may change: every component
    must be a real directory, and the last ones we create or that exist must be ours and not
    writable by anyone else. Backups live in such a place, never beside PGDATA."""
    target = Path(path)
    if not target.is_absolute():
        raise UnsafePathError("a directory must be given as an absolute path", path=target)
    current = Directory.open("/")
    try:
        for part in target.parts[1:]:
            if current.lstat(part) is None:
                try:
                    os.mkdir(_single_name(part), 0o700, dir_fd=current.fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise _os_error(exc, current.path / part, "create the directory") from None
            child = current.subdir(part)
            current.close()
            current = child
        info = os.fstat(current.fd)
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise UnsafePathError("the directory must belong to us and be writable by nobody else", path=target)
        return current
    except BaseException:
        current.close()
        raise
