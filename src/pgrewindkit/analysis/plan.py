"""``plan_rewind()``: everything pg_rewind of the target's major would do, decided in advance and
without moving data: every check, the divergence, the file map with every block to overwrite, the
bytes to fetch, the WAL it must read, and the configuration files the source's copies replace."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable, Iterable

import attrs

from pgrewindkit.analysis.divergence import Divergence, _find
from pgrewindkit.cluster.datadir import DataDirectory, FileEntry, FileType
from pgrewindkit.cluster.pgconf import settings_changes
from pgrewindkit.cluster.source import LiveSource, LocalSource, Source
from pgrewindkit.errors import DivergenceError, Kind, PgRewindKitError, SourceError
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.wal import Wal, open_wal
from pgrewindkit.formats.wal.parallel import collect_block_changes
from pgrewindkit.majors.rewind import RewindRules, rules_for
from pgrewindkit.majors.rmgrs import resource_manager
from pgrewindkit.model import ControlFile

GLOBAL_TABLESPACE, DEFAULT_TABLESPACE = 1664, 1663
CONFIG_FILES = ("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf")
log = logging.getLogger(__name__)


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


@attrs.frozen
class PlanFailure:
    """Why pg_rewind would stop: the first failed check (a value, not an exception)."""

    kind: Kind
    message: str


@attrs.frozen
class RewindPlan:
    outcome: str  # "rewind_needed" | "no_rewind_required" | "error"
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

    @property
    def shown_files(self) -> tuple[FileAction, ...]:
        return tuple(f for f in self.files if f.shown)


def plan_rewind(source: Source | str | os.PathLike[str], target: DataDirectory | str | os.PathLike[str], *,
                on_progress: Callable[[int, int], None] | None = None) -> RewindPlan:
    """What pg_rewind would do to make ``target`` follow ``source``; nothing is written anywhere.
    ``on_progress(done, total)`` hears about the target's WAL being read, in parts."""
    src = source if not isinstance(source, str | os.PathLike) else LocalSource(source)
    tgt = target if isinstance(target, DataDirectory) else DataDirectory(target)
    return _Planner(src, tgt, on_progress).plan()


