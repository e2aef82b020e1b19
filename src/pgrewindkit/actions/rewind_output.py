"""pg_rewind's output, read: progress lines as events, its error message and the kind of error it
names (in every wording pg_rewind 10–18 used), whether it had started copying, its warnings."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import attrs

from pgrewindkit.errors import Kind

_PREFIX = re.compile(r"^(?:pg_rewind: )?(?:(error|fatal|FATAL|warning|detail|hint): +)?")
_PROGRESS = re.compile(r"^\s*(\d+)/(\d+) kB \((\d+)%\) copied")
_NEED = re.compile(r"need to copy (\d+) MB \(total source directory size is (\d+) MB\)")

# pg_rewind's messages → error kinds; every wording 10–18 used (fatal:/error:, position/location).
ERROR_KINDS: tuple[tuple[str, str], ...] = (
    ("source and target clusters are from different systems", Kind.DIFFERENT_SYSTEMS),
    ("clusters are not compatible with this version of pg_rewind", Kind.INCOMPATIBLE_CLUSTERS),
    ("target server needs to use either data checksums or", Kind.NO_WAL_LOG_HINTS_OR_CHECKSUMS),
    ("target server must be shut down cleanly", Kind.TARGET_NOT_CLEANLY_SHUT_DOWN),
    ("source data directory must be shut down cleanly", Kind.SOURCE_NOT_CLEANLY_SHUT_DOWN),
    ("could not find common ancestor", Kind.NO_COMMON_ANCESTOR),
    ("could not find previous WAL record", Kind.WAL_MISSING),
    ("could not read WAL record", Kind.WAL_MISSING),
    ("could not open file", Kind.WAL_MISSING),
    ("record type is not recognized", Kind.UNRECOGNIZED_WAL_RECORD),
    ("full_page_writes", Kind.FULL_PAGE_WRITES_OFF),
    ("source server must not be in recovery mode", Kind.SOURCE_IN_RECOVERY),
    ("could not connect to server", Kind.SOURCE_UNAVAILABLE),
    ("connection to server", Kind.SOURCE_UNAVAILABLE),
    # the source lost half way (libpq's words for a connection that went away)
    ("server closed the connection unexpectedly", Kind.SOURCE_UNAVAILABLE),
    ("no connection to the server", Kind.SOURCE_UNAVAILABLE),
    ("terminating connection due to administrator command", Kind.SOURCE_UNAVAILABLE),
    ("could not receive data from server", Kind.SOURCE_UNAVAILABLE),
    ("could not send data to server", Kind.SOURCE_UNAVAILABLE),
    ("SSL SYSCALL error", Kind.SOURCE_UNAVAILABLE),
    ("SSL connection has been closed unexpectedly", Kind.SOURCE_UNAVAILABLE),
    ("cannot be executed by \"root\"", "run_as_root"),
    ("postgres single-user mode in target cluster failed", Kind.CRASH_RECOVERY_FAILED),
    ("restore_command is not set", Kind.RESTORE_COMMAND_MISSING),
    ("permission denied", Kind.PERMISSION_DENIED),
)


def classify(message: str) -> str:
    lowered = message.lower()
    return next((kind for text, kind in ERROR_KINDS if text.lower() in lowered), Kind.PG_REWIND_FAILED)


@attrs.frozen
class ProgressEvent:
    done_kb: int
    total_kb: int
    percent: int


def parse_progress(line: str) -> ProgressEvent | None:
    """A ``--progress`` line (with or without the ``pg_rewind:`` prefix) as an event."""
    match = _PROGRESS.match(line.removeprefix("pg_rewind: "))
    return ProgressEvent(int(match[1]), int(match[2]), int(match[3])) if match else None


def error_line(lines: Iterable[str]) -> str | None:
    """The first error (or fatal) message, without its prefix."""
    for line in lines:
        match = _PREFIX.match(line)
        level = match[1] if match else None
        if level and level.lower() in ("error", "fatal"):
            return line[match.end():] if match else line
    return None


def started_copying(lines: Iterable[str]) -> bool:
    """Whether pg_rewind got past its decisions to copying ("need to copy", or progress): from
    there on, the target is no longer what it was."""
    return any(_NEED.search(line) or parse_progress(line) for line in lines)


class Phase(enum.IntEnum):
    """How far pg_rewind got, from what it printed (it prints each step before doing it)."""

    DECIDING = 0  # reading, comparing: nothing written yet
    COPYING = 1  # "need to copy", progress: data files being changed
    CONTROL_FILE = 2  # "creating backup label and updating control file": the old pg_control may be gone
    SYNCING = 3  # "syncing target data directory": the new pg_control and backup_label are written
    DONE = 4  # "Done!"


_PHASES = (("Done!", Phase.DONE), ("syncing target data directory", Phase.SYNCING),
           ("creating backup label and updating control file", Phase.CONTROL_FILE))


def phase(lines: Iterable[str]) -> Phase:
    """The last phase pg_rewind announced."""
    reached = Phase.DECIDING
    for line in lines:
        text = line.removeprefix("pg_rewind: ")
        found = next((p for marker, p in _PHASES if text.startswith(marker)), None)
        if found is None and (_NEED.search(line) or parse_progress(line)):
            found = Phase.COPYING
        if found is not None and found > reached:
            reached = found
    return reached


def warnings(lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(line.split("warning: ", 1)[1] for line in lines if "warning: " in line)
