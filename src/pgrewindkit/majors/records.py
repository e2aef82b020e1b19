"""What the discarded-work report (issue 15) reads in records and catalogue pages, per major: the
layouts of transaction, two-phase and logical-message payloads, and where ``pg_class``,
``pg_namespace``, ``pg_database`` and ``pg_index`` keep the columns it needs. One explicit row per
major; the record *types* are told apart by pg_waldump's names (``rmgr_names.json``), which are
themselves per major.

Sources: ``access/xact.h`` and ``rmgrdesc/xactdesc.c`` (``ParseCommitRecord``/``ParseAbortRecord``),
``transam/twophase.c`` (``TwoPhaseFileHeader``), ``replication/message.h``, ``catalog/pg_class.h``,
``pg_namespace.h``, ``pg_database.h``, ``pg_index.h``, ``storage/bufpage.h``, ``access/htup_details.h``.
"""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions

# xl_xact_xinfo bits (the same bit for the same thing in every major that has it)
XACT_XINFO_HAS_DBINFO = 1 << 0
XACT_XINFO_HAS_SUBXACTS = 1 << 1
XACT_XINFO_HAS_RELFILENODES = 1 << 2
XACT_XINFO_HAS_INVALS = 1 << 3
XACT_XINFO_HAS_TWOPHASE = 1 << 4
XACT_XINFO_HAS_ORIGIN = 1 << 5
XACT_XINFO_HAS_AE_LOCKS = 1 << 6
XACT_XINFO_HAS_GID = 1 << 7
XACT_XINFO_HAS_DROPPED_STATS = 1 << 8
XLOG_XACT_HAS_INFO = 0x80
SIZE_OF_RELFILENODE = 12  # RelFileNode / RelFileLocator: spcOid, dbOid, relNumber
SIZE_OF_INVAL_MESSAGE = 16  # SharedInvalidationMessage
SIZE_OF_XACT_ORIGIN = 16  # xl_xact_origin: origin_lsn, origin_timestamp

# Page and heap tuple headers (bufpage.h, htup_details.h): the same from 8.3 to 18
PAGE_HEADER_SIZE = 24  # SizeOfPageHeaderData: line pointers follow
PAGE_LOWER_OFFSET = 12  # pd_lower
ITEM_ID_SIZE = 4
LP_NORMAL = 1
TUPLE_XMIN_OFFSET = 0
TUPLE_XMAX_OFFSET = 4
TUPLE_INFOMASK_OFFSET = 20
TUPLE_HOFF_OFFSET = 22
HEAP_HASOID = 0x0008  # until 11: the OID sits just before t_hoff
HEAP_XMAX_LOCK_ONLY = 0x0080
HEAP_XMIN_COMMITTED = 0x0100
HEAP_XMIN_INVALID = 0x0200
HEAP_XMAX_COMMITTED = 0x0400
HEAP_XMAX_INVALID = 0x0800
HEAP_XMAX_IS_MULTI = 0x1000
FROZEN_XID = 2
RELMAP_MAGIC = 0x592717  # pg_filenode.map: magic, num_mappings, then (oid, filenode) pairs
CLOG_XACTS_PER_PAGE = 8192 * 4
CLOG_PAGES_PER_SEGMENT = 32

# Catalogue OIDs (fixed since they were created)
PG_CLASS_OID = 1259
PG_DATABASE_OID = 1262
PG_NAMESPACE_OID = 2615
PG_INDEX_OID = 2610


@attrs.frozen
class RecordLayouts:
    """Where the payloads the report reads keep their fields, in one major."""

    major: int
    abort_has_dbinfo: bool  # ParseAbortRecord reads xl_xact_dbinfo (11+)
    stats_item_size: int  # xl_xact_stats_item (15+: dropped statistics; 18: a 64-bit object id); 0: none
    # TwoPhaseFileHeader, the PREPARE record's main data: its size and, before 10, where the fixed
    # gid[200] is; from 10 where gidlen is (the GID follows the MAXALIGNed header)
    twophase_header_size: int
    twophase_gidlen_offset: int | None
    twophase_fixed_gid: tuple[int, int] | None  # (offset, size) of char gid[GIDSIZE]
    logical_messages: bool  # the LogicalMessage resource manager (9.6+)


@attrs.frozen
class CatalogLayout:
    """Where the columns the names come from sit in a catalogue tuple's data (from ``t_hoff``);
    ``oid_in_header``: until 11 the row's OID is a system column kept in the tuple header."""

    major: int
    oid_in_header: bool
    class_relname: int
    class_relnamespace: int
    class_relfilenode: int
    class_reltablespace: int
    class_reltoastrelid: int
    class_relisshared: int
    class_relkind: int
    namespace_nspname: int
    database_datname: int
    index_indexrelid: int
    index_indrelid: int
    clog_directory: str  # pg_clog until 9.6, pg_xact from 10


def _records(major: int, *, abort_dbinfo: bool, stats: int, header: int, gidlen: int | None,
             fixed_gid: tuple[int, int] | None, messages: bool = True) -> RecordLayouts:
    return RecordLayouts(major, abort_dbinfo, stats, header, gidlen, fixed_gid, messages)


