"""Names for the relation files of the discarded-work report: ``schema.table`` (an index or a TOAST
table named by its table), and databases by name.

Two catalogues can answer. The live source's (``pg_filenode_relation`` in each database) knows
every relation that existed before the divergence; it must not be asked about files the target
created after it (the source may have given the same number to another relation since). The
target's own catalogue files, read here without a server, know the rest: a ``pg_class`` tuple is
judged by who wrote and who removed it. Of the tuples that name a file, the one alive at the
divergence point wins (written by a transaction that committed before it, and not removed then);
else one written after it (a relation created in the discarded window, kept, or dropped again).
Whether a transaction committed is read from the tuple's hint bits, the transactions the WAL
showed committing after the divergence, or the commit log (``pg_xact``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Container, Iterable, Mapping

import attrs

from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import RelationName, Source
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.catalog import (
    CLOG_COMMITTED,
    ClassRow,
    CommitLog,
    HeapTuple,
    NamedRow,
    class_rows,
    index_rows,
    named_rows,
    relation_map,
)
from pgrewindkit.majors.records import (
    FROZEN_XID,
    HEAP_XMAX_COMMITTED,
    HEAP_XMAX_INVALID,
    HEAP_XMAX_IS_MULTI,
    HEAP_XMAX_LOCK_ONLY,
    HEAP_XMIN_COMMITTED,
    HEAP_XMIN_INVALID,
    PG_CLASS_OID,
    PG_DATABASE_OID,
    PG_INDEX_OID,
    PG_NAMESPACE_OID,
    CatalogLayout,
    catalog_layout,
)

log = logging.getLogger(__name__)

_HEAP_XMAX_EXCL_LOCK = 0x0040
_HEAP_LOCK_MASK = 0x0050
_TOAST_NAME = re.compile(r"pg_toast_(\d+)$")
# ranks of a catalogue tuple, best first
ALIVE_AT_DIVERGENCE, CREATED_AFTER, CREATED_AND_REMOVED_AFTER, REMOVED_BEFORE = range(4)


@attrs.frozen(order=True)
class RelationKey:
    database: int  # 0: a shared catalogue
    tablespace: int
    relfilenode: int


@attrs.frozen
class _Known:
    """One relation file's name, from either catalogue."""

    oid: int
    schema: str | None
    name: str
    kind: str
    table: str | None  # schema.table it belongs to (itself for a table)
    existed_before: bool


class Names:
    """What the report calls relation files and databases."""

    def __init__(self, files: Mapping[tuple[int, int], _Known], databases: Mapping[int, str], origin: str) -> None:
        self._files = dict(files)
        self._databases = dict(databases)
        self.origin = origin

    def _get(self, key: RelationKey) -> _Known | None:
        return self._files.get((key.database, key.relfilenode))

    def identity(self, key: RelationKey) -> tuple[str, int] | None:
        known = self._get(key)
        return None if known is None else ("oid", known.oid)

    def table(self, key: RelationKey) -> str | None:
        known = self._get(key)
        return None if known is None else known.table

    def relation(self, key: RelationKey) -> str | None:
        known = self._get(key)
        return None if known is None else _qualified(known.schema, known.name)

    def kind(self, key: RelationKey) -> str | None:
        known = self._get(key)
        return None if known is None else known.kind

    def oid(self, key: RelationKey) -> int | None:
        known = self._get(key)
        return None if known is None else known.oid

    def existed_before(self, key: RelationKey) -> bool:
        known = self._get(key)
        return known is not None and known.existed_before

    def database(self, oid: int | None) -> str | None:
        return None if oid is None else self._databases.get(oid)


def _qualified(schema: str | None, name: str) -> str:
    return name if schema is None else f"{schema}.{name}"


