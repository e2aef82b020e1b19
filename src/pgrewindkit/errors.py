"""Every error pgrewindkit raises on purpose: one tree, each class registered with its :class:`Kind`.

Callers may ``except`` a class or branch on ``error.kind``; both say the same thing::

    PgRewindKitError                              kind: error (the root; never raised bare by the library)
    ├── FormatError (ValueError)                  format: bytes or text not as PostgreSQL writes them
    │   ├── TruncatedError (EOFError)             truncated
    │   ├── ChecksumError                         checksum
    │   ├── UnsupportedVersionError               unsupported_version
    │   ├── HistoryParseError                     history_invalid
    │   └── WalReadError                          wal_unreadable: a record that should be there cannot be read
    ├── DataFileNotFoundError (FileNotFoundError) file_not_found
    ├── DataFileAccessError (PermissionError)     file_access
    ├── UnsafePathError                           unsafe_path: a link or special file where an action expected
    │                                             its own file
    ├── ProgramNotFoundError (FileNotFoundError)  program_not_found: no PostgreSQL program of the right major
    ├── SourceError                               source_unavailable: the source cannot be reached or read
    │   ├── SourcePermissionError                 permission_denied
    │   └── PsycopgMissingError (ImportError)     psycopg_missing: a live source without the ``live`` extra
    ├── DivergenceError                           pg_rewind would stop while looking for the divergence
    │   ├── DifferentSystemsError                 different_systems
    │   ├── NoCommonAncestorError                 no_common_ancestor
    │   ├── HistoryMissingError                   history_missing
    │   └── WalMissingError                       wal_missing (``missing_segments`` names them)
    ├── CommandError                              command_failed: a PostgreSQL program failed
    ├── RewindError                               the rewind did not happen or did not finish; any kind that
    │                                             pg_rewind's own message maps to (``Kind``), ``state`` says
    │                                             what the target is now, ``backup`` where its files were kept
    └── FailbackError                             a failback step failed: ``step`` names it, ``kind`` says why

A family class constructed with a more precise ``kind`` becomes the class registered for it when there is
one below it (``DivergenceError(..., kind=Kind.WAL_MISSING)`` is a :class:`WalMissingError`), as psycopg
maps SQLSTATEs to classes. :func:`lookup` gives the class of a kind.

Every error says what is wrong and where (a file, an offset or a line when there is one), so that the
command line can print it as one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pgrewindkit._enum import Words


class Kind(Words):
    """What went wrong, in words tools branch on. The values are the ``kind`` strings of the JSON
    outputs and never change meaning."""

    ERROR = "error"
    # input that is not what PostgreSQL writes
    FORMAT = "format"
    TRUNCATED = "truncated"
    CHECKSUM = "checksum"
    UNSUPPORTED_VERSION = "unsupported_version"
    HISTORY_INVALID = "history_invalid"
    WAL_UNREADABLE = "wal_unreadable"
    FILE_NOT_FOUND = "file_not_found"
    FILE_ACCESS = "file_access"
    # the environment
    PROGRAM_NOT_FOUND = "program_not_found"
    SOURCE_UNAVAILABLE = "source_unavailable"
    PERMISSION_DENIED = "permission_denied"
    PSYCOPG_MISSING = "psycopg_missing"
    COMMAND_FAILED = "command_failed"
    # pg_rewind's checks and failures, in the words of the plan and of pg_rewind's messages
    DIFFERENT_SYSTEMS = "different_systems"
    INCOMPATIBLE_CLUSTERS = "incompatible_clusters"
    NO_WAL_LOG_HINTS_OR_CHECKSUMS = "no_wal_log_hints_or_checksums"
    TARGET_NOT_CLEANLY_SHUT_DOWN = "target_not_cleanly_shut_down"
    SOURCE_NOT_CLEANLY_SHUT_DOWN = "source_not_cleanly_shut_down"
    NO_COMMON_ANCESTOR = "no_common_ancestor"
    HISTORY_MISSING = "history_missing"
    WAL_MISSING = "wal_missing"
    UNRECOGNIZED_WAL_RECORD = "unrecognized_wal_record"
    FULL_PAGE_WRITES_OFF = "full_page_writes_off"
    SOURCE_IN_RECOVERY = "source_in_recovery"
    SAME_TIMELINE = "same_timeline"
    FILE_TYPE_CONFLICT = "file_type_conflict"
    RUN_AS_ROOT = "run_as_root"
    CRASH_RECOVERY_FAILED = "crash_recovery_failed"
    RESTORE_COMMAND_MISSING = "restore_command_missing"
    RESTORE_COMMAND_INVALID = "restore_command_invalid"
    PG_REWIND_FAILED = "pg_rewind_failed"
    # actions
    TARGET_RUNNING = "target_running"
    NOT_STREAMING = "not_streaming"
    UNSAFE_PATH = "unsafe_path"
    # issue 10, command line: arguments that do not fit together (in --json error objects)
    USAGE = "usage"
    # issue 10, analysis: what pg_rewind does not see
    SOURCE_CHECKPOINT_PENDING = "source_checkpoint_pending"
    # issue 10, actions: a failback that cannot hurt
    TARGET_IS_SOURCE = "target_is_source"
    TARGET_NOT_ANCESTOR = "target_not_ancestor"
    UNARCHIVED_WAL = "unarchived_wal"
    SLOT_MISSING = "slot_missing"
    START_FAILED = "start_failed"
    # issue 11, read side: a process of the parallel WAL scan died (killed, out of memory)
    WORKER_FAILED = "worker_failed"
    # issue 11, actions: safe as root, one run at a time, truthful after any fault
    TARGET_LOCKED = "target_locked"  # another rewind or failback of this target is running
    INVALID_SETTING = "invalid_setting"  # a value that cannot be written into a configuration file
    FOREIGN_POSTMASTER_PID = "foreign_postmaster_pid"  # postmaster.pid names a live process that is not the target's
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM: the action stopped at a safe point
    ALREADY_REWOUND = "already_rewound"  # rewound by pg_rewind and never started since
    # issue 15: what a rewind throws away
    TRANSACTIONS_DISCARDED = "transactions_discarded"  # failback --refuse-if-discarded: committed work would be lost


class TargetState(Words):
    """What a failed action left the target data directory as."""

    UNCHANGED = "unchanged"
    PARTIALLY_REWOUND = "partially rewound"
    REWOUND = "rewound"


_REGISTRY: dict[Kind, type[PgRewindKitError]] = {}


def lookup(kind: Kind | str) -> type[PgRewindKitError]:
    """The class registered for ``kind`` (the root class for kinds no class claims)."""
    return _REGISTRY.get(Kind(kind), PgRewindKitError)


class PgRewindKitError(Exception):
    """Root of every error pgrewindkit raises on purpose."""

    default_kind: ClassVar[Kind] = Kind.ERROR

    def __init_subclass__(cls, kind: Kind | None = None, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        if kind is not None:
            cls.default_kind = kind
            _REGISTRY.setdefault(kind, cls)

    def __new__(cls, *args: Any, kind: Kind | str | None = None, **rest: Any) -> PgRewindKitError:
        target = cls
        if kind is not None:
            precise = _REGISTRY.get(Kind(kind))
            if precise is not None and issubclass(precise, cls):
                target = precise
        return super().__new__(target)

    def __init__(self, problem: str, *, kind: Kind | str | None = None, path: str | os.PathLike[str] | None = None,
                 offset: int | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.kind = Kind(kind) if kind is not None else self.default_kind
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.line = line
        super().__init__(problem)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only constructors do not survive the default pickling (the parallel scan's
        # forked workers send errors back pickled)
        return (_rebuild, (type(self), self.__dict__))

    def where(self) -> str:
        """The file, line and offset the error is about, or ``""``."""
        where = self.path or ""
        if self.line is not None:
            where += f", line {self.line}" if where else f"line {self.line}"
        if self.offset is not None:
            where += f" at offset {self.offset}" if where else f"at offset {self.offset}"
        return where

    @property
    def message(self) -> str:
        """What is wrong and where, without what a subclass adds around it (the step, the state)."""
        where = self.where()
        return f"{where}: {self.problem}" if where else self.problem

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[PgRewindKitError], state: dict[str, Any]) -> PgRewindKitError:
    # the built-in base's own __new__ (OSError's for the file errors), then the saved attributes
    builtin: Any = next(base for base in cls.__mro__ if not issubclass(base, PgRewindKitError))
    error: PgRewindKitError = builtin.__new__(cls)
    builtin.__init__(error, state.get("problem", ""))
    error.__dict__.update(state)
    return error


# Kept for callers of 0.1: every error now has a kind.
ClassifiedError = PgRewindKitError


class FormatError(PgRewindKitError, ValueError, kind=Kind.FORMAT):
    """Bytes or text that are not what PostgreSQL writes."""


class TruncatedError(FormatError, EOFError, kind=Kind.TRUNCATED):
    """The input ends before the structure it should hold."""


class ChecksumError(FormatError, kind=Kind.CHECKSUM):
    """A CRC-32C does not match the bytes it covers."""


class UnsupportedVersionError(FormatError, kind=Kind.UNSUPPORTED_VERSION):
    """A PostgreSQL version (or layout version) pgrewindkit does not know."""


class HistoryParseError(FormatError, kind=Kind.HISTORY_INVALID):
    """A timeline history file that PostgreSQL would refuse."""


class WalReadError(FormatError, kind=Kind.WAL_UNREADABLE):
    """A record that should be there cannot be read; ``end`` (an ``EndOfWal``) says why."""

    def __init__(self, problem: str, *, end: Any = None, **where: Any) -> None:
        self.end = end
        super().__init__(problem, **where)


class DataFileNotFoundError(PgRewindKitError, FileNotFoundError, kind=Kind.FILE_NOT_FOUND):
    """A file or directory that should be there is not."""


class DataFileAccessError(PgRewindKitError, PermissionError, kind=Kind.FILE_ACCESS):
    """A file exists but cannot be read."""


class UnsafePathError(PgRewindKitError, kind=Kind.UNSAFE_PATH):
    """A link, a special file or a file of the wrong owner where an action expected its own file
    (see ``actions/safefs.py``)."""


class ProgramNotFoundError(PgRewindKitError, FileNotFoundError, kind=Kind.PROGRAM_NOT_FOUND):
    """No PostgreSQL program of the right name and major was found."""


BinaryNotFoundError = ProgramNotFoundError


class SourceError(PgRewindKitError, kind=Kind.SOURCE_UNAVAILABLE):
    """The source cluster cannot be reached or read (passwords are masked in the message)."""


class SourcePermissionError(SourceError, kind=Kind.PERMISSION_DENIED):
    """The source refuses what pg_rewind needs (e.g. ``pg_read_binary_file``)."""


class PsycopgMissingError(SourceError, ImportError, kind=Kind.PSYCOPG_MISSING):
    """A live source needs psycopg, which comes with ``pip install 'pgrewindkit[live]'``."""


class DivergenceError(PgRewindKitError, kind=Kind.PG_REWIND_FAILED):
    """pg_rewind would stop while looking for the divergence; ``partial`` holds what was found
    before it stopped and ``missing_segments`` the WAL files it lacked."""

    def __init__(self, problem: str, *, kind: Kind | str | None = None, partial: Any = None,
                 missing_segments: tuple[str, ...] = ()) -> None:
        self.partial = partial
        self.missing_segments = missing_segments
        super().__init__(problem, kind=kind)


class DifferentSystemsError(DivergenceError, kind=Kind.DIFFERENT_SYSTEMS):
    """Source and target come from different ``initdb`` runs."""


class NoCommonAncestorError(DivergenceError, kind=Kind.NO_COMMON_ANCESTOR):
    """The timeline histories share no timeline."""


class HistoryMissingError(DivergenceError, kind=Kind.HISTORY_MISSING):
    """A timeline history file pg_rewind needs cannot be read."""


class WalMissingError(DivergenceError, kind=Kind.WAL_MISSING):
    """WAL pg_rewind must read is not in the target's WAL directory."""