# 9.5: gid[200] at offset 45 after initfileinval; 9.6 and 10: gidlen at 46 (header 48; the GID follows
# it, 9.6.0's twophase.c); 11-14: + origin
# LSN and time (64); 15-17: + ncommitstats/nabortstats before ninvalmsgs (72); 18: stats items of 16 bytes.
RECORD_LAYOUTS: dict[int, RecordLayouts] = {
    95: _records(95, abort_dbinfo=False, stats=0, header=248, gidlen=None, fixed_gid=(45, 200), messages=False),
    96: _records(96, abort_dbinfo=False, stats=0, header=48, gidlen=46, fixed_gid=None),
    10: _records(10, abort_dbinfo=False, stats=0, header=48, gidlen=46, fixed_gid=None),
    11: _records(11, abort_dbinfo=True, stats=0, header=64, gidlen=46, fixed_gid=None),
    12: _records(12, abort_dbinfo=True, stats=0, header=64, gidlen=46, fixed_gid=None),
    13: _records(13, abort_dbinfo=True, stats=0, header=64, gidlen=46, fixed_gid=None),
    14: _records(14, abort_dbinfo=True, stats=0, header=64, gidlen=46, fixed_gid=None),
    15: _records(15, abort_dbinfo=True, stats=12, header=72, gidlen=54, fixed_gid=None),
    16: _records(16, abort_dbinfo=True, stats=12, header=72, gidlen=54, fixed_gid=None),
    17: _records(17, abort_dbinfo=True, stats=12, header=72, gidlen=54, fixed_gid=None),
    18: _records(18, abort_dbinfo=True, stats=16, header=72, gidlen=54, fixed_gid=None),
}

# Until 11: relname first, the OID in the header. 12-17: oid, relname, ... 18: relallfrozen before
# reltoastrelid moves it and what follows by 4.
_UNTIL_11 = CatalogLayout(0, oid_in_header=True, class_relname=0, class_relnamespace=64, class_relfilenode=84,
                          class_reltablespace=88, class_reltoastrelid=104, class_relisshared=109, class_relkind=111,
                          namespace_nspname=0, database_datname=0, index_indexrelid=0, index_indrelid=4,
                          clog_directory="pg_xact")
_FROM_12 = attrs.evolve(_UNTIL_11, oid_in_header=False, class_relname=4, class_relnamespace=68, class_relfilenode=88,
                        class_reltablespace=92, class_reltoastrelid=108, class_relisshared=113, class_relkind=115,
                        namespace_nspname=4, database_datname=4)
_FROM_18 = attrs.evolve(_FROM_12, class_reltoastrelid=112, class_relisshared=117, class_relkind=119)

CATALOG_LAYOUTS: dict[int, CatalogLayout] = {
    95: attrs.evolve(_UNTIL_11, major=95, clog_directory="pg_clog"),
    96: attrs.evolve(_UNTIL_11, major=96, clog_directory="pg_clog"),
    10: attrs.evolve(_UNTIL_11, major=10),
    11: attrs.evolve(_UNTIL_11, major=11),
    12: attrs.evolve(_FROM_12, major=12),
    13: attrs.evolve(_FROM_12, major=13),
    14: attrs.evolve(_FROM_12, major=14),
    15: attrs.evolve(_FROM_12, major=15),
    16: attrs.evolve(_FROM_12, major=16),
    17: attrs.evolve(_FROM_12, major=17),
    18: attrs.evolve(_FROM_18, major=18),
}


def record_layouts(major: int) -> RecordLayouts:
    return versions.lookup(RECORD_LAYOUTS, major, "WAL payload layouts")


def catalog_layout(major: int) -> CatalogLayout:
    return versions.lookup(CATALOG_LAYOUTS, major, "catalogue layouts")


# What each record type means to the report, by pg_waldump's (resource manager, type) names;
# "+INIT" variants are the same operation on a fresh page.
HEAP_EVENTS: dict[tuple[str, str], str] = {
    ("Heap", "INSERT"): "insert", ("Heap", "INSERT+INIT"): "insert",
    ("Heap2", "MULTI_INSERT"): "multi_insert", ("Heap2", "MULTI_INSERT+INIT"): "multi_insert",
    ("Heap", "UPDATE"): "update", ("Heap", "UPDATE+INIT"): "update",
    ("Heap", "HOT_UPDATE"): "hot_update", ("Heap", "HOT_UPDATE+INIT"): "hot_update",
    ("Heap", "DELETE"): "delete",
}
INDEX_RMGRS = frozenset({"Btree", "Hash", "Gin", "Gist", "SPGist", "BRIN"})
# records whose blocks only say a relation file got page images (the truncate/rewrite heuristic)
IMAGE_RECORDS = frozenset({("XLOG", "FPI"), ("Heap2", "REWRITE")})
# resource managers of which only HEAP_EVENTS and IMAGE_RECORDS matter: the rest need no decoding
ONLY_EVENTS_RMGRS = frozenset({"XLOG", "Heap2"})
DATABASE_CREATES = frozenset({"CREATE", "CREATE_FILE_COPY", "CREATE_WAL_LOG"})
