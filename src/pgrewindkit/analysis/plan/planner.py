"""``plan_rewind()``: everything pg_rewind of the target's major would do, decided in advance and
without moving data: every check, the divergence, the file map with every block to overwrite, the
bytes to fetch, the WAL it must read, and the configuration files the source's copies replace."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from pgrewindkit.analysis.divergence import Divergence, find_divergence, target_wal_history
from pgrewindkit.analysis.plan.checks import CheckList, live_source_checks, sanity_checks, source_checkpointed
from pgrewindkit.analysis.plan.filemap import bytes_to_copy, collect_entries, decide_actions, source_total_bytes
from pgrewindkit.analysis.plan.model import (
    AbandonedHistory,
    Action,
    ConfigChange,
    FileAction,
    PlanFailure,
    PlanOutcome,
    RewindPlan,
    UnarchivedWal,
    WalSegmentNeeded,
)
from pgrewindkit.analysis.plan.pagemap import page_map
from pgrewindkit.analysis.plan.walfiles import (
    abandoned_history_files,
    unarchived_wal,
    wal_list_cut,
    wal_segments_needed,
)
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import CONFIG_FILES, settings_changes
from pgrewindkit.cluster.source import LocalSource, Source
from pgrewindkit.errors import DivergenceError, Kind, PgRewindKitError, SourceError
from pgrewindkit.formats.lsn import WalSegment
from pgrewindkit.formats.wal import Wal
from pgrewindkit.majors.rewind import predicted_release, release_name, require_verified, rules_for
from pgrewindkit.model import TimelineSpan

if TYPE_CHECKING:  # the discarded pass is imported only by the plans that read it
    from pgrewindkit.analysis.discarded import DiscardedWork

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# How much WAL after the divergence a plan reads a second time for the discarded work by default
DISCARDED_AUTO_LIMIT = 64 * MIB


def plan_rewind(source: Source | str | os.PathLike[str], target: DataDirectory | str | os.PathLike[str], *,
                on_progress: Callable[[int, int], None] | None = None,
                pg_rewind_version: tuple[int, int | None] | None = None,
                discarded: bool | None = None) -> RewindPlan:
    """What pg_rewind would do to make ``target`` follow ``source``; nothing is written anywhere.
    ``discarded``: also read what the rewind throws away (``RewindPlan.discarded``; a second pass
    over the target's WAL after the divergence); None (the default): when that WAL is at most
    ``DISCARDED_AUTO_LIMIT`` bytes, else ``RewindPlan.discarded_skipped`` says why it was not.
    ``on_progress(done, total)`` hears about the target's WAL being read, in parts.
    ``pg_rewind_version`` (major, minor): the pg_rewind release to predict (rules changed within majors);
    by default the newest minor known of the target's major (``RewindPlan.predicts`` says which)."""
    src = LocalSource(source) if isinstance(source, (str, os.PathLike)) else source
    tgt = target if isinstance(target, DataDirectory) else DataDirectory(target)
    return _Planner(src, tgt, on_progress, pg_rewind_version, discarded).plan()


class _Planner:
    def __init__(self, source: Source, target: DataDirectory,
                 on_progress: Callable[[int, int], None] | None = None,
                 pg_rewind_version: tuple[int, int | None] | None = None, discarded: bool | None = None) -> None:
        self.on_progress = on_progress
        self.with_discarded = discarded
        self._target_wal: Wal | None = None
        self._wal_cut = False  # the WAL list was cut after many missing segments in a row
        self.source = source
        self.target = target
        self.target_cf = target.control
        require_verified(self.target_cf.major)
        self.release = predicted_release(self.target_cf.major, pg_rewind_version)
        self.rules = rules_for(*self.release)
        self.checks = CheckList()

    def plan(self) -> RewindPlan:
        try:
            source_cf = self.source.control
            live_source_checks(self.checks, self.source, self.rules)
        except PgRewindKitError as exc:
            kind = exc.kind if isinstance(exc, SourceError) else Kind.SOURCE_UNAVAILABLE
            return self._result(PlanOutcome.ERROR, PlanFailure(kind, str(exc)), None)
        sanity_checks(self.checks, self.source, source_cf, self.target_cf)
        error = self.checks.first_failure()
        fatal_before_divergence = error is not None and error.kind in (
            Kind.DIFFERENT_SYSTEMS, Kind.INCOMPATIBLE_CLUSTERS)
        if fatal_before_divergence:
            return self._result(PlanOutcome.ERROR, error, None)
        provisional = not self.target_cf.state.is_clean_shutdown
        try:
            divergence = find_divergence(self.source, self.target, through_end_of_wal=provisional)
        except DivergenceError as exc:
            self.checks.add("divergence_found", False, str(exc.problem), exc.kind)
            failure = error or PlanFailure(exc.kind, str(exc.problem))
            return self._result(PlanOutcome.ERROR, failure, exc.partial,
                                wal=self._wal_needed(exc.partial, exc.missing_segments))
        log.debug("source timeline %s, target timeline %s; diverged at %s; rewind needed: %s",
                  divergence.source_timeline, divergence.target_timeline, divergence.lsn, divergence.rewind_needed)
        self.checks.add("different_timelines", divergence.source_timeline != divergence.target_timeline,
                        f"source on timeline {divergence.source_timeline}, target on {divergence.target_timeline}",
                        Kind.SAME_TIMELINE)
        if not divergence.rewind_needed:
            outcome = PlanOutcome.ERROR if error else PlanOutcome.NO_REWIND_REQUIRED
            return self._result(outcome, error, divergence, wal=self._wal_needed(divergence))
        files, wal_error = self._file_map(divergence)
        error = error or wal_error
        outcome = PlanOutcome.ERROR if error else PlanOutcome.REWIND_NEEDED
        plan = self._result(outcome, error, divergence, files=files, provisional=provisional,
                            wal=self._wal_needed(divergence))
        skipped = self._discarded_skipped(divergence)
        if skipped is not None:
            return attrs.evolve(plan, discarded_skipped=skipped)
        return attrs.evolve(plan, discarded=self._discarded(divergence))

    def _discarded_skipped(self, divergence: Divergence) -> str | None:
        """Why the discarded work is not read here, or None. It costs a second, serial pass over
        the WAL after the divergence (microseconds per record): above the limit a plan leaves it to
        ``pgrewindkit discarded`` rather than take many times pg_rewind's own time."""
        if self.with_discarded is False:
            return "not asked for"
        start, end = divergence.lsn, divergence.target_wal_end
        if self.with_discarded or start is None or end is None:
            return None
        size = end.value - start.value
        if size <= DISCARDED_AUTO_LIMIT:
            return None
        return (f"{size // MIB} MB of the target's WAL follow the divergence (more than "
                f"{DISCARDED_AUTO_LIMIT // MIB} MB): run pgrewindkit discarded, or plan --discarded always")

    def _result(self, outcome: PlanOutcome, error: PlanFailure | None, divergence: Divergence | None, *,
                files: list[FileAction] | None = None, provisional: bool = False,
                wal: tuple[WalSegmentNeeded, ...] = ()) -> RewindPlan:
        files = [] if files is None else files
        truth_check = source_checkpointed(divergence)
        checks = tuple(self.checks.items) + (() if truth_check is None else (truth_check,))
        truth_error = None if truth_check is None or truth_check.ok or truth_check.kind is None else PlanFailure(
            truth_check.kind, truth_check.message)
        return RewindPlan(
            outcome=outcome, error=error, divergence=divergence, files=tuple(files),
            bytes_to_copy=bytes_to_copy(files, self.target_cf.blcksz), source_total_bytes=source_total_bytes(files),
            wal_segments_needed=wal, checks=checks,
            config_changes=self._config_changes(files), provisional=provisional, major=self.rules.major,
            predicts=f"pg_rewind {release_name(*self.release)}",
            truth_error=truth_error, wal_list_complete=self._wal_list_complete(divergence, wal),
            unarchived_wal=self._unarchived(files), abandoned_history_files=self._abandoned(divergence),
        )

    def _discarded(self, divergence: Divergence) -> DiscardedWork | None:
        """What the rewind throws away; None when the target's WAL cannot tell (the plan's checks
        say why)."""
        from pgrewindkit.analysis.discarded import discarded_work  # here: most plans never read it

        try:
            return discarded_work(self.source, self.target, divergence=divergence)
        except PgRewindKitError as exc:
            log.warning("what the rewind throws away cannot be told: %s", exc)
            return None

    def _file_map(self, divergence: Divergence) -> tuple[list[FileAction], PlanFailure | None]:
        problems: list[str] = []
        entries = collect_entries(self.source.files(), self.target.files(), self.rules, problems)
        error = page_map(self._wal(divergence), divergence, entries, self.rules, self.target_cf, self.checks,
                         self.on_progress)
        keep = set(divergence.wal_segments_read) if self.rules.keeps_wal_read else set()
        actions = decide_actions(entries.values(), self.rules, keep, problems)
        self.checks.add("files", not problems, "; ".join(problems) or "every file can be handled",
                        Kind.FILE_TYPE_CONFLICT)
        if problems and error is None:
            error = PlanFailure(Kind.FILE_TYPE_CONFLICT, problems[0])
        return actions, error

    def _wal(self, divergence: Divergence) -> Wal:
        """The target's WAL along its history, opened once for the page map and the segments needed."""
        if self._target_wal is None:
            self._target_wal = self.target.wal(target_wal_history(self.target, divergence.target_timeline,
                                                                  self.rules))
        return self._target_wal

    def _wal_needed(self, divergence: Divergence | None,
                    missing: tuple[str, ...] = ()) -> tuple[WalSegmentNeeded, ...]:
        """Every segment pg_rewind reads, present or not, from the LSN ranges it reads (the
        target's checkpoint record; the last common checkpoint, or the missing segment the walk
        back stopped at, to the end of the target's WAL). Without a divergence (the target's
        checkpoint record missing): its segment alone."""
        cf = self.target_cf
        size = cf.xlog_seg_size
        present = set(self._wal_names())
        if divergence is None:  # stopped before the divergence: only reading the checkpoint record can fail
            history = self._target_history()
            if not missing or history is None:
                return ()
            return wal_segments_needed(history, size, [(cf.checkpoint, cf.checkpoint + 1)], present)
        ranges = []
        if divergence.lsn is not None:  # different timelines: pg_rewind reads the target's checkpoint record
            checkpoint_end = divergence.target_checkpoint_end
            ranges.append((cf.checkpoint, cf.checkpoint + 1 if checkpoint_end is None else checkpoint_end))
        end = divergence.target_wal_end
        if divergence.rewind_needed and end is not None:
            common = divergence.last_common_checkpoint
            starts = [] if common is None else [common.lsn]
            starts += [WalSegment.from_file_name(name, size).start(size) for name in missing]
            ranges.append((min(starts, default=divergence.lsn or end), end))
        self._wal_cut = wal_list_cut(divergence.target_history, size, ranges, present)
        return wal_segments_needed(divergence.target_history, size, ranges, present)

    def _wal_list_complete(self, divergence: Divergence | None, wal: tuple[WalSegmentNeeded, ...]) -> bool:
        """Whether the list names every segment: not when the walk back to the last common
        checkpoint did not get there, nor when the divergence could not be decided, nor when a range
        was cut after many missing segments in a row (an absurd end of WAL in pg_control)."""
        if divergence is None:
            return not wal
        return (not divergence.rewind_needed or divergence.last_common_checkpoint is not None) and not self._wal_cut

    def _target_history(self) -> tuple[TimelineSpan, ...] | None:
        try:
            return target_wal_history(self.target, self.target_cf.timeline, self.rules).spans
        except PgRewindKitError:
            return None

    def _wal_names(self) -> list[str]:
        try:
            return self.target.wal_names()
        except PgRewindKitError:
            return []

    def _unarchived(self, files: list[FileAction]) -> tuple[UnarchivedWal, ...]:
        try:
            ready = self.target.ready_for_archive()
        except PgRewindKitError:
            return ()
        return unarchived_wal(ready, files, wal_directory=self.target.wal_directory)

    def _abandoned(self, divergence: Divergence | None) -> tuple[AbandonedHistory, ...]:
        """History files in the target's pg_wal of timelines off the source's real history (the
        target's own history left out: pg_rewind reads it)."""
        if divergence is None:
            return ()
        source_history: tuple[TimelineSpan, ...] = divergence.source_history
        current = divergence.source_current_timeline
        if current is not None and current != divergence.source_timeline:
            with contextlib.suppress(PgRewindKitError):
                source_history = self.source.history(current).spans
        return abandoned_history_files(self._wal_names(), {s.timeline for s in source_history},
                                       source_history[-1].timeline,
                                       keep={s.timeline for s in divergence.target_history})

    def _config_changes(self, files: list[FileAction]) -> tuple[ConfigChange, ...]:
        """The configuration files the source's copies replace, and how they differ."""
        changes = []
        for action in files:
            if action.path not in CONFIG_FILES or action.action is not Action.COPY or action.target_type is None:
                continue
            try:
                theirs = self.source.read_file(action.path).decode("utf-8", "replace")
                ours = self.target.read_file(action.path).decode("utf-8", "replace")
            except PgRewindKitError:
                continue
            if theirs != ours:
                changes.append(ConfigChange(action.path, settings_changes(ours, theirs, action.path)))
        return tuple(changes)
