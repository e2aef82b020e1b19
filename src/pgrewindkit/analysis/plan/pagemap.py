"""pg_rewind's page map (``extractPageMap``): the blocks of the main fork that the target's WAL
changed after the last common checkpoint, each overwritten from the source."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pgrewindkit.analysis.divergence import Divergence
from pgrewindkit.analysis.plan.checks import CheckList
from pgrewindkit.analysis.plan.filemap import Entry, relation_file
from pgrewindkit.analysis.plan.model import PlanFailure
from pgrewindkit.cluster.datadir import FileType
from pgrewindkit.errors import Kind
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal import Wal
from pgrewindkit.formats.wal.parallel import BlockChanges, collect_block_changes
from pgrewindkit.majors.rewind import RewindRules
from pgrewindkit.majors.rmgrs import resource_manager
from pgrewindkit.model import ControlFile

log = logging.getLogger(__name__)


def page_map(wal: Wal, divergence: Divergence, entries: dict[str, Entry], rules: RewindRules,
             target: ControlFile, checks: CheckList,
             on_progress: Callable[[int, int], None] | None = None) -> PlanFailure | None:
    """Mark the changed blocks in ``entries``; the WAL's problems become failed checks."""
    checkpoint = divergence.last_common_checkpoint
    end = divergence.target_wal_end
    assert checkpoint is not None and end is not None
    changes = collect_block_changes(wal, checkpoint.lsn, end, rules.recognises, on_progress=on_progress)
    log.debug("target WAL from %s to %s: %d main-fork blocks changed", checkpoint.lsn, end, len(changes.blocks))
    error = _mark_blocks(changes, entries, rules, target)
    if error is not None:
        return error
    unrecognised = _unrecognised(changes, rules)
    checks.add("wal_records_recognised", unrecognised is None,
               unrecognised or "every WAL record after the checkpoint is one pg_rewind understands",
               Kind.UNRECOGNIZED_WAL_RECORD)
    if unrecognised:
        return PlanFailure(Kind.UNRECOGNIZED_WAL_RECORD, unrecognised)
    problem = _wal_end_problem(changes, end)
    checks.add("wal_readable", problem is None, problem or f"target WAL reads from {checkpoint.lsn} to {end}",
               Kind.WAL_MISSING)
    return PlanFailure(Kind.WAL_MISSING, problem) if problem else None


def _mark_blocks(changes: BlockChanges, entries: dict[str, Entry], rules: RewindRules,
                 target: ControlFile) -> PlanFailure | None:
    """Each changed block into its segment file's entry, when both sides have that block."""
    relseg, blcksz = target.relseg_size, target.blcksz
    # per relation segment, once: the set its blocks go to and how many blocks both sides hold
    segments: dict[tuple[int, int, int, int], tuple[set[int], int] | None] = {}
    for spc, db, rel, blkno in changes.blocks:
        segno, in_segment = divmod(blkno, relseg)
        key = (spc, db, rel, segno)
        if key in segments:
            found = segments[key]
        else:
            path = relation_file(*key, rules)
            entry = entries.get(path)
            if entry is not None and entry.target is not None and entry.target.type is not FileType.REGULAR:
                return PlanFailure(Kind.FILE_TYPE_CONFLICT,
                                   f'unexpected page modification for non-regular file "{path}"')
            if entry is None or entry.target is None or entry.source is None:
                found = segments[key] = None
            else:
                found = segments[key] = (entry.blocks, min(entry.source.size, entry.target.size) // blcksz)
        if found is not None and in_segment < found[1]:
            found[0].add(in_segment)
    return None


def _unrecognised(changes: BlockChanges, rules: RewindRules) -> str | None:
    """pg_rewind's message for the first record it would not understand, if any."""
    if changes.unrecognised is None:
        return None
    lsn, rmid, info = changes.unrecognised
    rmid_part = f"rmid: {rmid}, " if rules.unrecognised_names_rmid else ""
    return (f"WAL record modifies a relation, but record type is not recognized: lsn: "
            f"{LSN(lsn)}, {rmid_part}rmgr: {resource_manager(rules.major, rmid).name}, info: {info:02X}")


def _wal_end_problem(changes: BlockChanges, end: LSN) -> str | None:
    """Why the target's WAL could not be read up to ``end``, if it could not."""
    if changes.last_end < end.value:
        reason = changes.end_of_wal.reason if changes.end_of_wal else "WAL ends early"
        return f"could not read WAL record at {LSN(changes.last_end)}: {reason}"
    if changes.last_end != end.value:
        return f"end pointer {end} is not a valid end point; expected {LSN(changes.last_end)}"
    return None
