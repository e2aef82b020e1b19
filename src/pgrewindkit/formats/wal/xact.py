"""Transaction records' payloads: commit and abort (``ParseCommitRecord``/``ParseAbortRecord``),
PREPARE (``TwoPhaseFileHeader``), and the timestamps PostgreSQL writes (``TimestampTz``, the
end-of-recovery record's ``end_time``). Layouts per major come from ``majors/records.py``."""

from __future__ import annotations

import datetime
import struct

import attrs

from pgrewindkit.errors import FormatError
from pgrewindkit.formats import crc
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.decode import DecodeError, record_decoder
from pgrewindkit.formats.wal.reader import RawRecord
from pgrewindkit.formats.wal.records import WalRecord, wal_record
from pgrewindkit.majors.layouts.xlog import (
    CRC_OFFSET,
    SIZE_OF_LONG_PHD,
    SIZE_OF_RECORD,
    SIZE_OF_SHORT_PHD,
    XLP_LONG_HEADER,
)
from pgrewindkit.majors.records import (
    SIZE_OF_INVAL_MESSAGE,
    SIZE_OF_RELFILENODE,
    XACT_XINFO_HAS_DBINFO,
    XACT_XINFO_HAS_DROPPED_STATS,
    XACT_XINFO_HAS_GID,
    XACT_XINFO_HAS_INVALS,
    XACT_XINFO_HAS_RELFILENODES,
    XACT_XINFO_HAS_SUBXACTS,
    XACT_XINFO_HAS_TWOPHASE,
    XLOG_XACT_HAS_INFO,
    RecordLayouts,
)
from pgrewindkit.majors.wal import WalFormat

POSTGRES_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_LOCATOR = struct.Struct("<III")


def timestamptz(microseconds: int) -> datetime.datetime:
    """A ``TimestampTz`` (microseconds since 2000-01-01 UTC) as an aware UTC datetime."""
    return POSTGRES_EPOCH + datetime.timedelta(microseconds=microseconds)


@attrs.frozen
class XactEnd:
    """A commit or abort record's payload, as ``ParseCommitRecord``/``ParseAbortRecord`` read it."""

    time: datetime.datetime
    database: int | None  # xl_xact_dbinfo's dbId, when the record carries it
    subxids: tuple[int, ...]
    dropped: tuple[tuple[int, int, int], ...]  # relation files removed at commit (or abort): spc, db, rel
    twophase_xid: int | None  # COMMIT/ABORT PREPARED: the prepared transaction's xid
    gid: str | None


def _need(data: bytes, pos: int, size: int, what: str) -> None:
    if size < 0 or pos + size > len(data):
        raise FormatError(f"{what} record is truncated: {len(data)} bytes, needs {pos + size}")


def _items(data: bytes, pos: int, item_size: int, what: str) -> int:
    """The count of an array that starts at ``pos`` (an int32, then the items), checked to fit."""
    _need(data, pos, 4, what)
    count = int(_I32.unpack_from(data, pos)[0])
    _need(data, pos + 4, item_size * count, what)
    return count


def parse_xact_end(data: bytes, rmgr_info: int, layouts: RecordLayouts, *, commit: bool) -> XactEnd:
    """``data``: a COMMIT, COMMIT_PREPARED, ABORT or ABORT_PREPARED record's main data;
    ``rmgr_info``: its ``xl_info`` without the generic bits."""
    what = "commit" if commit else "abort"
    _need(data, 0, 8, what)
    time = timestamptz(_I64.unpack_from(data, 0)[0])
    pos = 8
    xinfo = 0
    if rmgr_info & XLOG_XACT_HAS_INFO:
        _need(data, pos, 4, what)
        xinfo = _U32.unpack_from(data, pos)[0]
        pos += 4
    database = None
    if xinfo & XACT_XINFO_HAS_DBINFO and (commit or layouts.abort_has_dbinfo):
        _need(data, pos, 8, what)
        database = _U32.unpack_from(data, pos)[0]
        pos += 8
    subxids: tuple[int, ...] = ()
    if xinfo & XACT_XINFO_HAS_SUBXACTS:
        count = _items(data, pos, 4, what)
        subxids = struct.unpack_from(f"<{count}I", data, pos + 4)
        pos += 4 + 4 * count
    dropped: list[tuple[int, int, int]] = []
    if xinfo & XACT_XINFO_HAS_RELFILENODES:
        count = _items(data, pos, SIZE_OF_RELFILENODE, what)
        dropped = [_LOCATOR.unpack_from(data, pos + 4 + SIZE_OF_RELFILENODE * i) for i in range(count)]
        pos += 4 + SIZE_OF_RELFILENODE * count
    if xinfo & XACT_XINFO_HAS_DROPPED_STATS and layouts.stats_item_size:
        pos += 4 + layouts.stats_item_size * _items(data, pos, layouts.stats_item_size, what)
    if commit and xinfo & XACT_XINFO_HAS_INVALS:
        pos += 4 + SIZE_OF_INVAL_MESSAGE * _items(data, pos, SIZE_OF_INVAL_MESSAGE, what)
    twophase_xid = gid = None
    if xinfo & XACT_XINFO_HAS_TWOPHASE:
        _need(data, pos, 4, what)
        twophase_xid = _U32.unpack_from(data, pos)[0]
        pos += 4
        if xinfo & XACT_XINFO_HAS_GID:
            gid = _c_string(data, pos)
    return XactEnd(time, database, tuple(subxids), tuple(dropped), twophase_xid, gid)