class CommandError(PgRewindKitError, kind=Kind.COMMAND_FAILED):
    """A PostgreSQL program failed; ``output`` holds what it printed."""

    def __init__(self, problem: str, *, output: str = "", kind: Kind | str | None = None) -> None:
        self.output = output
        super().__init__(problem, kind=kind)


class RewindError(PgRewindKitError, kind=Kind.PG_REWIND_FAILED):
    """The rewind did not happen, or did not finish. ``kind`` names why; ``state`` says what the
    target directory is now (``state_detail`` what to do about it); ``backup`` is where its control
    file and configuration were kept; ``output`` what pg_rewind printed."""

    def __init__(self, problem: str, *, kind: Kind | str | None = None, state: TargetState = TargetState.UNCHANGED,
                 state_detail: str = "", backup: Path | None = None, output: str = "") -> None:
        self.state = TargetState(state)
        self.state_detail = state_detail
        self.backup = backup
        self.output = output
        super().__init__(problem, kind=kind)

    @property
    def target_state(self) -> str:
        """The state as one phrase, with what to do about it when there is something to do."""
        return f"{self.state}: {self.state_detail}" if self.state_detail else str(self.state)

    def __str__(self) -> str:
        return f"{super().__str__()} [{self.kind}; target {self.target_state}]"


class FailbackError(PgRewindKitError):
    """A failback step failed; ``step`` names it and ``kind`` says why."""

    def __init__(self, problem: str, *, kind: Kind | str | None = None, step: str) -> None:
        self.step = step
        super().__init__(problem, kind=kind)

    def __str__(self) -> str:
        return f"{self.step}: {super().__str__()}"


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
