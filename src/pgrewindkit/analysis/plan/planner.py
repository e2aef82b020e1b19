"""``plan_rewind()``: everything pg_rewind of the target's major would do, decided in advance and
without moving data: every check, the divergence, the file map with every block to overwrite, the
bytes to fetch, the WAL it must read, and the configuration files the source's copies replace."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from pgrewindkit.analysis.divergence import Divergence, find_divergence
from pgrewindkit.analysis.plan.checks import CheckList, live_source_checks, sanity_checks
from pgrewindkit.analysis.plan.filemap import bytes_to_copy, collect_entries, decide_actions, source_total_bytes
from pgrewindkit.analysis.plan.model import (
    Action,
    ConfigChange,
    FileAction,
    PlanFailure,
    PlanOutcome,
    RewindPlan,
    WalSegmentNeeded,
)
from pgrewindkit.analysis.plan.pagemap import page_map
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import CONFIG_FILES, settings_changes
from pgrewindkit.cluster.source import LocalSource, Source
from pgrewindkit.errors import DivergenceError, Kind, PgRewindKitError, SourceError
from pgrewindkit.formats.lsn import WalSegment
from pgrewindkit.formats.wal import Wal, open_wal
from pgrewindkit.majors.rewind import predicted_release, rules_for

log = logging.getLogger(__name__)


def plan_rewind(source: Source | str | os.PathLike[str], target: DataDirectory | str | os.PathLike[str], *,
                on_progress: Callable[[int, int], None] | None = None,
                pg_rewind_version: tuple[int, int | None] | None = None) -> RewindPlan:
    """What pg_rewind would do to make ``target`` follow ``source``; nothing is written anywhere.
    ``on_progress(done, total)`` hears about the target's WAL being read, in parts.
    ``pg_rewind_version`` (major, minor): the pg_rewind release to predict (rules changed within majors);
    by default the newest minor known of the target's major (``RewindPlan.predicts`` says which)."""
    src = LocalSource(source) if isinstance(source, (str, os.PathLike)) else source
    tgt = target if isinstance(target, DataDirectory) else DataDirectory(target)
    return _Planner(src, tgt, on_progress, pg_rewind_version).plan()


class _Planner:
    def __init__(self, source: Source, target: DataDirectory,
                 on_progress: Callable[[int, int], None] | None = None,
                 pg_rewind_version: tuple[int, int | None] | None = None) -> None:
        self.on_progress = on_progress
        self._target_wal: Wal | None = None
        self.source = source
        self.target = target
        self.target_cf = target.control
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
            missing = tuple(WalSegmentNeeded(name, int(name[:8], 16), False) for name in exc.missing_segments)
            failure = error or PlanFailure(exc.kind, str(exc.problem))
            return self._result(PlanOutcome.ERROR, failure, exc.partial, wal=missing)
        log.debug("source timeline %s, target timeline %s; diverged at %s; rewind needed: %s",
                  divergence.source_timeline, divergence.target_timeline, divergence.lsn, divergence.rewind_needed)
        self.checks.add("different_timelines", divergence.source_timeline != divergence.target_timeline,
                        f"source on timeline {divergence.source_timeline}, target on {divergence.target_timeline}",
                        Kind.SAME_TIMELINE)
        if not divergence.rewind_needed:
            outcome = PlanOutcome.ERROR if error else PlanOutcome.NO_REWIND_REQUIRED
            return self._result(outcome, error, divergence)
        files, wal_error = self._file_map(divergence)
        error = error or wal_error
        outcome = PlanOutcome.ERROR if error else PlanOutcome.REWIND_NEEDED
        return self._result(outcome, error, divergence, files=files, provisional=provisional,
                            wal=self._wal_needed(divergence))

    def _result(self, outcome: PlanOutcome, error: PlanFailure | None, divergence: Divergence | None, *,
                files: list[FileAction] | None = None, provisional: bool = False,
                wal: tuple[WalSegmentNeeded, ...] = ()) -> RewindPlan:
        files = files or []
        return RewindPlan(
            outcome=outcome, error=error, divergence=divergence, files=tuple(files),
            bytes_to_copy=bytes_to_copy(files, self.target_cf.blcksz), source_total_bytes=source_total_bytes(files),
            wal_segments_needed=wal, checks=tuple(self.checks.items),
            config_changes=self._config_changes(files), provisional=provisional, major=self.rules.major,
            predicts="pg_rewind {}.{}".format(*self.release),
        )

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
            self._target_wal = open_wal(self.target.path, history=self.target.history(divergence.target_timeline))
        return self._target_wal

    def _wal_needed(self, divergence: Divergence) -> tuple[WalSegmentNeeded, ...]:
        checkpoint = divergence.last_common_checkpoint
        end = divergence.target_wal_end
        if checkpoint is None or end is None:
            return ()
        wal = self._wal(divergence)
        size = wal.directory.segment_size
        last = max(end.value - 1, checkpoint.lsn.value) // size
        needed = []
        for segno in range(checkpoint.lsn.segment_number(size), last + 1):
            tli = wal.directory.timeline_for_segment(segno)
            name = WalSegment(tli, segno).file_name(size)
            needed.append(WalSegmentNeeded(name, tli, name in wal.directory.segment_names))
        return tuple(needed)

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
