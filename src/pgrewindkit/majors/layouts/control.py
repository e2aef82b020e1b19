"""``ControlFileData`` and ``CheckPoint`` per ``pg_control_version``.

Source: src/include/catalog/pg_control.h of each major (CheckPoint is also the main data of
checkpoint WAL records). x86-64 alignment; the CRC covers every byte before ``crc``.
"""

from __future__ import annotations

import attrs

from pgrewindkit.errors import UnsupportedVersionError
from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.ctypes import (
    CType,
    Field,
    bool_,
    char_array,
    double,
    int32,
    int64,
    offset_of,
    struct,
    uint32,
    uint64,
)

PG_CONTROL_FILE_SIZE = 8192  # the file is always this long; the struct is zero-padded to it
FLOATFORMAT_VALUE = 1234567.0  # written into every control file to detect float-format mismatches
MOCK_AUTH_NONCE_LEN = 32

XLogRecPtr = uint64
TimeLineID = uint32
TransactionId = uint32
MultiXactId = uint32
MultiXactOffset = uint32
Oid = uint32
pg_time_t = int64


def checkpoint_fields(*, full_xid: bool, wal_level: bool) -> list[Field]:
    """``CheckPoint``: a 64-bit ``FullTransactionId`` from 12, ``wal_level`` from 17."""
    fields: list[Field] = [
        ("redo", XLogRecPtr),
        ("ThisTimeLineID", TimeLineID),
        ("PrevTimeLineID", TimeLineID),
        ("fullPageWrites", bool_),
    ]
    if wal_level:
        fields.append(("wal_level", int32))
    if full_xid:
        fields.append(("nextXid", uint64))  # FullTransactionId: epoch in the high half
    else:
        fields += [("nextXidEpoch", uint32), ("nextXid", TransactionId)]
    fields += [
        ("nextOid", Oid),
        ("nextMulti", MultiXactId),
        ("nextMultiOffset", MultiXactOffset),
        ("oldestXid", TransactionId),
        ("oldestXidDB", Oid),
        ("oldestMulti", MultiXactId),
        ("oldestMultiDB", Oid),
        ("time", pg_time_t),
        ("oldestCommitTsXid", TransactionId),
        ("newestCommitTsXid", TransactionId),
        ("oldestActiveXid", TransactionId),
    ]
    return fields


@attrs.frozen
class ControlLayout:
    """What differs in ``ControlFileData`` between control versions."""

    control_version: int
    prev_checkpoint: bool  # removed in 11
    full_xid: bool  # CheckPoint.nextXid became 64-bit in 12
    checkpoint_wal_level: bool  # CheckPoint.wal_level from 17
    max_wal_senders: bool  # from 12
    float4_byval: bool  # removed in 13
    default_char_signedness: bool  # from 18
    enable_int_times: bool = False  # enableIntTimes: 9.5 and 9.6 only ("Date/time type storage")
    mock_nonce: bool = True  # mock_authentication_nonce from 10
    # wal_level's stored values, by value: 9.5 still has archive and hot_standby (9.6 made them replica)
    wal_levels: tuple[str, ...] = ("minimal", "replica", "logical")

    @property
    def checkpoint_fields(self) -> list[Field]:
        return checkpoint_fields(full_xid=self.full_xid, wal_level=self.checkpoint_wal_level)

    @property
    def checkpoint(self) -> CType:
        return struct(self.checkpoint_fields)

    @property
    def fields(self) -> list[Field]:
        fields: list[Field] = [
            ("system_identifier", uint64),
            ("pg_control_version", uint32),
            ("catalog_version_no", uint32),
            ("state", int32),
            ("time", pg_time_t),
            ("checkPoint", XLogRecPtr),
        ]
        if self.prev_checkpoint:
            fields.append(("prevCheckPoint", XLogRecPtr))
        fields += [
            ("checkPointCopy", self.checkpoint),
            ("unloggedLSN", XLogRecPtr),
            ("minRecoveryPoint", XLogRecPtr),
            ("minRecoveryPointTLI", TimeLineID),
            ("backupStartPoint", XLogRecPtr),
            ("backupEndPoint", XLogRecPtr),
            ("backupEndRequired", bool_),
            ("wal_level", int32),
            ("wal_log_hints", bool_),
            ("MaxConnections", int32),
            ("max_worker_processes", int32),
        ]
        if self.max_wal_senders:
            fields.append(("max_wal_senders", int32))
        fields += [
            ("max_prepared_xacts", int32),
            ("max_locks_per_xact", int32),
            ("track_commit_timestamp", bool_),
            ("maxAlign", uint32),
            ("floatFormat", double),
            ("blcksz", uint32),
            ("relseg_size", uint32),
            ("xlog_blcksz", uint32),
            ("xlog_seg_size", uint32),
            ("nameDataLen", uint32),
            ("indexMaxKeys", uint32),
            ("toast_max_chunk_size", uint32),
            ("loblksize", uint32),
        ]
        if self.enable_int_times:
            fields.append(("enableIntTimes", bool_))
        if self.float4_byval:
            fields.append(("float4ByVal", bool_))
        fields += [("float8ByVal", bool_), ("data_checksum_version", uint32)]
        if self.default_char_signedness:
            fields.append(("default_char_signedness", bool_))
        if self.mock_nonce:
            fields.append(("mock_authentication_nonce", char_array(MOCK_AUTH_NONCE_LEN)))
        fields.append(("crc", uint32))
        return fields

    @property
    def struct(self) -> CType:
        return struct(self.fields)

    @property
    def crc_offset(self) -> int:
        return offset_of(self.fields, "crc")


