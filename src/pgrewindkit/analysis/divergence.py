"""``find_divergence()``: whether, where and from which checkpoint two clusters diverged, decided
as the target major's pg_rewind decides it (``findCommonAncestorTimeline``, ``readOneRecord``,
``findLastCheckpoint``), without changing anything."""

from __future__ import annotations

import os
from typing import Any

import attrs

from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import LocalSource, Source
from pgrewindkit.errors import DivergenceError, Kind, PgRewindKitError, WalReadError
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal import EndOfWal, Wal, WalRecord
from pgrewindkit.majors.layouts.xlog import SIZE_OF_LONG_PHD, SIZE_OF_SHORT_PHD
from pgrewindkit.majors.rewind import RewindRules, require_verified, rules_for
from pgrewindkit.model import ControlFile, TimelineSpan


@attrs.frozen
class CommonCheckpoint:
    """The last checkpoint both sides share: the rewind replays from its REDO."""

    lsn: LSN
    timeline: int
    redo: LSN


@attrs.frozen
class Divergence:
    """Where two clusters' histories part, as pg_rewind of the target's major sees it."""

    major: int
    source_timeline: int
    target_timeline: int
    source_history: tuple[TimelineSpan, ...]
    target_history: tuple[TimelineSpan, ...]
    rewind_needed: bool
    reason: str | None  # why no rewind is needed: "same timeline" or "no rewind required"
    lsn: LSN | None  # the divergence point (None on the same timeline)
    timeline: int | None  # the last common timeline
    common_index: int | None  # its index in the target history
    target_wal_end: LSN | None  # the end of the target's WAL: its checkpoint record's end or minRecoveryPoint
    last_common_checkpoint: CommonCheckpoint | None
    wal_segments_read: tuple[str, ...] = ()  # pg_wal/... (pg_xlog/...) files read walking back (pg_rewind keeps them)
    warnings: tuple[str, ...] = ()
    # What pg_rewind does not look at. The source's real timeline (``Source.current_timeline()``;
    # None when it could not be asked): ahead of ``source_timeline`` right after a promotion, before
    # the first checkpoint, where pg_rewind 10-15 still sees the old one.
    source_current_timeline: int | None = None
    # The target can follow the source as a standby without a rewind, proven: its WAL end is at or
    # before where its timeline leaves the source's real history (or, on the source's own timeline,
    # it is not past the source's WAL and holds the same record at its checkpoint). Never true when
    # a rewind is needed, nor when it cannot be proven (a history or the target's WAL unreadable).
    target_is_ancestor: bool = False
    target_checkpoint_end: LSN | None = None  # the end of the target's checkpoint record (readOneRecord)

    @property
    def source_checkpoint_pending(self) -> bool:
        """The source is on a newer timeline than its pg_control says, so pg_rewind (before 16)
        decides on the old one: a checkpoint on the source must come first."""
        return _ahead(self.source_timeline, self.source_current_timeline)


def _ahead(taken: int, current: int | None) -> bool:
    """Whether the source's real timeline is newer than the one pg_rewind takes from its pg_control."""
    return current is not None and current > taken


def source_checkpoint_pending(source: Source, major: int) -> tuple[int, int] | None:
    """``Divergence.source_checkpoint_pending`` without planning, for a failback to settle the
    source before it plans (and stops anything): (the timeline pg_rewind of ``major`` takes for the
    source, the one it is really on) when the real one is newer, else None."""
    taken = side_timeline(source.control, rules_for(major))
    current = _current_timeline(source)
    return (taken, current) if current is not None and _ahead(taken, current) else None


def side_timeline(control: ControlFile, rules: RewindRules) -> int:
    """A side's timeline as pg_rewind of that major takes it."""
    if rules.timeline_from_min_recovery_point:
        return max(control.min_recovery_point_tli, control.checkpoint_copy.timeline)
    return control.checkpoint_copy.timeline


