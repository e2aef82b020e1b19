"""Reading the files of a data directory safely: whatever sits where a file is expected (a FIFO, a
device, ``/dev/zero`` behind a link, a huge sparse file), a read never blocks, never takes more
memory than the file may hold, and fails as a pgrewindkit error.

Reading follows symbolic links (a data directory and its ``pg_wal`` may legitimately be links);
what is checked is what the descriptor opened: a regular file of a bounded size. The open is
non-blocking, so that a FIFO is refused instead of waiting for a writer.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pgrewindkit.errors import FormatError, file_error

# Caps on what a file may hold, from what PostgreSQL writes there (with a wide margin where it sets
# no limit of its own); a bigger file is not one of ours.
MAX_HISTORY_FILE = 64 << 20  # one line per timeline switch
MAX_LABEL_FILE = 1 << 20  # backup_label, tablespace_map: a few lines (one per tablespace)
MAX_CONFIG_FILE = 64 << 20  # postgresql.conf, postgresql.auto.conf, recovery.conf
MAX_PID_FILE = 64 << 10  # postmaster.pid: eight short lines
MAX_SMALL_FILE = 1 << 30  # any other file read whole (the largest a segment or relation file gets)

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def stat_or_none(path: str | os.PathLike[str], what: str) -> os.stat_result | None:
    """``os.stat`` (following links): None when nothing is there (or a dangling link), a pgrewindkit
    error when it cannot be looked at (a directory on the way not searchable, a link loop)."""
    try:
        return Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise file_error(exc, path, what) from None
    except ValueError:  # a NUL byte in the name
        return None


def is_directory(path: str | os.PathLike[str], what: str) -> bool:
    info = stat_or_none(path, what)
    return info is not None and stat.S_ISDIR(info.st_mode)


def is_regular_file(path: str | os.PathLike[str], what: str) -> bool:
    info = stat_or_none(path, what)
    return info is not None and stat.S_ISREG(info.st_mode)


def list_names(directory: str | os.PathLike[str], what: str) -> list[str]:
    """The names in ``directory`` (undecodable bytes kept as surrogates, as ``os.listdir`` gives them),
    or a pgrewindkit error saying why it cannot be listed."""
    try:
        return [entry.name for entry in Path(directory).iterdir()]
    except OSError as exc:
        if isinstance(exc, NotADirectoryError):
            raise FormatError(f"{what} is not a directory", path=directory) from None
        raise file_error(exc, directory, what) from None
    except ValueError:  # a NUL byte in the name
        raise _nul_in_name(directory, what) from None


def _nul_in_name(path: str | os.PathLike[str], what: str) -> FormatError:
    return FormatError(f"{what}: the name holds a NUL byte", path=os.fsdecode(path).replace("\0", "\\0"))


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


@contextmanager
def open_regular(path: str | os.PathLike[str], what: str) -> Iterator[tuple[int, int]]:
    """A descriptor of ``path`` opened without blocking, and its size, when it is a regular file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise file_error(exc, path, what) from None
    except ValueError:  # a NUL byte in the name
        raise _nul_in_name(path, what) from None
    try:
        try:
            info = os.fstat(fd)
        except OSError as exc:
            raise file_error(exc, path, what) from None
        if not stat.S_ISREG(info.st_mode):
            raise FormatError(f"{what} is {_file_type(info.st_mode)}, not a regular file", path=path)
        yield fd, info.st_size
    finally:
        os.close(fd)


def read_regular(path: str | os.PathLike[str], limit: int, what: str, *, head: bool = False) -> bytes:
    """The bytes of the regular file ``path``: at most ``limit`` of them, or (``head``) its first
    ``limit`` bytes whatever its size."""
    with open_regular(path, what) as (fd, size):
        if size > limit and not head:
            raise FormatError(f"{what} is too large: {size} bytes, at most {limit} expected", path=path)
        chunks = []
        wanted = limit if head else limit + 1  # one more: a file that grew while read is caught too
        try:
            while wanted > 0:
                chunk = os.read(fd, min(wanted, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                wanted -= len(chunk)
        except OSError as exc:
            raise file_error(exc, path, what) from None
    data = b"".join(chunks)
    if len(data) > limit:
        raise FormatError(f"{what} is too large: more than {limit} bytes", path=path)
    return data


def read_regular_text(path: str | os.PathLike[str], limit: int, what: str) -> str:
    """``read_regular`` decoded as UTF-8, undecodable bytes replaced (PostgreSQL writes these files
    in the server encoding, which may not be UTF-8)."""
    return read_regular(path, limit, what).decode("utf-8", errors="replace")


def read_optional_text(path: str | os.PathLike[str], limit: int, what: str) -> str | None:
    """``read_regular_text``, or None when there is no such file."""
    if not os.path.lexists(path):
        return None
    return read_regular_text(path, limit, what)


def printable(text: str) -> str:
    """``text`` read from a data directory, safe to print on a terminal: control characters (and
    undecodable bytes kept as surrogates in file names) are shown escaped, as ``\\x1b``; line breaks
    and tabs are kept."""
    if text.isprintable():
        return text
    return "".join(char if char in "\n\t" or char.isprintable() or unicodedata.category(char) == "Zs"
                   else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
