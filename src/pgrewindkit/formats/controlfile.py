"""Read ``global/pg_control``: detect the major, check the CRC and the sanity constants, decode."""

from __future__ import annotations

import functools
import os
import stat
import struct
from pathlib import Path
from typing import Any

from pgrewindkit.errors import ChecksumError, FormatError, TruncatedError
from pgrewindkit.formats import crc
from pgrewindkit.formats.files import read_regular
from pgrewindkit.formats.lsn import LSN, check_segment_size
from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.control import (
    FLOATFORMAT_VALUE,
    PG_CONTROL_FILE_SIZE,
    ControlLayout,
    checkpoint_fields,
    control_layout,
)
from pgrewindkit.majors.layouts.ctypes import CType, unpack
from pgrewindkit.majors.layouts.ctypes import struct as c_struct
from pgrewindkit.model import CheckPoint, ControlFile, DBState, WalLevel

CONTROL_FILE_PATH = Path("global") / "pg_control"
_VERSIONS = struct.Struct("<II")  # pg_control_version, catalog_version_no at offset 8
# Read whole up to this size, so that a wrong size is reported as such; anything bigger is not a control file.
_READ_LIMIT = 64 << 10


def control_file_path(path: str | os.PathLike[str]) -> Path:
    """A data directory's control file, or ``path`` itself when it names a file."""
    path = Path(path)
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except (OSError, ValueError):  # unreadable, a link loop, a NUL in the name: read as a file, which says why
        is_dir = False
    return path / CONTROL_FILE_PATH if is_dir else path


def read_control_file(path: str | os.PathLike[str]) -> ControlFile:
    """Read and check the control file of a data directory (or a ``pg_control`` file itself)."""
    file = control_file_path(path)
    data = read_regular(file, _READ_LIMIT, "control file")
    return parse_control_file(data, path=str(file))


def parse_control_file(data: bytes, *, path: str | None = None) -> ControlFile:
    """Decode the bytes of a ``pg_control`` file (e.g. fetched from a live server)."""
    where = path or "<control file bytes>"
    if len(data) != PG_CONTROL_FILE_SIZE:
        error = TruncatedError if len(data) < PG_CONTROL_FILE_SIZE else FormatError
        raise error(f"unexpected control file size {len(data)}, expected {PG_CONTROL_FILE_SIZE}", path=where)
    control_version, catalog_version = _VERSIONS.unpack_from(data, 8)
    major = versions.by_control(control_version, catalog_version)
    # only the layout's table: every major in versions has a row in every table (a test holds it), and
    # gathering them all (for_major) would cost every command 8 ms of start-up
    layout = control_layout(major)
    stored = int.from_bytes(data[layout.crc_offset:layout.crc_offset + 4], "little")
    if crc.crc32c(data[: layout.crc_offset]) != stored:
        raise ChecksumError("calculated CRC checksum does not match value stored in control file", path=where)
    raw = unpack(_compiled(layout), data, what="control file", path=where)
    control = _to_model(raw, major, layout, path)
    _sanity_check(control, where)
    return control


@functools.cache
def _compiled(layout: ControlLayout) -> CType:
    return layout.struct


@functools.cache
def checkpoint_layout(major: versions.Major) -> CType:
    """``CheckPoint`` of ``major``: the main data of checkpoint WAL records too."""
    layout = control_layout(major)
    return c_struct(checkpoint_fields(full_xid=layout.full_xid, wal_level=layout.checkpoint_wal_level))


def decode_checkpoint(raw: Any, *, where: str) -> CheckPoint:
    """A parsed ``CheckPoint`` container as the model; 32-bit epoch/xid pairs and 64-bit xids alike."""
    if "nextXidEpoch" in raw:
        epoch, xid = raw.nextXidEpoch, raw.nextXid
    else:
        epoch, xid = raw.nextXid >> 32, raw.nextXid & 0xFFFFFFFF
    return CheckPoint(
        redo=LSN(raw.redo),
        timeline=raw.ThisTimeLineID,
        prev_timeline=raw.PrevTimeLineID,
        full_page_writes=raw.fullPageWrites,
        next_xid_epoch=epoch,
        next_xid=xid,
        next_oid=raw.nextOid,
        next_multi=raw.nextMulti,
        next_multi_offset=raw.nextMultiOffset,
        oldest_xid=raw.oldestXid,
        oldest_xid_db=raw.oldestXidDB,
        oldest_multi=raw.oldestMulti,
        oldest_multi_db=raw.oldestMultiDB,
        time=raw.time,
        oldest_commit_ts_xid=raw.oldestCommitTsXid,
        newest_commit_ts_xid=raw.newestCommitTsXid,
        oldest_active_xid=raw.oldestActiveXid,
        wal_level=_wal_level(raw.wal_level, where) if "wal_level" in raw else None,
    )