def _c_string(data: bytes, pos: int) -> str:
    end = data.find(b"\0", pos)
    return data[pos:end if end >= 0 else len(data)].decode("utf-8", "replace")


@attrs.frozen
class Prepare:
    """A PREPARE record's ``TwoPhaseFileHeader``: the transaction, its database and GID."""

    xid: int
    database: int
    prepared_at: datetime.datetime
    gid: str


def _maxalign(value: int) -> int:
    return (value + 7) & ~7


def parse_prepare(data: bytes, layouts: RecordLayouts) -> Prepare:
    _need(data, 0, layouts.twophase_header_size, "prepare")
    xid, database = struct.unpack_from("<II", data, 8)
    prepared_at = timestamptz(_I64.unpack_from(data, 16)[0])
    if layouts.twophase_fixed_gid is not None:
        offset, size = layouts.twophase_fixed_gid
        gid = _c_string(data[: offset + size], offset)
    else:
        assert layouts.twophase_gidlen_offset is not None
        length = struct.unpack_from("<H", data, layouts.twophase_gidlen_offset)[0]
        start = _maxalign(layouts.twophase_header_size)
        _need(data, start, length, "prepare")
        gid = _c_string(data[: start + length], start)
    return Prepare(xid, database, prepared_at, gid)


def end_of_recovery_time(data: bytes) -> datetime.datetime:
    """``xl_end_of_recovery.end_time`` (first in the record in every major)."""
    _need(data, 0, 8, "end-of-recovery")
    return timestamptz(_I64.unpack_from(data, 0)[0])


def after_page_header(lsn: LSN, segment_size: int, blcksz: int = 8192) -> LSN:
    """Where the record that begins at ``lsn`` really starts: past the page header when ``lsn``
    is a page boundary (a timeline switchpoint often is)."""
    if lsn.value % blcksz:
        return lsn
    return lsn + (SIZE_OF_LONG_PHD if lsn.segment_offset(segment_size) == 0 else SIZE_OF_SHORT_PHD)


def switch_record_time(record: WalRecord) -> datetime.datetime | None:
    """The time a timeline's first record gives: an end-of-recovery record's ``end_time``, or a
    checkpoint's ``time`` (whole seconds) when the promotion wrote a checkpoint instead."""
    if record.rmgr != "XLOG":
        return None
    if record.type == "END_OF_RECOVERY":
        return end_of_recovery_time(record.main_data)
    if record.is_checkpoint:
        return datetime.datetime.fromtimestamp(record.checkpoint().time, tz=datetime.timezone.utc)
    return None


def record_from_pages(pages: bytes, first_page: LSN, lsn: LSN, fmt: WalFormat, *, timeline: int,
                      blcksz: int = 8192) -> WalRecord | None:
    """The one record at ``lsn`` in ``pages`` (consecutive WAL pages from ``first_page``, as a
    server's ``pg_read_binary_file`` returns them): its pieces put together across page headers,
    its CRC checked; None when the bytes do not hold a valid record there."""
    structs = fmt.structs
    start = lsn.value - first_page.value
    if start < 0 or start + SIZE_OF_RECORD > len(pages):
        return None
    tot_len, xid, prev, info, rmid, xl_crc = structs.record_header.unpack_from(pages, start)
    if tot_len < SIZE_OF_RECORD:
        return None
    parts = []
    pos, need = start, tot_len
    while need > 0:
        page_end = (pos // blcksz + 1) * blcksz
        take = min(need, page_end - pos)
        if pos + take > len(pages):
            return None
        parts.append(pages[pos:pos + take])
        need -= take
        pos = page_end
        if need > 0:
            if pos + SIZE_OF_SHORT_PHD > len(pages):
                return None
            page_info = structs.page_header.unpack_from(pages, pos)[1]
            pos += SIZE_OF_LONG_PHD if page_info & XLP_LONG_HEADER else SIZE_OF_SHORT_PHD
    rec = b"".join(parts)
    if crc.extend(crc.extend(0, rec[SIZE_OF_RECORD:]), rec[:CRC_OFFSET]) != xl_crc:
        return None
    try:
        fpi_len, main_len, blocks, origin, toplevel_xid = record_decoder(fmt, blcksz)(rec, True)
    except DecodeError:
        return None
    end = lsn.value + ((tot_len + 7) & ~7)
    raw: RawRecord = (lsn.value, end, prev, xid, info, rmid, tot_len, fpi_len, main_len, blocks, origin,
                      toplevel_xid, timeline, rec)
    return wal_record(raw, fmt)
