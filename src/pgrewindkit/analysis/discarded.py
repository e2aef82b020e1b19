"""What a rewind throws away (issue 15): every transaction the target committed after the point
where the clusters diverged, what each changed, table by table, the DDL, sequences and logical
messages of that WAL, and when the source took over. Read from the target's WAL from the
divergence point (as ``find_divergence`` finds it) to the end of its valid WAL; nothing is written.

Work is counted per transaction as records come, and given to the transaction's fate when its
commit or abort record comes (a commit record lists the subtransactions that committed with it);
what has no fate by the end of the WAL is in progress. Names come from the live source's
catalogue for relations that existed before the divergence, and from the target's own catalogue
files (``names.py``) for the rest.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from collections.abc import Iterable, Sequence

import attrs

from pgrewindkit.analysis.discarded_names import Names, RelationKey, name_relations
from pgrewindkit.analysis.divergence import Divergence, find_divergence
from pgrewindkit.analysis.xidset import XidSet
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import LocalSource, Source
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal import Wal
from pgrewindkit.formats.wal.heap import LogicalMessage as MessageRecord
from pgrewindkit.formats.wal.heap import (
    database_id,
    heap_truncate,
    logical_message,
    multi_insert_count,
    smgr_create,
    smgr_truncate,
)
from pgrewindkit.formats.wal.records import WalRecord, wal_record
from pgrewindkit.formats.wal.xact import XactEnd, parse_prepare, parse_xact_end
from pgrewindkit.majors.layouts.xlog import XLR_RMGR_INFO_MASK
from pgrewindkit.majors.records import (
    DATABASE_CREATES,
    HEAP_EVENTS,
    IMAGE_RECORDS,
    INDEX_RMGRS,
    ONLY_EVENTS_RMGRS,
    RecordLayouts,
    record_layouts,
)
from pgrewindkit.majors.rmgrs import resource_manager

COUNTS = ("inserts", "updates", "hot_updates", "deletes", "index_changes")
# committed transactions listed one by one by default (the first after the divergence); the counts,
# tables and times cover all of them. A busy primary commits millions in a long divergence: listing
# every one would take gigabytes.
LISTED = 1000
# resource managers whose records the report reads (the rest only show which transaction wrote)
_READ = frozenset({"Heap", "Heap2", "Transaction", "Storage", "Database", "Sequence", "LogicalMessage", "XLOG"}
                  | INDEX_RMGRS)


@attrs.frozen
class CommittedTransaction:
    """A transaction that committed on the target after the divergence: the source never saw it."""

    xid: int
    commit_time: datetime.datetime
    lsn: LSN  # its commit record
    database_oid: int | None
    database: str | None
    subxids: tuple[int, ...]
    relations: tuple[str, ...]  # the tables it changed (an index or TOAST table: its table)
    gid: str | None = None  # COMMIT PREPARED: the prepared transaction's GID


@attrs.frozen
class PreparedTransaction:
    """Prepared after the divergence and neither committed nor rolled back by the end of the WAL."""

    xid: int
    gid: str
    prepared_at: datetime.datetime
    database_oid: int
    database: str | None


@attrs.frozen
class RelationChanges:
    """One relation's discarded changes (each file of it: a TRUNCATE gives it a new one)."""

    name: str | None  # schema.table: an index or a TOAST table is named by its table
    relation: str | None  # the relation's own name (an index's, a TOAST table's)
    kind: str | None  # pg_class.relkind: r table, i index, t TOAST, S sequence, m materialized view ...
    database_oid: int
    database: str | None
    relfilenode: int
    relfilenodes: tuple[int, ...]
    inserts: int = 0
    updates: int = 0  # HOT ones included
    hot_updates: int = 0
    deletes: int = 0
    index_changes: int = 0
    truncated: bool = False
    created: bool = False
    dropped: bool = False
    rewritten: bool = False  # given a new file holding its rows (VACUUM FULL, CLUSTER, a rewriting ALTER)