def _wal_level(value: int, where: str) -> WalLevel:
    try:
        return WalLevel(value)
    except ValueError:
        raise FormatError(f"unrecognized wal_level {value}", path=where) from None


def _stored_wal_level(value: int, layout: ControlLayout, where: str) -> tuple[WalLevel, str | None]:
    """The stored wal_level as 9.6+'s ``WalLevel``, and its own name where the layout's names differ
    (9.5: archive and hot_standby are replica, logical is 3)."""
    if layout.wal_levels == ("minimal", "replica", "logical"):
        return _wal_level(value, where), None
    if not 0 <= value < len(layout.wal_levels):
        raise FormatError(f"unrecognized wal_level {value}", path=where)
    name = layout.wal_levels[value]
    return WalLevel[{"archive": "REPLICA", "hot_standby": "REPLICA"}.get(name, name.upper())], name


def _to_model(raw: Any, major: versions.Major, layout: ControlLayout, path: str | None) -> ControlFile:
    where = path or "<control file bytes>"
    wal_level, wal_level_name = _stored_wal_level(raw.wal_level, layout, where)
    try:
        state = DBState(raw.state)
    except ValueError:
        raise FormatError(f"unrecognized database cluster state {raw.state}", path=where) from None
    return ControlFile(
        version=major,
        system_identifier=raw.system_identifier,
        control_version=raw.pg_control_version,
        catalog_version=raw.catalog_version_no,
        state=state,
        time=raw.time,
        checkpoint=LSN(raw.checkPoint),
        prev_checkpoint=LSN(raw.prevCheckPoint) if "prevCheckPoint" in raw else None,
        checkpoint_copy=decode_checkpoint(raw.checkPointCopy, where=where),
        unlogged_lsn=LSN(raw.unloggedLSN),
        min_recovery_point=LSN(raw.minRecoveryPoint),
        min_recovery_point_tli=raw.minRecoveryPointTLI,
        backup_start_point=LSN(raw.backupStartPoint),
        backup_end_point=LSN(raw.backupEndPoint),
        backup_end_required=raw.backupEndRequired,
        wal_level=wal_level,
        wal_level_name=wal_level_name,
        wal_log_hints=raw.wal_log_hints,
        max_connections=raw.MaxConnections,
        max_worker_processes=raw.max_worker_processes,
        max_wal_senders=raw.get("max_wal_senders"),
        max_prepared_xacts=raw.max_prepared_xacts,
        max_locks_per_xact=raw.max_locks_per_xact,
        track_commit_timestamp=raw.track_commit_timestamp,
        max_align=raw.maxAlign,
        float_format=raw.floatFormat,
        blcksz=raw.blcksz,
        relseg_size=raw.relseg_size,
        xlog_blcksz=raw.xlog_blcksz,
        xlog_seg_size=raw.xlog_seg_size,
        name_data_len=raw.nameDataLen,
        index_max_keys=raw.indexMaxKeys,
        toast_max_chunk_size=raw.toast_max_chunk_size,
        loblksize=raw.loblksize,
        float4_byval=raw.get("float4ByVal"),
        float8_byval=raw.float8ByVal,
        data_checksum_version=raw.data_checksum_version,
        default_char_signedness=raw.get("default_char_signedness"),
        mock_authentication_nonce=raw.get("mock_authentication_nonce"),
        enable_int_times=raw.get("enableIntTimes"),
        crc=raw.crc,
        path=path,
    )


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _sanity_check(control: ControlFile, where: str) -> None:
    """The constants a real x86-64 server always writes; a CRC-valid file that breaks them is not ours."""
    if control.float_format != FLOATFORMAT_VALUE:
        raise FormatError("float format mismatch: the control file was written on another platform", path=where)
    if control.max_align != 8:
        raise FormatError(f"maximum data alignment {control.max_align} is not x86-64's 8", path=where)
    for name, value, low, high in (
        ("database block size", control.blcksz, 1024, 32768),
        ("WAL block size", control.xlog_blcksz, 1024, 65536),
    ):
        if not (_is_power_of_two(value) and low <= value <= high):
            raise FormatError(f"invalid {name} {value}: must be a power of two from {low} to {high}", path=where)
    try:
        check_segment_size(control.xlog_seg_size)
    except FormatError as exc:
        raise FormatError(f"{exc.problem} (in the control file)", path=where) from None
    if control.relseg_size <= 0 or control.data_checksum_version not in (0, 1):
        raise FormatError("blocks per segment or data page checksum version out of range", path=where)
