"""What a plan says: the file map, the checks, the WAL needed, the configuration replaced."""

from __future__ import annotations

import enum

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.cluster.datadir import FileType
from pgrewindkit.errors import Kind


class Action(enum.IntEnum):
    """``file_action_t``, in its order (the order pg_rewind performs and prints them)."""

    CREATE = 1
    COPY = 2
    COPY_TAIL = 3
    NONE = 4
    TRUNCATE = 5
    REMOVE = 6


@attrs.frozen
class FileAction:
    path: str
    action: Action
    blocks: tuple[int, ...] = ()  # blocks of this segment file overwritten from the source
    source_size: int | None = None
    target_size: int | None = None
    source_type: FileType | None = None
    target_type: FileType | None = None

    @property
    def shown(self) -> bool:
        """Whether ``pg_rewind --debug`` prints it: an action, or blocks to copy."""
        return self.action is not Action.NONE or bool(self.blocks)


@attrs.frozen
class Check:
    name: str
    ok: bool
    message: str
    kind: Kind | None = None  # the error kind when it fails


@attrs.frozen
class WalSegmentNeeded:
    name: str
    timeline: int
    present: bool


@attrs.frozen
class ConfigChange:
    """A configuration file of the target that the rewind replaces with the source's copy."""

    path: str
    differences: tuple[str, ...]  # human-readable; passwords masked


class PlanOutcome(Words):
    """What pg_rewind would do."""

    REWIND_NEEDED = "rewind_needed"
    NO_REWIND_REQUIRED = "no_rewind_required"
    ERROR = "error"


@attrs.frozen
class PlanFailure:
    """Why pg_rewind would stop: the first failed check (a value, not an exception)."""

    kind: Kind
    message: str


@attrs.frozen
class RewindPlan:
    outcome: PlanOutcome
    error: PlanFailure | None
    divergence: Divergence | None
    files: tuple[FileAction, ...]
    bytes_to_copy: int
    source_total_bytes: int
    wal_segments_needed: tuple[WalSegmentNeeded, ...]
    checks: tuple[Check, ...]
    config_changes: tuple[ConfigChange, ...] = ()
    provisional: bool = False  # an unclean target: blocks up to the end of valid WAL, not its checkpoint
    major: int = 0
    predicts: str = ""  # the pg_rewind release whose decisions these are, e.g. "pg_rewind 16.2"

    @property
    def shown_files(self) -> tuple[FileAction, ...]:
        return tuple(f for f in self.files if f.shown)
