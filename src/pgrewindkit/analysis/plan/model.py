"""What a plan says: the file map, the checks, the WAL needed, the configuration replaced."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.cluster.datadir import FileType
from pgrewindkit.errors import Kind

if TYPE_CHECKING:  # the discarded pass is imported only by the plans that read it
    from pgrewindkit.analysis.discarded import DiscardedWork


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
    """A segment file pg_rewind reads from the target's ``pg_wal`` (or fetches with its restore
    command)."""

    name: str
    timeline: int
    present: bool  # in the target's pg_wal
    # in the archive: set by a probe of the restore command (an action), None when not probed
    in_archive: bool | None = None


@attrs.frozen
class UnarchivedWal:
    """A WAL file of the target with ``archive_status/NAME.ready``: not in the archive yet."""

    name: str  # as in pg_wal: a segment, a .partial segment, a history or backup history file
    action: Action | None  # what the rewind does to pg_wal/NAME (None: nothing, or no rewind)
    marker_action: Action | None  # ... and to pg_wal/archive_status/NAME.ready
    lost: bool  # the rewind removes or overwrites it: it will never reach the archive
    marker_lost: bool  # the file stays but its .ready marker goes: the archiver will not archive it


@attrs.frozen
class AbandonedHistory:
    """A history file of a timeline the source does not follow."""

    name: str
    timeline: int
    # newer than the source's timeline: recovery_target_timeline = 'latest' would pick it up
    newer_than_source: bool
    in_pg_wal: bool = True  # False: found in the archive only (a probe)
    in_archive: bool | None = None  # set by a probe of the restore command, None when not probed


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
    # What pg_rewind does not say. ``outcome`` and ``error`` are pg_rewind's; ``truth_error`` is why
    # following them would still be wrong (``source_checkpoint_pending``).
    truth_error: PlanFailure | None = None
    # False when the WAL walk stopped at a missing segment: once it is restored, older segments
    # (back to the last common checkpoint) may be needed too; plan again after fetching.
    wal_list_complete: bool = True
    unarchived_wal: tuple[UnarchivedWal, ...] = ()
    # in the target's pg_wal; and, once the archive is probed (``with_archive``), in the archive
    abandoned_history_files: tuple[AbandonedHistory, ...] = ()
    # what the rewind throws away (issue 15): None when no rewind is needed or the WAL could not say
    discarded: DiscardedWork | None = None
    discarded_skipped: str | None = None  # why ``discarded`` was not read (too much WAL; not asked for)

    @property
    def failure(self) -> PlanFailure | None:
        """pg_rewind's failure, else the truth's: what makes ``plan`` exit 3."""
        return self.error if self.error is not None else self.truth_error

    @property
    def standby_without_rewind_is_safe(self) -> bool:
        """The target may start as a standby of the source as it is: pg_rewind needs no rewind and
        the target is proven to be on the source's real history (``Divergence.target_is_ancestor``)."""
        return (self.outcome is PlanOutcome.NO_REWIND_REQUIRED and self.truth_error is None
                and self.divergence is not None and self.divergence.target_is_ancestor)

    @property
    def wal_missing(self) -> tuple[WalSegmentNeeded, ...]:
        """The segments pg_rewind reads that are not in the target's pg_wal."""
        return tuple(s for s in self.wal_segments_needed if not s.present)

    @property
    def shown_files(self) -> tuple[FileAction, ...]:
        return tuple(f for f in self.files if f.shown)