# One entry per pg_control_version (13–16 share 1300).
CONTROL_LAYOUTS: dict[int, ControlLayout] = {
    layout.control_version: layout
    for layout in (
        # 9.5 and 9.6: the same structs (pg_control.h of REL9_5_25 and REL9_6_22), crc at 256
        ControlLayout(942, prev_checkpoint=True, full_xid=False, checkpoint_wal_level=False,
                      max_wal_senders=False, float4_byval=True, default_char_signedness=False,
                      enable_int_times=True, mock_nonce=False,
                      wal_levels=("minimal", "archive", "hot_standby", "logical")),
        ControlLayout(960, prev_checkpoint=True, full_xid=False, checkpoint_wal_level=False,
                      max_wal_senders=False, float4_byval=True, default_char_signedness=False,
                      enable_int_times=True, mock_nonce=False),
        ControlLayout(1002, prev_checkpoint=True, full_xid=False, checkpoint_wal_level=False,
                      max_wal_senders=False, float4_byval=True, default_char_signedness=False),
        ControlLayout(1100, prev_checkpoint=False, full_xid=False, checkpoint_wal_level=False,
                      max_wal_senders=False, float4_byval=True, default_char_signedness=False),
        ControlLayout(1201, prev_checkpoint=False, full_xid=True, checkpoint_wal_level=False,
                      max_wal_senders=True, float4_byval=True, default_char_signedness=False),
        ControlLayout(1300, prev_checkpoint=False, full_xid=True, checkpoint_wal_level=False,
                      max_wal_senders=True, float4_byval=False, default_char_signedness=False),
        ControlLayout(1700, prev_checkpoint=False, full_xid=True, checkpoint_wal_level=True,
                      max_wal_senders=True, float4_byval=False, default_char_signedness=False),
        ControlLayout(1800, prev_checkpoint=False, full_xid=True, checkpoint_wal_level=True,
                      max_wal_senders=True, float4_byval=False, default_char_signedness=True),
    )
}


def control_layout(major: versions.Major) -> ControlLayout:
    """The layout of ``major``'s control file; a major whose control version has none is refused."""
    try:
        return CONTROL_LAYOUTS[major.control_version]
    except KeyError:
        raise UnsupportedVersionError(
            f"PostgreSQL {major.name} is not supported yet: the table of control file layouts has no row "
            f"for its pg_control version {major.control_version} (supported: {versions.SUPPORTED})") from None
