"""A read-only view of a PostgreSQL data directory: its control file, version, WAL directory,
timeline histories and file tree (walked as pg_rewind walks it). Nothing here writes."""

from __future__ import annotations

import enum
import os
import re
import stat
from pathlib import Path

import attrs

from pgrewindkit.errors import DataFileAccessError, DataFileNotFoundError, FormatError, PgRewindKitError, file_error
from pgrewindkit.formats.controlfile import CONTROL_FILE_PATH, read_control_file
from pgrewindkit.formats.files import (
    MAX_CONFIG_FILE,
    MAX_HISTORY_FILE,
    MAX_PID_FILE,
    MAX_SMALL_FILE,
    is_directory,
    list_names,
    printable,
    read_optional_text,
    read_regular,
    stat_or_none,
)
from pgrewindkit.formats.lsn import WalSegment, is_segment_file_name
from pgrewindkit.formats.timeline import (
    TimelineHistory,
    history_file_name,
    parse_timeline_history,
    timeline_from_file_name,
)
from pgrewindkit.formats.wal import Wal, open_wal
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.model import ControlFile

_PID = re.compile(r"-?[0-9]+")  # ASCII digits only, as pg_ctl's %ld
_MAX_PID = 0x7FFFFFFF  # pid_t


class FileType(enum.Enum):
    REGULAR = "regular"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@attrs.frozen
class FileEntry:
    """One entry of a data directory's tree, path relative to the data directory."""

    path: str
    type: FileType
    size: int = 0
    link_target: str | None = None