def name_relations(source: Source, target: DataDirectory, keys: Iterable[RelationKey], committed: Container[int],
                   fresh: set[RelationKey]) -> Names:
    """Names for ``keys``: the source's for files that existed before the divergence (``fresh``:
    created after it), the target's catalogue files for the rest."""
    keys = sorted(set(keys))
    catalogue = TargetCatalogue(target, committed)
    files: dict[tuple[int, int], _Known] = {}
    for key in keys:
        known = catalogue.name(key)
        if known is not None:
            files[(key.database, key.relfilenode)] = known
    origin = "target"
    asked = [k for k in keys if k not in fresh]
    if source.is_live and asked:
        wanted: dict[int, list[tuple[int, int]]] = {}
        for key in asked:
            wanted.setdefault(key.database, []).append((key.tablespace, key.relfilenode))
        try:
            theirs = source.relation_names(wanted)
        except PgRewindKitError as exc:
            log.warning("the source could not name relation files (%s): names come from the target alone", exc)
            theirs = {}
        for (db, rel), name in theirs.items():
            files[(db, rel)] = _from_source(name)
        origin = "source and target"
    databases = catalogue.databases()
    if source.is_live:
        try:
            for oid, datname in source.database_names().items():
                databases.setdefault(oid, datname)
        except PgRewindKitError:
            pass
    return Names(files, databases, origin)


def _from_source(name: RelationName) -> _Known:
    table = (_qualified(name.table_schema, name.table_name) if name.table_name is not None
             else _qualified(name.schema, name.name))
    return _Known(name.oid, name.schema, name.name, name.kind, table, existed_before=True)


@attrs.frozen
class _Ranked:
    rank: int
    row: ClassRow


class TargetCatalogue:
    """The target's ``pg_class``, ``pg_namespace``, ``pg_index`` and ``pg_database``, read from
    its files, one database at a time as names are asked for."""

    def __init__(self, target: DataDirectory, committed: Container[int]) -> None:
        self.target = target
        self.committed = committed
        control = target.control
        self.layout: CatalogLayout = catalog_layout(control.major)
        self.blcksz = control.blcksz
        self.clog = CommitLog(self._clog_segment)
        self._global_map = relation_map(self._read("global/pg_filenode.map") or b"")
        self._dbs: dict[int, _Database | None] = {}

    def _read(self, relative: str) -> bytes | None:
        try:
            return self.target.read_file(relative)
        except PgRewindKitError:
            return None

    def _clog_segment(self, name: str) -> bytes | None:
        return self._read(f"{self.layout.clog_directory}/{name}")

    # -- visibility ------------------------------------------------------------------------------

    def _committed(self, xid: int) -> bool | None:
        if xid in self.committed:
            return True
        status = self.clog.status(xid)
        return None if status is None else status == CLOG_COMMITTED

    def rank(self, tup: HeapTuple) -> int | None:
        """Where a catalogue tuple stands against the divergence; None: never committed."""
        mask = tup.infomask
        if mask & HEAP_XMIN_COMMITTED or tup.xmin in (1, FROZEN_XID):
            inserted = True
        elif mask & HEAP_XMIN_INVALID:
            inserted = False
        else:
            inserted = self._committed(tup.xmin) is not False  # unknown: rather a name than none
        if not inserted:
            return None
        lock_only = (mask & HEAP_XMAX_LOCK_ONLY
                     or (mask & (HEAP_XMAX_IS_MULTI | _HEAP_LOCK_MASK)) == _HEAP_XMAX_EXCL_LOCK)
        removed = bool(tup.xmax and not mask & HEAP_XMAX_INVALID and not lock_only and not mask & HEAP_XMAX_IS_MULTI
                       and (mask & HEAP_XMAX_COMMITTED or self._committed(tup.xmax)))
        created_after = tup.xmin in self.committed
        if created_after:
            return CREATED_AND_REMOVED_AFTER if removed else CREATED_AFTER
        if removed and tup.xmax not in self.committed:
            return REMOVED_BEFORE
        return ALIVE_AT_DIVERGENCE

    # -- names -------------------------------------------------------------------------------------

    def _database(self, oid: int) -> _Database | None:
        if oid not in self._dbs:
            self._dbs[oid] = self._load(oid)
        return self._dbs[oid]

    def _load(self, database: int) -> _Database | None:
        """One database's catalogue (for shared catalogues, database 0: template1's, which lists them)."""
        directory = f"base/{database or 1}"
        local_map = relation_map(self._read(f"{directory}/pg_filenode.map") or b"")
        class_file = local_map.get(PG_CLASS_OID)
        data = self._read(f"{directory}/{class_file}") if class_file else None
        if data is None:
            return None
        catalogue = _Database(self, local_map, class_rows(data, self.layout, self.blcksz))
        catalogue.namespaces = self._names(catalogue.file_of(PG_NAMESPACE_OID), directory,
                                           self.layout.namespace_nspname)
        index_file = catalogue.file_of(PG_INDEX_OID)
        index_data = self._read(f"{directory}/{index_file}") if index_file else None
        for indexrelid, indrelid, tup in index_rows(index_data or b"", self.layout, self.blcksz):
            if self.rank(tup) is not None:
                catalogue.index_table[indexrelid] = indrelid
        return catalogue

    def _names(self, filenode: int | None, directory: str, offset: int) -> dict[int, str]:
        data = self._read(f"{directory}/{filenode}") if filenode else None
        return _best_names(named_rows(data or b"", self.layout, offset, self.blcksz), self.rank)

    def name(self, key: RelationKey) -> _Known | None:
        catalogue = self._database(key.database)
        return None if catalogue is None else catalogue.name(key.relfilenode, shared=key.database == 0)

    def databases(self) -> dict[int, str]:
        filenode = self._global_map.get(PG_DATABASE_OID)
        return self._names(filenode, "global", self.layout.database_datname) if filenode else {}