@attrs.frozen
class SequenceAdvance:
    name: str | None
    database_oid: int
    database: str | None
    relfilenode: int
    records: int  # sequence records written (each covers up to 32 values)


@attrs.frozen
class LogicalMessage:
    prefix: str
    transactional: bool
    xid: int | None
    lsn: LSN
    database_oid: int
    size: int
    outcome: str  # committed, aborted, in progress, or "not transactional"


@attrs.frozen
class DatabaseEvent:
    what: str  # "created" or "dropped"
    database_oid: int
    database: str | None
    lsn: LSN


@attrs.frozen
class UnnamedRelation:
    database_oid: int
    relfilenode: int
    tablespace: int


def _count_of_listed(work: DiscardedWork) -> int:
    return len(work.committed)


def _first_of_listed(work: DiscardedWork) -> datetime.datetime | None:
    return min((t.commit_time for t in work.committed), default=None)


def _last_of_listed(work: DiscardedWork) -> datetime.datetime | None:
    return max((t.commit_time for t in work.committed), default=None)


@attrs.frozen
class DiscardedWork:
    """Everything the target wrote after the divergence that a rewind throws away.

    ``committed_count`` and the first and last commit times are fields (they cover transactions
    ``committed`` may not list); given none, they are those of ``committed``, and ``attrs.evolve``
    keeps them as they were."""

    from_lsn: LSN | None  # the divergence point; None when there is nothing to discard
    to_lsn: LSN | None  # the end of the target's valid WAL
    timeline: int
    source_promoted_at: datetime.datetime | None
    committed: tuple[CommittedTransaction, ...]  # in WAL order: every one, or the first ``listed`` (discarded_work)
    prepared: tuple[PreparedTransaction, ...]
    aborted: int
    in_progress: int
    relations: tuple[RelationChanges, ...]
    aborted_relations: tuple[RelationChanges, ...]
    unnamed_relations: tuple[UnnamedRelation, ...]
    sequences: tuple[SequenceAdvance, ...]
    logical_messages: tuple[LogicalMessage, ...]
    databases: tuple[DatabaseEvent, ...]
    names_from: str  # "target" (its catalogue files), "source and target"
    end_of_wal: str | None = None  # why reading stopped before the target's end of WAL (a segment missing)
    records_read: int = 0
    # every committed transaction, listed or not (by default: those of ``committed``)
    committed_count: int = attrs.field(default=attrs.Factory(_count_of_listed, takes_self=True))
    first_commit_time: datetime.datetime | None = attrs.field(default=attrs.Factory(_first_of_listed,
                                                                                     takes_self=True))
    last_commit_time: datetime.datetime | None = attrs.field(default=attrs.Factory(_last_of_listed,
                                                                                    takes_self=True))

    @property
    def committed_unlisted(self) -> int:
        """Committed transactions counted but not in ``committed``."""
        return self.committed_count - len(self.committed)

    @property
    def anything_lost(self) -> bool:
        """Whether a rewind throws away a committed or prepared transaction."""
        return bool(self.committed_count or self.prepared)


def discarded_work(source: Source | str | os.PathLike[str], target: DataDirectory | str | os.PathLike[str], *,
                   divergence: Divergence | None = None, listed: int | None = LISTED) -> DiscardedWork:
    """What a rewind of ``target`` onto ``source`` throws away. ``divergence``: the one a plan
    already found (else found here, as ``find_divergence`` does). ``listed``: how many committed
    transactions to list one by one, the first after the divergence (None: every one, in memory
    that grows with them); the counts, times and tables always cover all of them."""
    if listed is not None and listed < 0:
        raise ValueError(f"listed must be None or at least 0, not {listed}")
    src = LocalSource(source) if isinstance(source, (str, os.PathLike)) else source
    tgt = target if isinstance(target, DataDirectory) else DataDirectory(target)
    if divergence is None:
        divergence = find_divergence(src, tgt, through_end_of_wal=not tgt.control.state.is_clean_shutdown)
    promoted = _promoted_at(src, divergence)
    if not divergence.rewind_needed or divergence.lsn is None:
        return _nothing(divergence, promoted)
    wal = tgt.wal(tgt.history(divergence.target_timeline))
    tally = _Tally(record_layouts(tgt.control.major), listed)
    end, records, why = tally.read(wal, divergence.lsn)
    if divergence.target_wal_end is not None and end >= divergence.target_wal_end:
        why = None  # the end of valid WAL, where it should be: nothing unread
    names = name_relations(src, tgt, tally.keys(), tally.committed_xids, tally.fresh())
    return tally.report(divergence, promoted, names, end, records, why)


