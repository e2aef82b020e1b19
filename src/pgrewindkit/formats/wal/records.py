"""Typed WAL records, made from the reader's raw tuples only when a caller asks for them."""

from __future__ import annotations

import attrs

from pgrewindkit.errors import FormatError
from pgrewindkit.formats.controlfile import checkpoint_layout, decode_checkpoint
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.decode import RawBlock
from pgrewindkit.formats.wal.reader import RawRecord
from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.ctypes import unpack
from pgrewindkit.majors.layouts.xlog import BKPBLOCK_FORK_MASK, BKPBLOCK_HAS_IMAGE, BKPBLOCK_WILL_INIT, XLR_INFO_MASK
from pgrewindkit.majors.rmgrs import RM_XLOG_ID, resource_manager
from pgrewindkit.majors.wal import WalFormat
from pgrewindkit.model import CheckPoint

FORK_NAMES = ("main", "fsm", "vm", "init")
XLOG_CHECKPOINT_SHUTDOWN = 0x00
XLOG_CHECKPOINT_ONLINE = 0x10


def fork_name(fork: int) -> str:
    return FORK_NAMES[fork] if fork < len(FORK_NAMES) else f"fork{fork}"


@attrs.frozen
class BlockRef:
    """A block reference of a record: which page it touches, and what the record carries for it."""

    id: int
    spc: int
    db: int
    rel: int
    fork: int
    blk: int
    has_image: bool
    apply: bool
    will_init: bool
    data_len: int
    image_len: int = 0
    hole_offset: int = 0
    hole_length: int = 0
    compression: str | None = None

    @property
    def fork_name(self) -> str:
        return fork_name(self.fork)

    @property
    def locator(self) -> tuple[int, int, int]:
        """``RelFileLocator``: tablespace, database and relation file number."""
        return (self.spc, self.db, self.rel)


@attrs.frozen
class WalRecord:
    """One WAL record as xlogreader decodes it."""

    lsn: LSN
    end: LSN  # where the next record starts (after a SWITCH record: the next segment)
    prev: LSN
    timeline: int  # the timeline of the segment file it was read from
    xid: int
    info: int
    rmid: int
    rmgr: str
    type: str
    tot_len: int
    fpi_len: int
    main_data_len: int
    blocks: tuple[BlockRef, ...]
    origin: int | None
    toplevel_xid: int | None
    main_data: bytes = attrs.field(repr=False)
    major: int = 0

    @property
    def rec_len(self) -> int:
        """The record's length without full-page images, as pg_waldump's "rec" counts it."""
        return self.tot_len - self.fpi_len

    @property
    def rmgr_info(self) -> int:
        return self.info & ~XLR_INFO_MASK

    @property
    def is_checkpoint(self) -> bool:
        return self.rmid == RM_XLOG_ID and self.rmgr_info in (XLOG_CHECKPOINT_SHUTDOWN, XLOG_CHECKPOINT_ONLINE)

    def checkpoint(self) -> CheckPoint:
        """The ``CheckPoint`` a CHECKPOINT_SHUTDOWN or CHECKPOINT_ONLINE record carries."""
        if not self.is_checkpoint:
            raise FormatError(f"record at {self.lsn} is {self.rmgr}/{self.type}, not a checkpoint")
        layout = checkpoint_layout(versions.by_major(self.major))
        raw = unpack(layout, self.main_data[: layout.size], what="checkpoint record",
                     offset=self.lsn.value)
        return decode_checkpoint(raw, where=f"checkpoint record at {self.lsn}")


def block_ref(raw: RawBlock, fmt: WalFormat) -> BlockRef:
    block_id, fork_flags, data_len, spc, db, rel, blkno, image_len, hole_offset, hole_length, bimg_info = raw
    has_image = bool(fork_flags & BKPBLOCK_HAS_IMAGE)
    flags = fmt.image_flags
    compression = next((name for bit, name in flags.compression if bimg_info & bit), None) if has_image else None
    return BlockRef(
        id=block_id, spc=spc, db=db, rel=rel, fork=fork_flags & BKPBLOCK_FORK_MASK, blk=blkno,
        has_image=has_image, apply=has_image and (not flags.apply or bool(bimg_info & flags.apply)),
        will_init=bool(fork_flags & BKPBLOCK_WILL_INIT), data_len=data_len,
        image_len=image_len, hole_offset=hole_offset, hole_length=hole_length, compression=compression,
    )


def wal_record(raw: RawRecord, fmt: WalFormat) -> WalRecord:
    (lsn, end, prev, xid, info, rmid, tot_len, fpi_len, main_len, blocks, origin, toplevel_xid,
     timeline, rec) = raw
    rmgr = resource_manager(fmt.major, rmid)
    return WalRecord(
        lsn=LSN(lsn), end=LSN(end), prev=LSN(prev), timeline=timeline, xid=xid, info=info, rmid=rmid,
        rmgr=rmgr.name, type=rmgr.identify(info), tot_len=tot_len, fpi_len=fpi_len, main_data_len=main_len,
        blocks=tuple(block_ref(b, fmt) for b in blocks),
        origin=origin if origin >= 0 else None, toplevel_xid=toplevel_xid if toplevel_xid >= 0 else None,
        main_data=rec[len(rec) - main_len:] if main_len else b"", major=fmt.major,
    )
