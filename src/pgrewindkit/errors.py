"""pgrewindkit's errors: one root, and subclasses that also inherit the built-in they resemble.

Every error says what is wrong and where (a file, and an offset or line when there is one), so that
the command line can print it as one line.
"""

from __future__ import annotations

import os


class PgRewindKitError(Exception):
    """Root of every error pgrewindkit raises on purpose."""

    def __init__(self, problem: str, *, path: str | os.PathLike[str] | None = None,
                 offset: int | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where += f", line {self.line}" if where else f"line {self.line}"
        if self.offset is not None:
            where += f" at offset {self.offset}" if where else f"at offset {self.offset}"
        return f"{where}: {self.problem}" if where else self.problem

    def __str__(self) -> str:
        return self._render()


class FormatError(PgRewindKitError, ValueError):
    """Bytes or text that are not what PostgreSQL writes."""


class TruncatedError(FormatError, EOFError):
    """The input ends before the structure it should hold."""


class ChecksumError(FormatError):
    """A CRC-32C does not match the bytes it covers."""


class UnsupportedVersionError(FormatError):
    """A PostgreSQL version (or layout version) pgrewindkit does not know."""


class HistoryParseError(FormatError):
    """A timeline history file that PostgreSQL would refuse."""


class ClassifiedError(PgRewindKitError):
    """An error that names its ``kind`` (``wal_missing``, ``source_unavailable`` …) for tools to
    branch on; the kinds are listed in the reference."""

    def __init__(self, problem: str, *, kind: str, path: str | os.PathLike[str] | None = None,
                 offset: int | None = None, line: int | None = None) -> None:
        self.kind = kind
        super().__init__(problem, path=path, offset=offset, line=line)


class DataFileNotFoundError(PgRewindKitError, FileNotFoundError):
    """A file or directory that should be there is not."""


class DataFileAccessError(PgRewindKitError, PermissionError):
    """A file exists but cannot be read."""


def file_error(exc: OSError, path: str | os.PathLike[str], what: str) -> PgRewindKitError:
    """Turn an ``OSError`` from reading ``path`` into the matching pgrewindkit error."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return DataFileNotFoundError(f"{what} does not exist", path=path)
    if isinstance(exc, PermissionError):
        return DataFileAccessError(f"cannot read {what}: {reason}", path=path)
    if isinstance(exc, IsADirectoryError):
        return FormatError(f"{what} is a directory", path=path)
    return PgRewindKitError(f"cannot read {what}: {reason}", path=path)