def _nothing(divergence: Divergence, promoted: datetime.datetime | None) -> DiscardedWork:
    return DiscardedWork(from_lsn=None, to_lsn=divergence.target_wal_end, timeline=divergence.target_timeline,
                         source_promoted_at=promoted, committed=(), prepared=(), aborted=0, in_progress=0,
                         relations=(), aborted_relations=(), unnamed_relations=(), sequences=(), logical_messages=(),
                         databases=(), names_from="target")


def _promoted_at(source: Source, divergence: Divergence) -> datetime.datetime | None:
    """The time in the first record of the source's timeline after the common one."""
    index = divergence.common_index
    history = divergence.source_history
    if index is None or index + 1 >= len(history) or history[index].end is None:
        return None
    switchpoint = history[index].end
    assert switchpoint is not None
    try:
        return source.promoted_at(history[index + 1].timeline, switchpoint)
    except PgRewindKitError:
        return None


_Key = tuple[int, int, int]  # spc, db, rel

# What ``_Tally.read`` does with a record, decided once per (rmid, info): nothing; count its first
# block's relation under each name given; note its blocks' files as given page images; read a
# Transaction record (of the type given) from the tuple; or the whole record (``_Tally._record``)
_SKIP, _COUNT, _IMAGES, _XACT, _RECORD = range(5)


def _action(major: int, rmid: int, info: int) -> tuple[int, tuple[str, ...]]:
    manager = resource_manager(major, rmid)
    name = (manager.name, manager.identify(info))
    event = HEAP_EVENTS.get(name)
    if name[0] not in _READ:
        return _SKIP, ()
    if event is not None and event != "multi_insert":
        return _COUNT, ("updates", "hot_updates") if event == "hot_update" else (event + "s",)
    if name[0] in INDEX_RMGRS:
        return _COUNT, ("index_changes",)
    if name in IMAGE_RECORDS:
        return _IMAGES, ()
    if name[0] == "Transaction":
        return _XACT, (name[1],)
    if event is None and (name[0] in ONLY_EVENTS_RMGRS or (name[0] == "Heap" and name[1] != "TRUNCATE")):
        # pruning, freezing, checkpoints, hint images, row locks...: nothing a commit loses
        return _SKIP, ()
    return _RECORD, ()