class _Planner:
    def __init__(self, source: Source, target: DataDirectory,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        self.on_progress = on_progress
        self._target_wal: Wal | None = None
        self.source = source
        self.target = target
        self.target_cf = target.control
        self.rules = rules_for(self.target_cf.major)
        self.checks: list[Check] = []

    # -- checks in pg_rewind's order -----------------------------------------------------------------

    def _check(self, name: str, ok: bool, message: str, kind: Kind) -> None:
        self.checks.append(Check(name, ok, message, None if ok else kind))

    def _sanity_checks(self, source_cf: ControlFile) -> None:
        t, s = self.target_cf, source_cf
        self._check("same_system", s.system_identifier == t.system_identifier,
                    "source and target are the same system" if s.system_identifier == t.system_identifier
                    else "source and target clusters are from different systems", Kind.DIFFERENT_SYSTEMS)
        same_version = (s.control_version, s.catalog_version) == (t.control_version, t.catalog_version)
        self._check("compatible_versions", same_version,
                    f"both are PostgreSQL {t.major}" if same_version
                    else "clusters are not compatible with this version of pg_rewind", Kind.INCOMPATIBLE_CLUSTERS)
        sizes = [(n, getattr(s, n), getattr(t, n)) for n in ("blcksz", "xlog_blcksz", "xlog_seg_size", "relseg_size")]
        differing = [f"{n} {a} (source) vs {b} (target)" for n, a, b in sizes if a != b]
        self._check("compatible_sizes", not differing,
                    "block, WAL block, WAL segment and relation segment sizes match" if not differing
                    else "clusters are not compatible: " + ", ".join(differing), Kind.INCOMPATIBLE_CLUSTERS)
        hints = t.data_checksums or t.wal_log_hints
        self._check("wal_log_hints_or_checksums", hints,
                    ("target uses data checksums" if t.data_checksums else "target has wal_log_hints = on")
                    if hints else 'target server needs to use either data checksums or "wal_log_hints = on"',
                    Kind.NO_WAL_LOG_HINTS_OR_CHECKSUMS)
        clean = t.state.is_clean_shutdown
        self._check("target_shut_down", clean,
                    f"target is {t.state.description}" if clean else
                    f"target server must be shut down cleanly (it is {t.state.description})",
                    Kind.TARGET_NOT_CLEANLY_SHUT_DOWN)
        if isinstance(self.source, LocalSource):
            clean = s.state.is_clean_shutdown
            self._check("source_shut_down", clean,
                        f"source is {s.state.description}" if clean else
                        f"source data directory must be shut down cleanly (it is {s.state.description})",
                        Kind.SOURCE_NOT_CLEANLY_SHUT_DOWN)

    def _live_source_checks(self) -> None:
        if not isinstance(self.source, LiveSource):
            return
        fpw = self.source.setting("full_page_writes")
        self._check("source_full_page_writes", fpw == "on",
                    "source has full_page_writes = on" if fpw == "on"
                    else '"full_page_writes" must be enabled in the source server', Kind.FULL_PAGE_WRITES_OFF)
        if not self.rules.standby_source:
            primary = not self.source.in_recovery()
            self._check("source_not_in_recovery", primary, "source is a primary" if primary
                        else "source server must not be in recovery mode", Kind.SOURCE_IN_RECOVERY)

    def _first_failure(self) -> PlanFailure | None:
        failed = next((c for c in self.checks if not c.ok and c.kind), None)
        return PlanFailure(failed.kind, failed.message) if failed and failed.kind else None

    # -- the plan ----------------------------------------------------------------------------------

    def plan(self) -> RewindPlan:
        try:
            source_cf = self.source.control
            self._live_source_checks()
        except PgRewindKitError as exc:
            kind = exc.kind if isinstance(exc, SourceError) else Kind.SOURCE_UNAVAILABLE
            return self._result("error", PlanFailure(kind, str(exc)), None)
        self._sanity_checks(source_cf)
        error = self._first_failure()
        fatal_before_divergence = error is not None and error.kind in (
            Kind.DIFFERENT_SYSTEMS, Kind.INCOMPATIBLE_CLUSTERS)
        if fatal_before_divergence:
            return self._result("error", error, None)
        provisional = not self.target_cf.state.is_clean_shutdown
        try:
            divergence = _find(self.source, self.target, through_end_of_wal=provisional)
        except DivergenceError as exc:
            self._check("divergence_found", False, str(exc.problem), exc.kind)
            missing = tuple(WalSegmentNeeded(name, int(name[:8], 16), False) for name in exc.missing_segments)
            return self._result("error", error or PlanFailure(exc.kind, str(exc.problem)), exc.partial, wal=missing)
        log.debug("source timeline %s, target timeline %s; diverged at %s; rewind needed: %s",
                  divergence.source_timeline, divergence.target_timeline, divergence.lsn, divergence.rewind_needed)
        self._check("different_timelines", divergence.source_timeline != divergence.target_timeline,
                    f"source on timeline {divergence.source_timeline}, target on {divergence.target_timeline}",
                    Kind.SAME_TIMELINE)
        if not divergence.rewind_needed:
            outcome = "error" if error else "no_rewind_required"
            return self._result(outcome, error, divergence)
        files, wal_error = self._file_map(divergence)
        error = error or wal_error
        return self._result("error" if error else "rewind_needed", error, divergence, files=files,
                            provisional=provisional, wal=self._wal_needed(divergence))

    def _result(self, outcome: str, error: PlanFailure | None, divergence: Divergence | None, *,
                files: list[FileAction] | None = None, provisional: bool = False,
                wal: tuple[WalSegmentNeeded, ...] = ()) -> RewindPlan:
        files = files or []
        return RewindPlan(
            outcome=outcome, error=error, divergence=divergence, files=tuple(files),
            bytes_to_copy=_bytes_to_copy(files, self.target_cf.blcksz),
            source_total_bytes=sum(f.source_size or 0 for f in files if f.source_type is FileType.REGULAR),
            wal_segments_needed=wal, checks=tuple(self.checks),
            config_changes=self._config_changes(files), provisional=provisional, major=self.rules.major,
        )

    # -- file map ----------------------------------------------------------------------------------

    def _file_map(self, divergence: Divergence) -> tuple[list[FileAction], PlanFailure | None]:
        entries: dict[str, _Entry] = {}
        problems: list[str] = []
        for entry in self.source.files():
            kind = FileType.DIRECTORY if entry.path == "pg_wal" and entry.type is FileType.SYMLINK else entry.type
            if kind is not FileType.REGULAR and _relation_path(entry.path, self.rules):
                problems.append(f'data file "{entry.path}" in source is not a regular file')
            entries.setdefault(entry.path, _Entry(entry.path)).source = attrs.evolve(entry, type=kind)
        for entry in self.target.files():
            kind = FileType.DIRECTORY if entry.path == "pg_wal" and entry.type is FileType.SYMLINK else entry.type
            entries.setdefault(entry.path, _Entry(entry.path)).target = attrs.evolve(entry, type=kind)
        log.debug("%d entries in the source and target file lists", len(entries))
        error = self._page_map(divergence, entries)
        keep = set(divergence.wal_segments_read) if self.rules.keeps_wal_read else set()
        actions = []
        for item in entries.values():
            try:
                action = _decide(item, self.rules, keep)
            except _FileError as exc:
                problems.append(str(exc))
                action = Action.NONE
            actions.append(item.to_action(action))
        self._check("files", not problems, "; ".join(problems) or "every file can be handled", Kind.FILE_TYPE_CONFLICT)
        if problems and error is None:
            error = PlanFailure(Kind.FILE_TYPE_CONFLICT, problems[0])
        actions.sort(key=_sort_key)
        return actions, error

    def _page_map(self, divergence: Divergence, entries: dict[str, _Entry]) -> PlanFailure | None:
        """``extractPageMap``: blocks of the main fork changed by target WAL after the checkpoint."""
        checkpoint = divergence.last_common_checkpoint
        end = divergence.target_wal_end
        assert checkpoint is not None and end is not None
        wal = self._wal(divergence)
        major, relseg = self.rules.major, self.target_cf.relseg_size
        blcksz = self.target_cf.blcksz
        changes = collect_block_changes(wal, checkpoint.lsn, end, self.rules.recognises,
                                        on_progress=self.on_progress)
        log.debug("target WAL from %s to %s: %d main-fork blocks changed", checkpoint.lsn, end, len(changes.blocks))
        end_value = end.value
        last_end = changes.last_end
        unrecognised = None
        if changes.unrecognised is not None:
            lsn, rmid, info = changes.unrecognised
            rmid_part = f"rmid: {rmid}, " if self.rules.unrecognised_names_rmid else ""
            unrecognised = (f"WAL record modifies a relation, but record type is not recognized: lsn: "
                            f"{LSN(lsn)}, {rmid_part}rmgr: {resource_manager(major, rmid).name}, info: {info:02X}")
        paths: dict[tuple[int, int, int, int], str] = {}
        for spc, db, rel, blkno in changes.blocks:
            key = (spc, db, rel, blkno // relseg)
            path = paths.get(key)
            if path is None:
                path = paths[key] = _relation_file(*key, self.rules)
            entry = entries.get(path)
            if entry is None or entry.target is None:
                continue
            if entry.target.type is not FileType.REGULAR:
                message = f'unexpected page modification for non-regular file "{path}"'
                return PlanFailure(Kind.FILE_TYPE_CONFLICT, message)
            if entry.source is None:
                continue
            in_segment = blkno % relseg
            end_offset = (in_segment + 1) * blcksz
            if end_offset <= entry.source.size and end_offset <= entry.target.size:
                entry.blocks.add(in_segment)
        self._check("wal_records_recognised", unrecognised is None,
                    unrecognised or "every WAL record after the checkpoint is one pg_rewind understands",
                    Kind.UNRECOGNIZED_WAL_RECORD)
        if unrecognised:
            return PlanFailure(Kind.UNRECOGNIZED_WAL_RECORD, unrecognised)
        if last_end < end_value:
            reason = changes.end_of_wal.reason if changes.end_of_wal else "WAL ends early"
            message = f"could not read WAL record at {LSN(last_end)}: {reason}"
            self._check("wal_readable", False, message, Kind.WAL_MISSING)
            return PlanFailure(Kind.WAL_MISSING, message)
        if last_end != end_value:
            message = f"end pointer {end} is not a valid end point; expected {LSN(last_end)}"
            self._check("wal_readable", False, message, Kind.WAL_MISSING)
            return PlanFailure(Kind.WAL_MISSING, message)
        self._check("wal_readable", True, f"target WAL reads from {checkpoint.lsn} to {end}", Kind.WAL_MISSING)
        return None

    # -- WAL needed ---------------------------------------------------------------------------------

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

    # -- configuration -------------------------------------------------------------------------------

    def _config_changes(self, files: list[FileAction]) -> tuple[ConfigChange, ...]:
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


@attrs.define
class _Entry:
    path: str
    source: FileEntry | None = None
    target: FileEntry | None = None
    blocks: set[int] = attrs.field(factory=set)

    def to_action(self, action: Action) -> FileAction:
        return FileAction(
            self.path, action, tuple(sorted(self.blocks)),
            self.source.size if self.source else None, self.target.size if self.target else None,
            self.source.type if self.source else None, self.target.type if self.target else None,
        )


class _FileError(Exception):
    pass


def _excluded(path: str, rules: RewindRules) -> bool:
    """``check_file_excluded``: temporary files, never-copied files, contents of some directories."""
    if "/pgsql_tmp" in path or "/pgsql_tmp/" in path:
        return True
    name = path.rsplit("/", 1)[-1]
    for excluded, prefix in rules.excluded_files:
        if name.startswith(excluded) if prefix else name == excluded:
            return True
    return any(path.startswith(directory + "/") for directory in rules.excluded_dir_contents)


def _decide(entry: _Entry, rules: RewindRules, keep: set[str]) -> Action:
    """``decide_file_action``."""
    path, source, target = entry.path, entry.source, entry.target
    if path == "global/pg_control" or ".DS_Store" in path:
        return Action.NONE
    if _excluded(path, rules):
        return Action.REMOVE if target else Action.NONE
    if source and not target:
        return Action.CREATE if source.type in (FileType.DIRECTORY, FileType.SYMLINK) else Action.COPY
    if target and not source:
        return Action.NONE if path in keep else Action.REMOVE
    assert source is not None and target is not None
    if source.type is not target.type:
        raise _FileError(f'file "{path}" is of different type in source and target')
    if path.endswith("PG_VERSION") or source.type is not FileType.REGULAR:
        return Action.NONE
    if not _relation_path(path, rules):
        return Action.COPY
    if target.size < source.size:
        return Action.COPY_TAIL
    if target.size > source.size:
        return Action.TRUNCATE
    return Action.NONE


def _sort_key(action: FileAction) -> tuple[int, bytes]:
    """``final_filemap_cmp``: by action, then path (byte order), removals children first."""
    key = action.path.encode()
    if action.action is Action.REMOVE:
        return (action.action, bytes(255 - b for b in key) + b"\xff")
    return (action.action, key)


def _relation_file(spc: int, db: int, rel: int, segno: int, rules: RewindRules) -> str:
    """``datasegpath(relpathperm(...), MAIN_FORKNUM, segno)``."""
    if spc == GLOBAL_TABLESPACE:
        path = f"global/{rel}"
    elif spc == DEFAULT_TABLESPACE:
        path = f"base/{db}/{rel}"
    else:
        path = f"pg_tblspc/{spc}/{rules.version.tablespace_directory}/{db}/{rel}"
    return f"{path}.{segno}" if segno else path


def _relation_path(path: str, rules: RewindRules) -> bool:
    """``isRelDataFile``: a main-fork segment of a relation, written exactly as PostgreSQL names it."""
    parts = path.split("/")
    try:
        if parts[0] == "global" and len(parts) == 2:
            spc, db, name = GLOBAL_TABLESPACE, 0, parts[1]
        elif parts[0] == "base" and len(parts) == 3:
            spc, db, name = DEFAULT_TABLESPACE, int(parts[1]), parts[2]
        elif parts[0] == "pg_tblspc" and len(parts) == 5 and parts[2] == rules.version.tablespace_directory:
            spc, db, name = int(parts[1]), int(parts[3]), parts[4]
        else:
            return False
        rel_text, _, seg_text = name.partition(".")
        rel, segno = int(rel_text), int(seg_text) if seg_text else 0
    except ValueError:
        return False
    return _relation_file(spc, db, rel, segno, rules) == path


def _bytes_to_copy(files: Iterable[FileAction], blcksz: int) -> int:
    """``calculate_totals``: whole files copied, tails, and every block overwritten."""
    total = 0
    for f in files:
        if f.source_type is not FileType.REGULAR:
            continue
        if f.action is Action.COPY:
            total += f.source_size or 0
            continue
        if f.action is Action.COPY_TAIL:
            total += (f.source_size or 0) - (f.target_size or 0)
        total += len(f.blocks) * blcksz
    return total