def common_ancestor(source: tuple[TimelineSpan, ...], target: tuple[TimelineSpan, ...],
                    rules: RewindRules | None = None) -> tuple[LSN, int]:
    """``findCommonAncestorTimeline``: the divergence LSN and the index of the last shared entry
    (of ``target``). pg_rewind 9.5 looks for the target's timeline in the source's history alone."""
    if rules is not None and rules.ancestor_in_source_history_only:
        return _ancestor_in_source_history(source, target[-1].timeline)
    index = 0
    for a, b in zip(source, target):
        if a.timeline != b.timeline or a.begin != b.begin:
            break
        index += 1
    if index == 0:
        raise DivergenceError("could not find common ancestor of the source and target cluster's timelines",
                              kind=Kind.NO_COMMON_ANCESTOR)
    index -= 1
    ends = [s.end for s in (source[index], target[index]) if s.end is not None]
    return (min(ends) if ends else LSN(0)), index


def _ancestor_in_source_history(source: tuple[TimelineSpan, ...], target_timeline: int) -> tuple[LSN, int]:
    """pg_rewind 9.5: the source's history walked backwards to the entry of the target's timeline,
    whose end is the divergence point ("This assumes that there are no timeline switches on the
    target cluster after the fork"); index 0 of the target's one-timeline history."""
    for span in reversed(source):
        if span.timeline == target_timeline:
            return (span.end if span.end is not None else LSN(0)), 0
    raise DivergenceError("could not find common ancestor of the source and target cluster's timelines",
                          kind=Kind.NO_COMMON_ANCESTOR)


def target_wal_history(target: DataDirectory, timeline: int, rules: RewindRules) -> TimelineHistory:
    """The target's history as pg_rewind of its major reads the target's WAL along it: 9.5 never
    reads the target's history file and reads its WAL on its own timeline only."""
    if rules.ancestor_in_source_history_only:
        return TimelineHistory(timeline)
    return _history(target, timeline, "target")


def _history(side: Source | DataDirectory, timeline: int, what: str) -> TimelineHistory:
    try:
        return side.history(timeline)
    except PgRewindKitError as exc:
        raise DivergenceError(f"cannot read the {what}'s timeline history: {exc}", kind=Kind.HISTORY_MISSING) from None


def find_divergence(source: Source | str | os.PathLike[str], target: DataDirectory | str | os.PathLike[str], *,
                    through_end_of_wal: bool = False) -> Divergence:
    """Whether ``target`` must be rewound to follow ``source``, where they diverged, and from which
    checkpoint a rewind would start: pg_rewind's decision. ``through_end_of_wal`` (for an uncleanly
    stopped target) takes the end of the target's WAL to be the end of valid WAL after its
    checkpoint, where crash recovery would stop, instead of the checkpoint record's end."""
    src = LocalSource(source) if isinstance(source, (str, os.PathLike)) else source
    tgt = target if isinstance(target, DataDirectory) else DataDirectory(target)
    return _decide(src, tgt, through_end_of_wal)