class _Tally:
    """The counts, per transaction until it ends, then per fate."""

    def __init__(self, layouts: RecordLayouts, listed: int | None = None) -> None:
        self.layouts = layouts
        self.listed = listed  # how many committed transactions to keep one by one (None: all)
        # What is kept per transaction lives only while it runs; once it ended, it is a bit in
        # ``committed_xids`` or ``aborted_xids``, and a committed one is in ``committed`` only if
        # listed: memory grows with the concurrent transactions and the relations, not the commits.
        self.work: dict[int, Counter[tuple[_Key, str]]] = {}
        self.databases: dict[int, int] = {}  # xid -> the database its first block was in
        self.running: set[int] = set()  # xids seen and not (yet) seen to end
        self.committed: list[tuple[int, XactEnd, LSN]] = []
        self.committed_count = 0
        self.first_commit_time: datetime.datetime | None = None
        self.last_commit_time: datetime.datetime | None = None
        self.committed_xids = XidSet()
        self.aborted_xids = XidSet()
        self.committed_work: Counter[tuple[_Key, str]] = Counter()
        self.aborted_work: Counter[tuple[_Key, str]] = Counter()
        self.aborted = 0
        self.touched: dict[int, frozenset[_Key]] = {}  # listed committed top xid -> relation files it changed
        self._file_sets: dict[frozenset[_Key], frozenset[_Key]] = {}  # one object per distinct set
        self.prepared: dict[int, tuple[int, str, datetime.datetime]] = {}
        self.created: dict[_Key, int] = {}  # relation file -> the xid (0 when none yet) that created it
        self.created_by: dict[int, set[_Key]] = {}  # the same, by xid: a transaction's tables include its new files
        self.aborted_files: set[_Key] = set()  # created by transactions that aborted: removed again
        self.dropped: set[_Key] = set()  # removed at commit
        self.truncated: set[_Key] = set()
        self.truncated_oids: set[tuple[int, int]] = set()  # heap TRUNCATE (logical WAL): (db, relation oid)
        self.pending_oids: dict[int, list[tuple[int, int]]] = {}
        self.page_images: set[_Key] = set()  # files given whole pages (a rewrite copies its rows so)
        self.sequences: Counter[_Key] = Counter()
        self.messages: list[tuple[LSN, int, MessageRecord]] = []
        self.database_events: list[tuple[str, int, LSN, int]] = []

    # -- reading ---------------------------------------------------------------------------------

    def read(self, wal: Wal, start: LSN) -> tuple[LSN, int, str | None]:
        """Every record from ``start`` to the end of valid WAL, as the reader's tuples: the row
        changes are counted from those; the few records whose payload matters become records."""
        fmt = wal.wal_format(start)
        scan = wal.scan(start)
        actions: dict[tuple[int, int], tuple[int, tuple[str, ...]]] = {}  # (rmid, info) -> what to do
        records = 0
        last_end = scan.start.value
        running, page_images, works = self.running, self.page_images, self.work
        databases_setdefault = self.databases.setdefault
        for raw in scan.raw():
            records += 1
            last_end = raw[1]
            xid, info, rmid, blocks = raw[3], raw[4], raw[5], raw[9]
            if xid:
                running.add(xid)
            action = actions.get((rmid, info))
            if action is None:
                action = actions[(rmid, info)] = _action(fmt.major, rmid, info)
            todo, whats = action
            if todo == _SKIP:
                continue
            if todo == _COUNT:  # the commonest records: the first block's relation (spc, db, rel)
                if blocks and xid:  # (``_count`` inline: no transaction, nothing a commit loses)
                    block = blocks[0]
                    key = (block[3], block[4], block[5])
                    work = works.get(xid)
                    if work is None:
                        work = works[xid] = Counter()
                    for what in whats:
                        work[(key, what)] += 1
                    databases_setdefault(xid, block[4])
            elif todo == _IMAGES:
                page_images.update((b[3], b[4], b[5]) for b in blocks)
            elif todo == _XACT:
                rec, main_len = raw[13], raw[8]
                self._transaction(whats[0], info & XLR_RMGR_INFO_MASK, rec[len(rec) - main_len:] if main_len else b"",
                                  xid, raw[0])
            else:
                self._record(wal_record(raw, fmt))
        end = scan.end_of_wal
        why = None if end is None or end.reached_end else end.reason
        return (end.lsn if end is not None else LSN(last_end)), records, why

    def _record(self, r: WalRecord) -> None:
        xid = r.xid
        if xid:
            self.running.add(xid)
        rmgr, kind = r.rmgr, r.type
        event = HEAP_EVENTS.get((rmgr, kind))
        if event is not None and r.blocks:
            key = r.blocks[0].locator
            if event == "multi_insert":
                self._count(xid, key, "inserts", multi_insert_count(r.main_data))
            elif event == "hot_update":
                self._count(xid, key, "updates")
                self._count(xid, key, "hot_updates")
            else:
                self._count(xid, key, event + "s")
        elif rmgr in INDEX_RMGRS and r.blocks:
            self._count(xid, r.blocks[0].locator, "index_changes")
        elif rmgr == "Transaction":
            self._transaction(kind, r.rmgr_info, r.main_data, xid, r.lsn.value)
        elif rmgr == "Storage":
            self._storage(r)
        elif rmgr == "Heap" and kind == "TRUNCATE":
            database, oids = heap_truncate(r.main_data)
            self.pending_oids.setdefault(xid, []).extend((database, oid) for oid in oids)
        elif rmgr == "Sequence" and r.blocks:
            self.sequences[r.blocks[0].locator] += 1
        elif rmgr == "LogicalMessage":
            message = logical_message(r.main_data)
            self.messages.append((r.lsn, xid, message))
            if xid:
                self.databases.setdefault(xid, message.database)
        elif rmgr == "Database":
            what = "created" if kind in DATABASE_CREATES else "dropped" if kind == "DROP" else None
            if what is not None:
                self.database_events.append((what, database_id(r.main_data), r.lsn, xid))
        elif (rmgr, kind) in IMAGE_RECORDS:
            self.page_images.update(b.locator for b in r.blocks)

    def _count(self, xid: int, key: _Key, what: str, n: int = 1) -> None:
        if not xid:
            return  # no transaction (VACUUM's index work): nothing a commit loses
        work = self.work.get(xid)
        if work is None:  # (setdefault would build a Counter for every record)
            work = self.work[xid] = Counter()
        work[(key, what)] += n
        self.databases.setdefault(xid, key[1])

    def _storage(self, r: WalRecord) -> None:
        if r.type == "CREATE":
            key, fork = smgr_create(r.main_data)
            if fork == 0:
                self.created.setdefault(key, r.xid)
                self.created_by.setdefault(r.xid, set()).add(key)
        elif r.type == "TRUNCATE" and r.xid:
            # in a transaction: TRUNCATE of a table created in it (VACUUM's truncation has no xid)
            key, _blocks = smgr_truncate(r.main_data)
            self.pending_oids.setdefault(r.xid, [])
            self.work.setdefault(r.xid, Counter())[(key, "truncated")] += 1

    def _transaction(self, kind: str, rmgr_info: int, main_data: bytes, xid: int, lsn: int) -> None:
        """A Transaction record of type ``kind`` (its fields as ``WalRecord`` has them, ``lsn`` an
        integer): read straight from the reader's tuple, a commit every few records of OLTP WAL."""
        if kind in ("COMMIT", "COMMIT_PREPARED", "ABORT", "ABORT_PREPARED"):
            commit = kind.startswith("COMMIT")
            end = parse_xact_end(main_data, rmgr_info, self.layouts, commit=commit)
            top = end.twophase_xid if end.twophase_xid is not None else xid
            xids = (top, *end.subxids)
            if commit:
                self._commit(top, xids, end, LSN(lsn))
            else:
                self._abort(top, xids, end)
        elif kind == "PREPARE":
            prepare = parse_prepare(main_data, self.layouts)
            self.prepared[prepare.xid] = (prepare.database, prepare.gid, prepare.prepared_at)

    def _commit(self, top: int, xids: Sequence[int], end: XactEnd, lsn: LSN) -> None:
        files: set[_Key] = set()
        top_database = self.databases.get(top)
        for xid in xids:
            self.running.discard(xid)
            self.databases.pop(xid, None)
            self.committed_xids.add(xid)
            work = self.work.pop(xid, None)
            if work is not None:
                for (key, what), n in work.items():
                    if what == "truncated":
                        self.truncated.add(key)
                        continue
                    self.committed_work[(key, what)] += n
                    files.add(key)
            self.truncated_oids.update(self.pending_oids.pop(xid, ()))
            created = self.created_by.pop(xid, None)  # CREATE TABLE, TRUNCATE, a rewrite: tables it changed
            if created is not None:
                files |= created
        files |= set(end.dropped)  # and DROP TABLE
        self.dropped.update(end.dropped)
        database = end.database
        if database is None:
            prepared = self.prepared.get(top)
            database = prepared[0] if prepared else top_database
            if database is None:
                database = next((k[1] for k in files), None)
        self.prepared.pop(top, None)
        if database != end.database:  # (evolve copies: most commit records name their database)
            end = attrs.evolve(end, database=database)
        self.committed_count += 1
        at = end.time
        if self.first_commit_time is None or at < self.first_commit_time:
            self.first_commit_time = at
        if self.last_commit_time is None or at > self.last_commit_time:
            self.last_commit_time = at
        if self.listed is None or len(self.committed) < self.listed:
            self.committed.append((top, end, lsn))
            frozen = frozenset(files)  # most transactions change the same few files: kept once
            self.touched[top] = self._file_sets.setdefault(frozen, frozen)

    def _abort(self, top: int, xids: Sequence[int], end: XactEnd) -> None:
        self.aborted += 1
        self.prepared.pop(top, None)
        for xid in xids:
            self.running.discard(xid)
            self.databases.pop(xid, None)
            self.created_by.pop(xid, None)  # its files are removed again (``aborted_files``)
            self.aborted_xids.add(xid)
            for (key, what), n in self.work.pop(xid, Counter()).items():
                if what != "truncated":
                    self.aborted_work[(key, what)] += n
            self.pending_oids.pop(xid, None)
        self.aborted_files.update(end.dropped)  # an abort removes the files its transaction created

    # -- the report --------------------------------------------------------------------------------

    def keys(self) -> set[RelationKey]:
        """Every relation file the report names: (database, tablespace, relfilenode)."""
        files = {k for k, _ in self.committed_work} | {k for k, _ in self.aborted_work}
        files |= set(self.sequences) | self.dropped | self.truncated | set(self.created)
        return {RelationKey(db, spc, rel) for spc, db, rel in files}

    def fresh(self) -> set[RelationKey]:
        """The relation files created after the divergence (the source may use their numbers otherwise)."""
        return {RelationKey(db, spc, rel) for spc, db, rel in self.created}

    def in_progress(self) -> int:
        """Transactions seen that neither ended nor were prepared (an xid seen again after its end
        is not counted: it ended)."""
        committed, aborted, prepared = self.committed_xids, self.aborted_xids, self.prepared
        return sum(1 for xid in self.running if xid not in committed and xid not in aborted and xid not in prepared)

    def report(self, divergence: Divergence, promoted: datetime.datetime | None, names: Names, end: LSN,
               records: int, why: str | None) -> DiscardedWork:
        committed = tuple(self._committed(names))
        relations, unnamed = self._relations(self.committed_work, names, ddl=True)
        aborted_relations, more_unnamed = self._relations(self.aborted_work, names, ddl=False)
        seen_unnamed = {(u.database_oid, u.relfilenode) for u in unnamed}
        unnamed += [u for u in more_unnamed if (u.database_oid, u.relfilenode) not in seen_unnamed]
        return DiscardedWork(
            from_lsn=divergence.lsn, to_lsn=end, timeline=divergence.target_timeline, source_promoted_at=promoted,
            committed=committed,
            prepared=tuple(PreparedTransaction(xid, gid, at, db, names.database(db))
                           for xid, (db, gid, at) in sorted(self.prepared.items())),
            aborted=self.aborted, in_progress=self.in_progress(),
            relations=tuple(relations), aborted_relations=tuple(aborted_relations),
            unnamed_relations=tuple(sorted(unnamed, key=lambda u: (u.database_oid, u.relfilenode))),
            sequences=tuple(self._sequences(names)), logical_messages=tuple(self._messages()),
            databases=tuple(DatabaseEvent(what, db, names.database(db), lsn)
                            for what, db, lsn, _xid in self.database_events),
            names_from=names.origin, end_of_wal=why, records_read=records, committed_count=self.committed_count,
            first_commit_time=self.first_commit_time, last_commit_time=self.last_commit_time,
        )

    def _committed(self, names: Names) -> Iterable[CommittedTransaction]:
        tables_of: dict[frozenset[_Key], tuple[str, ...]] = {}  # per distinct set of files, named once
        for top, end, lsn in self.committed:
            files = self.touched.get(top, frozenset())
            tables = tables_of.get(files)
            if tables is None:
                tables = tables_of[files] = tuple(sorted({n for n in (names.table(_rkey(k)) for k in files) if n}))
            yield CommittedTransaction(
                xid=top, commit_time=end.time, lsn=lsn, database_oid=end.database,
                database=names.database(end.database) if end.database is not None else None,
                subxids=end.subxids, relations=tables, gid=end.gid)

    def _relations(self, work: Counter[tuple[_Key, str]], names: Names, *,
                   ddl: bool) -> tuple[list[RelationChanges], list[UnnamedRelation]]:
        files: dict[_Key, Counter[str]] = {}
        for (key, what), n in work.items():
            files.setdefault(key, Counter())[what] += n
        if ddl:
            for key in set(self.created) - self.aborted_files | self.dropped | self.truncated:
                files.setdefault(key, Counter())
        groups: dict[tuple[int, object], list[_Key]] = {}
        unnamed: list[UnnamedRelation] = []
        for key in sorted(files):
            identity = names.identity(_rkey(key))
            if identity is None:
                unnamed.append(UnnamedRelation(key[1], key[2], key[0]))
                identity = ("file", key[2])
            groups.setdefault((key[1], identity), []).append(key)
        out = []
        for (db, _identity), keys in groups.items():
            counts: Counter[str] = Counter()
            for key in keys:
                counts.update(files[key])
            out.append(self._changes(db, keys, counts, names, ddl))
        out.sort(key=lambda c: (c.database or "", c.name or "", c.relation or "", c.relfilenode))
        return out, unnamed

    def _changes(self, db: int, keys: list[_Key], counts: Counter[str], names: Names, ddl: bool) -> RelationChanges:
        first = _rkey(keys[0])
        created_files = {k for k in keys if k in self.created and k not in self.aborted_files}
        dropped_files = {k for k in keys if k in self.dropped}
        surviving_new = created_files - dropped_files
        existed = names.existed_before(first) if names.identity(first) is not None else not created_files
        oid = names.oid(first)
        by_oid = oid is not None and (db, oid) in self.truncated_oids
        replaced = bool(dropped_files and surviving_new)
        rewritten = ddl and replaced and bool(surviving_new & self.page_images)
        return RelationChanges(
            name=names.table(first), relation=names.relation(first), kind=names.kind(first), database_oid=db,
            database=names.database(db), relfilenode=keys[0][2], relfilenodes=tuple(k[2] for k in keys),
            inserts=counts["inserts"], updates=counts["updates"], hot_updates=counts["hot_updates"],
            deletes=counts["deletes"], index_changes=counts["index_changes"],
            truncated=ddl and (by_oid or any(k in self.truncated for k in keys) or (replaced and not rewritten)),
            created=ddl and bool(created_files) and not existed,
            dropped=ddl and bool(dropped_files) and not surviving_new,
            rewritten=rewritten,
        )

    def _sequences(self, names: Names) -> Iterable[SequenceAdvance]:
        for key, n in sorted(self.sequences.items()):
            rk = _rkey(key)
            yield SequenceAdvance(names.relation(rk), key[1], names.database(key[1]), key[2], n)

    def _messages(self) -> Iterable[LogicalMessage]:
        for lsn, xid, message in self.messages:
            if not message.transactional:
                outcome = "not transactional"
            elif xid in self.committed_xids:
                outcome = "committed"
            elif xid in self.aborted_xids:
                outcome = "aborted"
            else:
                outcome = "in progress"
            yield LogicalMessage(prefix=message.prefix, transactional=message.transactional, xid=xid or None,
                                 lsn=lsn, database_oid=message.database, size=message.size, outcome=outcome)


def _rkey(key: _Key) -> RelationKey:
    return RelationKey(key[1], key[0], key[2])