class DataDirectory:
    """A data directory, read only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not is_directory(self.path, "data directory"):
            raise DataFileNotFoundError("data directory does not exist", path=self.path)
        if stat_or_none(self.path / CONTROL_FILE_PATH, "control file") is None:  # a FIFO there: read_control_file says
            raise DataFileNotFoundError("not a PostgreSQL data directory (no global/pg_control)", path=self.path)
        self._control: ControlFile | None = None
        self._histories: dict[int, TimelineHistory] = {}

    def __repr__(self) -> str:
        return f"DataDirectory({str(self.path)!r})"

    def refresh(self) -> None:
        """Forget what was read (after an action changed the directory)."""
        self._control = None
        self._histories.clear()

    @property
    def control(self) -> ControlFile:
        if self._control is None:
            self._control = read_control_file(self.path)
        return self._control

    @property
    def wal_directory(self) -> str:
        """The name of the WAL directory in this major (``pg_wal``)."""
        return programs_for(self.control.major).wal_directory

    @property
    def wal_path(self) -> Path:
        """The WAL directory (through a link, as PostgreSQL follows it); a pgrewindkit error when it is
        missing, not a directory, a dangling or looping link, or cannot be listed."""
        path = self.path / self.wal_directory
        info = stat_or_none(path, "WAL directory")
        if info is None:
            raise DataFileNotFoundError(f"the WAL directory {self.wal_directory} does not exist "
                                        "(or is a dangling link)", path=path)
        if not stat.S_ISDIR(info.st_mode):
            raise FormatError(f"the WAL directory {self.wal_directory} is not a directory", path=path)
        if not os.access(path, os.R_OK | os.X_OK):
            raise DataFileAccessError(f"cannot read the WAL directory {self.wal_directory}: Permission denied",
                                      path=path)
        return path

    def wal_segment_names(self) -> tuple[list[str], list[str]]:
        """The WAL segment files in the WAL directory by name, sorted, and the names that look like
        segments (24 hex digits) but cannot be one of this cluster's segment size: those are
        reported and skipped, as PostgreSQL never reads them."""
        size = self.control.xlog_seg_size
        good, bad = [], []
        for name in sorted(list_names(self.wal_path, "WAL directory")):
            if not is_segment_file_name(name):
                continue
            try:
                WalSegment.from_file_name(name, size)
            except FormatError:
                bad.append(name)
            else:
                good.append(name)
        return good, bad

    def wal(self, history: TimelineHistory | None = None) -> Wal:
        """The WAL in the WAL directory, read with this directory's control file (read once)."""
        return open_wal(self.path, history=history, control=self.control)

    def read_file(self, relative: str, limit: int = MAX_SMALL_FILE) -> bytes:
        """A regular file below the data directory, whole (at most ``limit`` bytes)."""
        return read_regular(self.path / relative, limit, "file")

    def read_text(self, relative: str, limit: int = MAX_CONFIG_FILE) -> str | None:
        """A text file below the data directory (``backup_label``, a configuration file), undecodable
        bytes replaced; None when there is no such file. Control characters are kept: pass what
        is shown to a terminal through ``formats.files.printable``."""
        return read_optional_text(self.path / relative, limit, relative)

    def history(self, timeline: int) -> TimelineHistory:
        """The history of ``timeline`` from ``pg_wal`` (timeline 1 has none)."""
        if timeline == 1:
            return TimelineHistory.initial()
        if timeline not in self._histories:
            relative = f"{self.wal_directory}/{history_file_name(timeline)}"
            self._histories[timeline] = parse_timeline_history(self.read_file(relative, MAX_HISTORY_FILE),
                                                               timeline=timeline, path=str(self.path / relative))
        return self._histories[timeline]

    def wal_names(self) -> list[str]:
        """The names in the WAL directory (segments, history files, ``archive_status``...), sorted."""
        try:
            return sorted(entry.name for entry in self.wal_path.iterdir())
        except OSError as exc:
            raise file_error(exc, self.wal_path, "WAL directory") from None

    def ready_for_archive(self) -> list[str]:
        """The WAL files the archiver has not archived yet: ``archive_status/NAME.ready``, as
        ``NAME`` (a segment, a ``.partial`` segment, a history or backup history file), sorted."""
        status = self.wal_path / "archive_status"
        try:
            names = [entry.name for entry in status.iterdir()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise file_error(exc, status, "archive status directory") from None
        return sorted(n[:-len(".ready")] for n in names if n.endswith(".ready") and len(n) > len(".ready"))

    def newest_timeline(self) -> int:
        """The newest timeline this directory has been on: its control file's (checkpoint or minimum
        recovery point), or a newer one whose history file in the WAL directory descends from it
        (a promotion not yet followed by a checkpoint, 10-15's pg_rewind does not see it)."""
        control = self.control
        known = max(control.checkpoint_copy.timeline, control.min_recovery_point_tli)
        newer = sorted((t for t in map(timeline_from_file_name, self.wal_names()) if t is not None and t > known),
                       reverse=True)
        for timeline in newer:
            try:
                if known in self.history(timeline).timelines:
                    return timeline
            except PgRewindKitError:
                continue  # an unreadable history file is no evidence
        return known

    def postmaster_pid(self) -> int | None:
        """The PID in ``postmaster.pid``, if the file is there (negative: a single-user backend).

        None when there is none or its first line is empty (a server writing it); a file that is not
        one PostgreSQL writes (not a regular file, no number, a number no process can have) is an
        error, as for ``pg_ctl``: whether a server runs cannot be told."""
        path = self.path / "postmaster.pid"
        text = read_optional_text(path, MAX_PID_FILE, "PID file")
        if text is None:
            return None
        first = text.split("\n", 1)[0].strip(" \t\r")
        if not first:
            return None
        if _PID.fullmatch(first) is None or not 0 < abs(int(first)) <= _MAX_PID:
            raise FormatError(f"invalid data in PID file: {printable(first[:40])!r}", path=path)
        return int(first)

    def server_running(self) -> bool:
        """Whether the server that wrote ``postmaster.pid`` still runs (a file left by a crash is stale)."""
        pid = self.postmaster_pid()
        return pid is not None and self._postmaster_of(pid) is True

    def foreign_postmaster(self) -> str | None:
        """A live process that ``postmaster.pid`` names but that is not this directory's postmaster
        (after a crash and a reboot its PID may be another cluster's): what it is, or None."""
        pid = self.postmaster_pid()
        if pid is None or self._postmaster_of(pid) is not False or not _alive(pid):
            return None
        where = _cwd(pid)
        return f"PID {pid}, a live process" + (f" working in {where}" if where else " of another user")

    def _postmaster_of(self, pid: int) -> bool | None:
        """True when ``pid`` is this directory's postmaster, False when it is another live process,
        None when there is no such process. A postmaster works in its data directory: its
        ``/proc/PID/cwd`` is this one (or, where that cannot be read, its command line's ``-D``
        names it). EPERM on ``kill(pid, 0)`` is another user's process: not ours, as PostgreSQL
        itself treats it."""
        if pid <= 0 or not _alive(pid):
            return None
        try:
            os.kill(pid, 0)
        except PermissionError:
            return False
        except OSError:
            return None
        if not _looks_like_postgres(pid):
            return False
        where = _cwd(pid)
        if where is not None:
            return _same_directory(where, self.path)
        named = _dash_d(pid)
        return True if named is None else _same_directory(named, self.path)

    def files(self) -> list[FileEntry]:
        """Every entry below the data directory, as pg_rewind's ``traverse_datadir`` reports it:
        symbolic links are reported (with their target) and followed only for ``pg_wal`` and the
        tablespaces in ``pg_tblspc``."""
        entries: list[FileEntry] = []
        self._walk(None, entries, self.wal_directory)
        return entries

    def _walk(self, parent: str | None, entries: list[FileEntry], wal_directory: str) -> None:
        directory = self.path / parent if parent else self.path
        names = sorted(list_names(directory, "directory"))
        for name in names:
            relative = f"{parent}/{name}" if parent else name
            full = directory / name
            try:
                info = full.lstat()
            except FileNotFoundError:
                continue  # removed while we looked: as pg_rewind, skip it
            except OSError as exc:
                raise file_error(exc, full, "file") from None
            if stat.S_ISREG(info.st_mode):
                entries.append(FileEntry(relative, FileType.REGULAR, info.st_size))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(FileEntry(relative, FileType.DIRECTORY))
                self._walk(relative, entries, wal_directory)
            elif stat.S_ISLNK(info.st_mode):
                entries.append(FileEntry(relative, FileType.SYMLINK, 0, str(full.readlink())))
                if parent == "pg_tblspc" or relative == wal_directory:
                    self._walk(relative, entries, wal_directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _cwd(pid: int) -> str | None:
    try:
        return str(Path(f"/proc/{pid}/cwd").readlink())
    except OSError:
        return None


def _dash_d(pid: int) -> str | None:
    """The ``-D`` of a process's command line, None when it has none or cannot be read (then it is
    taken for ours: pg_ctl stops only what it may signal)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for index, arg in enumerate(args):
        if arg == b"-D" and index + 1 < len(args):
            return os.fsdecode(args[index + 1])
        if arg.startswith(b"-D") and len(arg) > 2:
            return os.fsdecode(arg[2:])
    return None


def _looks_like_postgres(pid: int) -> bool:
    try:
        first = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return True  # cannot tell: the directory decides
    return first.endswith((b"postgres", b"postmaster")) or first.startswith((b"postgres:", b"postmaster:"))


def _same_directory(one: str, other: Path) -> bool:
    try:
        return Path(one).samefile(other)
    except OSError:
        return False