def _decide(source: Source, target: DataDirectory, through_end_of_wal: bool) -> Divergence:
    target_cf = target.control
    require_verified(target_cf.major)
    source_cf = source.control
    rules = rules_for(target_cf.major)
    if source_cf.system_identifier != target_cf.system_identifier:
        raise DivergenceError("source and target clusters are from different systems", kind=Kind.DIFFERENT_SYSTEMS)
    source_tli = side_timeline(source_cf, rules)
    target_tli = side_timeline(target_cf, rules)
    target_hist = target_wal_history(target, target_tli, rules)
    source_history = _history(source, source_tli, "source")
    current = _current_timeline(source)
    base: dict[str, Any] = {"major": rules.version.json, "source_timeline": source_tli, "target_timeline": target_tli,
            "source_history": source_history.spans, "target_history": target_hist.spans,
            "source_current_timeline": current}
    truth = _Truth(source, current, source_history, target_tli)
    if source_tli == target_tli:
        source_end = source.wal_position()
        warnings, same_record = _same_timeline_warnings(source, target, source_end)
        checkpoint_end = _target_checkpoint_end(target)
        end = None if checkpoint_end is None else max(target_cf.min_recovery_point, checkpoint_end)
        # the source's WAL must reach the end of the target's (a source whose WAL shows the target's
        # checkpoint record itself proves it for that record)
        within = checkpoint_end is not None and target_cf.min_recovery_point <= source_end and (
            checkpoint_end <= source_end or same_record)
        return Divergence(**base, rewind_needed=False, reason="source and target cluster are on the same timeline",
                          lsn=None, timeline=None, common_index=None, target_wal_end=None,
                          last_common_checkpoint=None, warnings=warnings,
                          target_is_ancestor=truth.is_ancestor(end, same_tip=not warnings and within))
    divergence_lsn, index = common_ancestor(source_history.spans, target_hist.spans, rules)
    common_tli = target_hist.spans[index].timeline
    wal = target.wal(target_hist)  # with the control file already read
    checkpoint_end = _read_one_record(wal, target_cf.checkpoint).end
    base["target_checkpoint_end"] = checkpoint_end
    if through_end_of_wal:
        for record in wal.scan(target_cf.checkpoint, exact=True):
            checkpoint_end = record.end
    target_end = max(target_cf.min_recovery_point, checkpoint_end)
    if target_end <= divergence_lsn:
        return Divergence(**base, rewind_needed=False, reason="no rewind required", lsn=divergence_lsn,
                          timeline=common_tli, common_index=index, target_wal_end=target_end,
                          last_common_checkpoint=None, target_is_ancestor=truth.is_ancestor(target_end))
    known = Divergence(**base, rewind_needed=True, reason=None, lsn=divergence_lsn, timeline=common_tli,
                       common_index=index, target_wal_end=target_end, last_common_checkpoint=None)
    try:
        checkpoint, segments = _last_common_checkpoint(wal, divergence_lsn, target.wal_directory)
    except DivergenceError as exc:
        exc.partial = known
        raise
    return attrs.evolve(known, last_common_checkpoint=checkpoint, wal_segments_read=segments)


def _current_timeline(source: Source) -> int | None:
    """The source's real timeline, or None when it cannot be told (then nothing is proven by it)."""
    try:
        return source.current_timeline()
    except PgRewindKitError:
        return None


@attrs.frozen
class _Truth:
    """What the source's real history says of the target, beside pg_rewind's view."""

    source: Source
    current: int | None
    taken: TimelineHistory  # the source's history as pg_rewind takes it
    target_timeline: int

    def is_ancestor(self, target_end: LSN | None, *, same_tip: bool = True) -> bool:
        """Whether WAL of the target's timeline up to ``target_end`` is part of the source's real
        history; on the source's own (newest) timeline, ``same_tip`` says the WAL is the same."""
        if target_end is None or self.current is None:
            return False
        history = self.taken
        if self.current != self.taken.timeline:
            try:
                history = self.source.history(self.current)
            except PgRewindKitError:
                return False
        if not history.contains(self.target_timeline, target_end):
            return False
        return history.switchpoint(self.target_timeline) is not None or same_tip


def _target_checkpoint_end(target: DataDirectory) -> LSN | None:
    """Where the target's checkpoint record ends; None when it cannot be read."""
    try:
        return target.wal(target.history(target.control.timeline)).read_record(
            target.control.checkpoint).end
    except PgRewindKitError:
        return None


def _in_pg_rewind_words(end: EndOfWal | None, wal: Wal) -> str:
    """Why reading stopped, as pg_rewind says it: a missing segment by its full path, as ``open()``
    failed on it."""
    if end is None:
        return ""
    if end.missing_segment is not None:
        return f'could not open file "{wal.directory.path / end.missing_segment}": No such file or directory'
    return end.reason


