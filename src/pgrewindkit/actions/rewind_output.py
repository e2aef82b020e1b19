"""pg_rewind's output, read: progress lines as events, its error message and the kind of error it
names (in every wording pg_rewind 10–18 used), whether it had started copying, its warnings."""

from __future__ import annotations

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


def warnings(lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(line.split("warning: ", 1)[1] for line in lines if "warning: " in line)
