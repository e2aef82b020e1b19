"""Catalogue heap files read without a server: heap pages and tuple headers (``bufpage.h``,
``htup_details.h``), the relation mapper's ``pg_filenode.map``, the commit log (``pg_xact``) and
the columns of ``pg_class``, ``pg_namespace``, ``pg_database`` and ``pg_index`` the discarded-work
report names relations with. Where columns sit is per major (``majors/records.py``); this module
only decodes bytes it is given, and judges no visibility (the caller knows which transactions
matter)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

import attrs

from pgrewindkit.majors.records import (
    CLOG_PAGES_PER_SEGMENT,
    CLOG_XACTS_PER_PAGE,
    HEAP_HASOID,
    ITEM_ID_SIZE,
    LP_NORMAL,
    PAGE_HEADER_SIZE,
    PAGE_LOWER_OFFSET,
    RELMAP_MAGIC,
    TUPLE_HOFF_OFFSET,
    TUPLE_INFOMASK_OFFSET,
    TUPLE_XMAX_OFFSET,
    TUPLE_XMIN_OFFSET,
    CatalogLayout,
)

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
NAMEDATALEN = 64


@attrs.frozen
class HeapTuple:
    """One tuple of a heap page: its header's transaction fields, its OID when the header holds
    one (until 11), and its data from ``t_hoff``."""

    xmin: int
    xmax: int
    infomask: int
    header_oid: int | None
    data: bytes = attrs.field(repr=False)


def heap_tuples(data: bytes, blcksz: int) -> Iterator[HeapTuple]:
    """Every normal line pointer's tuple in a heap file's pages (pages that make no sense skipped:
    a torn or zeroed page names nothing)."""
    for page_start in range(0, len(data) - blcksz + 1, blcksz):
        lower = _U16.unpack_from(data, page_start + PAGE_LOWER_OFFSET)[0]
        if lower < PAGE_HEADER_SIZE or lower > blcksz:
            continue
        for item in range(page_start + PAGE_HEADER_SIZE, page_start + lower, ITEM_ID_SIZE):
            word = _U32.unpack_from(data, item)[0]
            offset, flags, length = word & 0x7FFF, (word >> 15) & 0x3, word >> 17
            if flags != LP_NORMAL or offset + length > blcksz or length < TUPLE_HOFF_OFFSET + 1:
                continue
            start = page_start + offset
            xmin = _U32.unpack_from(data, start + TUPLE_XMIN_OFFSET)[0]
            xmax = _U32.unpack_from(data, start + TUPLE_XMAX_OFFSET)[0]
            infomask = _U16.unpack_from(data, start + TUPLE_INFOMASK_OFFSET)[0]
            hoff = data[start + TUPLE_HOFF_OFFSET]
            if hoff > length:
                continue
            oid = _U32.unpack_from(data, start + hoff - 4)[0] if infomask & HEAP_HASOID and hoff >= 4 else None
            yield HeapTuple(xmin, xmax, infomask, oid, bytes(data[start + hoff:start + length]))


def relation_map(data: bytes) -> dict[int, int]:
    """``pg_filenode.map``: the mapped catalogues' OID to relation file number."""
    if len(data) < 8:
        return {}
    magic, count = struct.unpack_from("<ii", data, 0)
    if magic != RELMAP_MAGIC or count < 0 or 8 + 8 * count > len(data):
        return {}
    pairs = struct.unpack_from(f"<{2 * count}I", data, 8)
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


CLOG_IN_PROGRESS, CLOG_COMMITTED, CLOG_ABORTED, CLOG_SUB_COMMITTED = 0, 1, 2, 3


class CommitLog:
    """``TransactionIdGetStatus`` from the commit log's segment files (``read(name)``: a segment's
    bytes, None when it is not there); None for what cannot be told."""

    def __init__(self, read: Callable[[str], bytes | None]) -> None:
        self._read = read
        self._segments: dict[int, bytes | None] = {}

    def status(self, xid: int) -> int | None:
        page = xid // CLOG_XACTS_PER_PAGE
        segment = page // CLOG_PAGES_PER_SEGMENT
        if segment not in self._segments:
            self._segments[segment] = self._read(f"{segment:04X}")
        data = self._segments[segment]
        byte = (page % CLOG_PAGES_PER_SEGMENT) * (CLOG_XACTS_PER_PAGE // 4) + (xid % CLOG_XACTS_PER_PAGE) // 4
        if data is None or byte >= len(data):
            return None
        return (data[byte] >> ((xid % 4) * 2)) & 0x3


def _name(data: bytes, offset: int) -> str:
    raw = data[offset:offset + NAMEDATALEN]
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _oid(tup: HeapTuple, layout: CatalogLayout) -> int | None:
    if layout.oid_in_header:
        return tup.header_oid
    return int(_U32.unpack_from(tup.data, 0)[0]) if len(tup.data) >= 4 else None


@attrs.frozen
class ClassRow:
    """The ``pg_class`` columns that name a relation file, with the tuple's header."""

    oid: int
    name: str
    namespace: int
    filenode: int  # 0 for a mapped catalogue (see ``pg_filenode.map``)
    tablespace: int
    toast: int
    shared: bool
    kind: str
    tuple: HeapTuple


def class_rows(data: bytes, layout: CatalogLayout, blcksz: int) -> list[ClassRow]:
    rows = []
    for tup in heap_tuples(data, blcksz):
        oid = _oid(tup, layout)
        d = tup.data
        if oid is None or len(d) <= layout.class_relkind:
            continue
        rows.append(ClassRow(
            oid=oid, name=_name(d, layout.class_relname),
            namespace=_U32.unpack_from(d, layout.class_relnamespace)[0],
            filenode=_U32.unpack_from(d, layout.class_relfilenode)[0],
            tablespace=_U32.unpack_from(d, layout.class_reltablespace)[0],
            toast=_U32.unpack_from(d, layout.class_reltoastrelid)[0],
            shared=bool(d[layout.class_relisshared]), kind=chr(d[layout.class_relkind]), tuple=tup,
        ))
    return rows


@attrs.frozen
class NamedRow:
    """A catalogue row that gives a name to an OID (``pg_namespace``, ``pg_database``)."""

    oid: int
    name: str
    tuple: HeapTuple


def named_rows(data: bytes, layout: CatalogLayout, name_offset: int, blcksz: int) -> list[NamedRow]:
    rows = []
    for tup in heap_tuples(data, blcksz):
        oid = _oid(tup, layout)
        if oid is not None and len(tup.data) >= name_offset + 1:
            rows.append(NamedRow(oid, _name(tup.data, name_offset), tup))
    return rows


def index_rows(data: bytes, layout: CatalogLayout, blcksz: int) -> list[tuple[int, int, HeapTuple]]:
    """``pg_index``: (indexrelid, indrelid, tuple)."""
    rows = []
    for tup in heap_tuples(data, blcksz):
        if len(tup.data) >= layout.index_indrelid + 4:
            rows.append((_U32.unpack_from(tup.data, layout.index_indexrelid)[0],
                         _U32.unpack_from(tup.data, layout.index_indrelid)[0], tup))
    return rows