def _missing(end: EndOfWal | None) -> tuple[str, ...]:
    return (end.missing_segment,) if end is not None and end.missing_segment is not None else ()


def _read_one_record(wal: Wal, lsn: LSN) -> WalRecord:
    """``readOneRecord``: the target's checkpoint record, to know where its WAL ends."""
    try:
        return wal.read_record(lsn)
    except WalReadError as exc:
        raise DivergenceError(f"could not read WAL record at {lsn}: {_in_pg_rewind_words(exc.end, wal)}",
                              kind=Kind.WAL_MISSING, missing_segments=_missing(exc.end)) from None


def _last_common_checkpoint(wal: Wal, fork: LSN, wal_directory: str) -> tuple[CommonCheckpoint, tuple[str, ...]]:
    """``findLastCheckpoint``: walk back from the divergence point to a checkpoint record before it."""
    size = wal.directory.segment_size
    search = fork
    if fork.value % 8192 == 0:  # a page boundary: the first record starts after the page header
        search = fork + (SIZE_OF_LONG_PHD if fork.segment_offset(size) == 0 else SIZE_OF_SHORT_PHD)
    fork_ptr = search
    segments: list[str] = []
    scan = wal.backward(search)
    for record in scan:
        name = f"{wal_directory}/{WalSegment(record.timeline, record.lsn.segment_number(size)).file_name(size)}"
        if not segments or segments[-1] != name:
            segments.append(name)
        if record.lsn < fork_ptr and record.is_checkpoint:
            checkpoint = record.checkpoint()
            return CommonCheckpoint(record.lsn, checkpoint.timeline, checkpoint.redo), tuple(segments)
    end = scan.end_of_wal
    where = end.lsn if end is not None else search
    reason = _in_pg_rewind_words(end, wal)
    raise DivergenceError(f"could not find previous WAL record at {where}" + (f": {reason}" if reason else ""),
                          kind=Kind.WAL_MISSING, missing_segments=_missing(end))


def _same_timeline_warnings(source: Source, target: DataDirectory, source_end: LSN) -> tuple[tuple[str, ...], bool]:
    """pg_rewind stops at "same timeline"; but the target may still have written what the source never
    saw: its WAL goes on past the source's (which ends at ``source_end``), or the source holds a
    different record where the target's last checkpoint is. pg_rewind will not undo either. The
    warnings, and whether the source showed the very record of the target's checkpoint."""
    target_cf = target.control
    tli = target_cf.timeline
    if target_cf.checkpoint > source_end:
        return (f"both clusters are on timeline {tli}, but the target's WAL goes on to {target_cf.checkpoint}, past "
                f"the source's {source_end}: the target has writes the source does not have, and pg_rewind will "
                "not undo them",), False
    return _compare_records(source, target, target_cf.checkpoint, tli)


def _compare_records(source: Source, target: DataDirectory, lsn: LSN, tli: int) -> tuple[tuple[str, ...], bool]:
    """The target's checkpoint record against what the source's WAL holds at the same place: the
    warnings, and whether the source showed the same record."""
    try:
        ours = target.wal().read_record(lsn)
    except PgRewindKitError:
        return (), False
    try:
        theirs = source.wal_record(lsn, tli)
    except PgRewindKitError:
        return (f"both clusters are on timeline {tli}, but the source's WAL has no record where the target's last "
                f"checkpoint is ({lsn}): their WAL differs, and pg_rewind will not see it",), False
    if theirs is None:
        return (), False  # the source cannot show that WAL (a server, or gone): nothing to compare
    if (ours.tot_len, ours.prev, ours.info, ours.rmid, ours.main_data) != (
            theirs.tot_len, theirs.prev, theirs.info, theirs.rmid, theirs.main_data):
        return (f"both clusters are on timeline {tli}, but at {lsn} the target has {ours.rmgr}/{ours.type} and the "
                f"source {theirs.rmgr}/{theirs.type}: their WAL differs, and pg_rewind will not see it",), False
    return (), True
