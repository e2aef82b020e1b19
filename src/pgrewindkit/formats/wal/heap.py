"""The payloads of the data-changing records the discarded-work report counts: heap multi-insert
(how many tuples), heap TRUNCATE (which relations, by OID), storage CREATE/TRUNCATE (which
relation file), database CREATE/DROP (which database) and logical messages. Their layouts have
not changed from 9.5 to 18 (``heapam_xlog.h``, ``storage_xlog.h``, ``dbcommands_xlog.h``,
``message.h``); what changed is which records exist, told by their names (``majors/``)."""

from __future__ import annotations

import struct

import attrs

from pgrewindkit.errors import FormatError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_LOCATOR = struct.Struct("<III")


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise FormatError(f"{what} record is truncated: {len(data)} bytes, needs {size}")


def multi_insert_count(data: bytes) -> int:
    """``xl_heap_multi_insert.ntuples`` (uint8 flags, then uint16 ntuples)."""
    _need(data, 4, "heap multi-insert")
    return int(_U16.unpack_from(data, 2)[0])


def heap_truncate(data: bytes) -> tuple[int, tuple[int, ...]]:
    """``xl_heap_truncate`` (11+, logical WAL only): the database and the truncated relations' OIDs."""
    _need(data, 12, "heap truncate")
    database, count = struct.unpack_from("<II", data, 0)
    _need(data, 12 + 4 * count, "heap truncate")
    return database, struct.unpack_from(f"<{count}I", data, 12)


def smgr_create(data: bytes) -> tuple[tuple[int, int, int], int]:
    """``xl_smgr_create``: the relation file (spc, db, rel) and the fork created."""
    _need(data, 16, "storage create")
    spc, db, rel, fork = struct.unpack_from("<IIIi", data, 0)
    return (spc, db, rel), fork


def smgr_truncate(data: bytes) -> tuple[tuple[int, int, int], int]:
    """``xl_smgr_truncate``: the relation file (spc, db, rel) and the new length in blocks."""
    _need(data, 16, "storage truncate")
    blkno = _U32.unpack_from(data, 0)[0]
    return _LOCATOR.unpack_from(data, 4), int(blkno)


def database_id(data: bytes) -> int:
    """The database a database CREATE or DROP record is about (``db_id``, first in each)."""
    _need(data, 4, "database")
    return int(_U32.unpack_from(data, 0)[0])


@attrs.frozen
class LogicalMessage:
    """``xl_logical_message``: ``pg_logical_emit_message``'s prefix and payload."""

    database: int
    transactional: bool
    prefix: str
    size: int


def logical_message(data: bytes) -> LogicalMessage:
    """dbId (Oid), transactional (bool), prefix_size and message_size (Size), then both strings."""
    _need(data, 24, "logical message")
    database = _U32.unpack_from(data, 0)[0]
    transactional = bool(data[4])
    prefix_size, message_size = struct.unpack_from("<QQ", data, 8)
    _need(data, 24 + prefix_size, "logical message")
    prefix = data[24:24 + prefix_size].rstrip(b"\0").decode("utf-8", "replace")
    return LogicalMessage(int(database), transactional, prefix, int(message_size))