def _best_names(rows: list[NamedRow], rank: Callable[[HeapTuple], int | None]) -> dict[int, str]:
    best: dict[int, tuple[int, str]] = {}
    for row in rows:
        r = rank(row.tuple)
        if r is not None and (row.oid not in best or r < best[row.oid][0]):
            best[row.oid] = (r, row.name)
    return {oid: name for oid, (_r, name) in best.items()}


class _Database:
    """One database's ``pg_class`` (by file and by OID, best tuple first), namespaces and indexes."""

    def __init__(self, owner: TargetCatalogue, local_map: dict[int, int], rows: list[ClassRow]) -> None:
        self.namespaces: dict[int, str] = {}
        self.index_table: dict[int, int] = {}
        self.by_file: dict[tuple[bool, int], _Ranked] = {}
        self.by_oid: dict[int, _Ranked] = {}
        self.toast_of: dict[int, int] = {}
        for row in rows:
            rank = owner.rank(row.tuple)
            if rank is None:
                continue
            mapped = owner._global_map if row.shared else local_map
            filenode = row.filenode or mapped.get(row.oid, 0)
            ranked = _Ranked(rank, row)
            file_key = (row.shared, filenode)
            if file_key not in self.by_file or rank < self.by_file[file_key].rank:
                self.by_file[file_key] = ranked
            if row.oid not in self.by_oid or rank < self.by_oid[row.oid].rank:
                self.by_oid[row.oid] = ranked
            if row.toast:
                self.toast_of.setdefault(row.toast, row.oid)

    def file_of(self, oid: int) -> int | None:
        ranked = self.by_oid.get(oid)
        return None if ranked is None else ranked.row.filenode or None

    def _qualified(self, row: ClassRow) -> str:
        return _qualified(self.namespaces.get(row.namespace), row.name)

    def name(self, filenode: int, *, shared: bool) -> _Known | None:
        ranked = self.by_file.get((shared, filenode))
        if ranked is None:
            return None
        row = ranked.row
        owner_oid = self.index_table.get(row.oid) if row.kind == "i" else self._toast_owner(row) if row.kind == "t" \
            else row.oid
        owner = self.by_oid.get(owner_oid) if owner_oid is not None else None
        table = self._qualified(owner.row) if owner is not None else None
        return _Known(row.oid, self.namespaces.get(row.namespace), row.name, row.kind, table,
                      existed_before=ranked.rank == ALIVE_AT_DIVERGENCE)

    def _toast_owner(self, row: ClassRow) -> int | None:
        owner = self.toast_of.get(row.oid)
        if owner is None:
            match = _TOAST_NAME.match(row.name)
            owner = int(match.group(1)) if match else None
        return owner
