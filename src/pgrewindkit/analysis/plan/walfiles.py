"""The target's WAL files as a failback must see them, decided from names, LSN ranges and histories
(pure functions, nothing read here): every segment pg_rewind reads, the WAL the archiver has not
archived yet, and the history files of timelines the source does not follow."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import attrs

from pgrewindkit.analysis.plan.model import (
    AbandonedHistory,
    Action,
    FileAction,
    RewindPlan,
    UnarchivedWal,
    WalSegmentNeeded,
)
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.timeline import timeline_from_file_name
from pgrewindkit.formats.wal.segments import timeline_for_segment
from pgrewindkit.model import TimelineSpan

# Missing segments listed in a row before a range is cut: a real end of WAL is at most a segment or
# two past the disk; an absurd one (a pg_control whose minRecoveryPoint is FFFFFFFF/FFFFFFFF) would be
# trillions, and pg_rewind stops at the first missing one anyway.
MISSING_IN_A_ROW = 16


def wal_segments_needed(history: Sequence[TimelineSpan], segment_size: int, ranges: Iterable[tuple[LSN, LSN]],
                        present: Collection[str]) -> tuple[WalSegmentNeeded, ...]:
    """The segment files holding WAL from ``start`` up to (not including) ``end`` for each range,
    in LSN order, each named on the timeline pg_rewind reads it from along the target's
    ``history``, and ``present`` when that name is in ``present`` (the target's ``pg_wal``).

    pg_rewind reads the target's checkpoint record (``readOneRecord``), walks back from the
    divergence point to the last common checkpoint (``findLastCheckpoint``) and reads forward from
    that checkpoint to the end of the target's WAL (``extractPageMap``): the ranges are those
    records' spans, and every segment in a range is read, whether it is there or not. A range is
    cut after ``MISSING_IN_A_ROW`` missing segments in a row (``wal_list_cut`` says so), so the work
    is bounded by the files there, not by the numbers in a control file."""
    return tuple(sorted(_segments(history, segment_size, ranges, present)[0].values(), key=_segno_key))


def wal_list_cut(history: Sequence[TimelineSpan], segment_size: int, ranges: Iterable[tuple[LSN, LSN]],
                 present: Collection[str]) -> bool:
    """Whether ``wal_segments_needed`` left segments out (a range ends absurdly far past the disk)."""
    return _segments(history, segment_size, ranges, present)[1]


def _segno_key(segment: WalSegmentNeeded) -> str:
    return segment.name[8:]  # log and segment number: LSN order whatever the timeline


def _segments(history: Sequence[TimelineSpan], segment_size: int, ranges: Iterable[tuple[LSN, LSN]],
              present: Collection[str]) -> tuple[dict[int, WalSegmentNeeded], bool]:
    found: dict[int, WalSegmentNeeded] = {}
    cut = False
    for start, end in ranges:
        last = max(end.value - 1, start.value) // segment_size
        missing_in_a_row = 0
        for segno in range(start.segment_number(segment_size), last + 1):
            if missing_in_a_row >= MISSING_IN_A_ROW:
                cut = True
                break
            timeline = timeline_for_segment(history, segno, segment_size)
            name = WalSegment(timeline, segno).file_name(segment_size)
            found[segno] = WalSegmentNeeded(name, timeline, name in present)
            missing_in_a_row = 0 if name in present else missing_in_a_row + 1
    return found, cut


# What a rewind does to a file, in words of what becomes of WAL that is in no archive yet.
_LOST = frozenset({Action.COPY, Action.COPY_TAIL, Action.TRUNCATE, Action.REMOVE})


def unarchived_wal(ready: Iterable[str], files: Iterable[FileAction], *,
                   wal_directory: str = "pg_wal") -> tuple[UnarchivedWal, ...]:
    """The target's WAL files waiting for the archiver (``ready``: the names of
    ``archive_status/NAME.ready``), each with what the rewind's file map (``files``; empty when
    there is no rewind) does to the file and to its ``.ready`` marker. A file the rewind removes or
    overwrites never reaches the archive from the target (the source's copy comes with the source's
    ``archive_status``); one it keeps without its marker is never archived either."""
    by_path = {f.path: f.action for f in files}
    result = []
    for name in sorted(set(ready)):
        action = by_path.get(f"{wal_directory}/{name}")
        marker = by_path.get(f"{wal_directory}/archive_status/{name}.ready")
        result.append(UnarchivedWal(name, action, marker, action in _LOST,
                                    action not in _LOST and marker is Action.REMOVE))
    return tuple(result)


def abandoned_history_files(names: Iterable[str], source_timelines: Collection[int], source_timeline: int, *,
                            keep: Collection[int] = ()) -> tuple[AbandonedHistory, ...]:
    """The history files among ``names`` (a directory listing: the target's ``pg_wal``, or an
    archive) of timelines that are not on the source's history (``source_timelines``, ending with
    its real timeline ``source_timeline``), leaving out ``keep`` (the target's own history, which
    pg_rewind reads). Those newer than the source's timeline are what
    ``recovery_target_timeline = 'latest'`` would look for, and follow or fail on."""
    found = []
    for name in names:
        timeline = timeline_from_file_name(name)
        if timeline is None or timeline in source_timelines or timeline in keep:
            continue
        found.append(AbandonedHistory(name, timeline, timeline > source_timeline))
    return tuple(sorted(found, key=lambda h: h.timeline))


def source_lineage(plan: RewindPlan) -> tuple[frozenset[int], int] | None:
    """The timelines of the source's real history and the newest of them, as the plan knows them;
    None without a divergence."""
    d = plan.divergence
    if d is None:
        return None
    current = d.source_current_timeline if d.source_current_timeline is not None else d.source_timeline
    return frozenset(s.timeline for s in d.source_history) | {current}, current


def with_archive(plan: RewindPlan, probed: Collection[str], archived: Collection[str]) -> RewindPlan:
    """The plan with what a probe of the archive found (``probed``: the names asked for;
    ``archived``: those it holds): ``in_archive`` for each missing segment and history file probed,
    and the archive's history files of timelines the source does not follow added
    (``in_pg_wal`` False)."""
    def seen(name: str) -> bool | None:
        return name in archived if name in probed else None

    segments = tuple(s if s.present else attrs.evolve(s, in_archive=seen(s.name)) for s in plan.wal_segments_needed)
    history = [attrs.evolve(h, in_archive=seen(h.name)) for h in plan.abandoned_history_files]
    lineage = source_lineage(plan)
    if lineage is not None:
        known = {h.name for h in history}
        history += [attrs.evolve(h, in_pg_wal=False, in_archive=True)
                    for h in abandoned_history_files(sorted(set(archived) - known), *lineage)]
    return attrs.evolve(plan, wal_segments_needed=segments,
                        abandoned_history_files=tuple(sorted(history, key=lambda h: h.timeline)))
