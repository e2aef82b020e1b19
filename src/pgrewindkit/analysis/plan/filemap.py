"""pg_rewind's file map (``filemap.c``): the source's and the target's files side by side, and what
to do with each, in the order pg_rewind does it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs

from pgrewindkit.analysis.plan.model import Action, FileAction
from pgrewindkit.cluster.datadir import FileEntry, FileType
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.majors.rewind import RewindRules

GLOBAL_TABLESPACE, DEFAULT_TABLESPACE = 1664, 1663
log = logging.getLogger(__name__)


@attrs.define
class Entry:
    """One path of either side, and the blocks of it the page map found changed."""

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


def collect_entries(source_files: Iterable[FileEntry], target_files: Iterable[FileEntry], rules: RewindRules,
                    problems: list[str]) -> dict[str, Entry]:
    """Both sides' files by path (``process_source_file``/``process_target_file``); a relation file
    that is not a regular file in the source is a problem. Before 14 excluded source files, and on 10
    its ignored paths on both sides, are left out of the map."""
    entries: dict[str, Entry] = {}
    wal_directory = programs_for(rules.major).wal_directory
    for entry in source_files:
        if entry.path in rules.ignored_paths or (not rules.maps_excluded_files and _excluded(entry.path, rules)):
            continue
        kind = _type(entry, wal_directory)
        if kind is not FileType.REGULAR and relation_path(entry.path, rules):
            problems.append(f'data file "{entry.path}" in source is not a regular file')
        entries.setdefault(entry.path, Entry(entry.path)).source = attrs.evolve(entry, type=kind)
    for entry in target_files:
        if entry.path in rules.ignored_paths:
            continue
        entries.setdefault(entry.path, Entry(entry.path)).target = attrs.evolve(entry, type=_type(entry, wal_directory))
    log.debug("%d entries in the source and target file lists", len(entries))
    return entries


def _type(entry: FileEntry, wal_directory: str) -> FileType:
    """A symlinked ``pg_wal`` (``pg_xlog`` before 10) is taken as the directory it points to."""
    return FileType.DIRECTORY if entry.path == wal_directory and entry.type is FileType.SYMLINK else entry.type


def decide_actions(entries: Iterable[Entry], rules: RewindRules, keep: set[str],
                   problems: list[str]) -> list[FileAction]:
    """Every entry's action, in pg_rewind's order; files it cannot handle are problems."""
    actions = []
    for item in entries:
        try:
            action = _decide(item, rules, keep)
        except _FileError as exc:
            problems.append(str(exc))
            action = Action.NONE
        actions.append(item.to_action(action))
    actions.sort(key=sort_key)
    return actions


def _excluded(path: str, rules: RewindRules) -> bool:
    """``check_file_excluded``: temporary files, never-copied files, contents of some directories."""
    if "/pgsql_tmp" in path or "/pgsql_tmp/" in path:
        return True
    name = path.rsplit("/", 1)[-1]
    for excluded, prefix in rules.excluded_files:
        if name.startswith(excluded) if prefix else name == excluded:
            return True
    return any(path.startswith(directory + "/") for directory in rules.excluded_dir_contents)


def _decide(entry: Entry, rules: RewindRules, keep: set[str]) -> Action:
    """``decide_file_action``."""
    path, source, target = entry.path, entry.source, entry.target
    if (path == "global/pg_control" and not rules.copies_control_file) or (
            ".DS_Store" in path and rules.skips_ds_store):
        return Action.NONE
    if _excluded(path, rules):
        return Action.REMOVE if target else Action.NONE
    if source and not target:
        if source.type in (FileType.DIRECTORY, FileType.SYMLINK):
            return Action.CREATE
        return Action.COPY if rules.copies_missing_pg_version or not path.endswith("PG_VERSION") else Action.NONE
    if target and not source:
        return Action.NONE if path in keep else Action.REMOVE
    assert source is not None and target is not None
    if source.type is not target.type:
        raise _FileError(f'file "{path}" is of different type in source and target')
    if path.endswith("PG_VERSION") or source.type is not FileType.REGULAR:
        return Action.NONE
    if not relation_path(path, rules):
        return Action.COPY
    if target.size < source.size:
        return Action.COPY_TAIL
    if target.size > source.size:
        return Action.TRUNCATE
    return Action.NONE


def sort_key(action: FileAction) -> tuple[int, bytes]:
    """``final_filemap_cmp``: by action, then path (byte order), removals children first."""
    key = action.path.encode("utf-8", "surrogateescape")  # names as os.fsdecode gave them: the bytes on disk
    if action.action is Action.REMOVE:
        return (action.action, bytes(255 - b for b in key) + b"\xff")
    return (action.action, key)


def relation_file(spc: int, db: int, rel: int, segno: int, rules: RewindRules) -> str:
    """``datasegpath(relpathperm(...), MAIN_FORKNUM, segno)``."""
    if spc == GLOBAL_TABLESPACE:
        path = f"global/{rel}"
    elif spc == DEFAULT_TABLESPACE:
        path = f"base/{db}/{rel}"
    else:
        path = f"pg_tblspc/{spc}/{rules.version.tablespace_directory}/{db}/{rel}"
    return f"{path}.{segno}" if segno else path


def relation_path(path: str, rules: RewindRules) -> bool:
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
    return relation_file(spc, db, rel, segno, rules) == path


def bytes_to_copy(files: Iterable[FileAction], blcksz: int) -> int:
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


def source_total_bytes(files: Iterable[FileAction]) -> int:
    """The size of the source's regular files (pg_rewind's "total source directory size")."""
    return sum(f.source_size or 0 for f in files if f.source_type is FileType.REGULAR)
