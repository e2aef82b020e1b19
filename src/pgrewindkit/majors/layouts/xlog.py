"""WAL byte layouts: page headers, the record header, block-reference and data headers.

Sources: src/include/access/xlog_internal.h and src/include/access/xlogrecord.h, 10–18 (the
record format dates from 9.5). The WAL reader's hot loop uses ``struct`` equivalents of these
(``FAST``), which a test keeps equal to the construct layouts.
"""

from __future__ import annotations

import struct

import attrs
import construct as c

from pgrewindkit.majors.layouts.ctypes import CType, uint8, uint16, uint32, uint64
from pgrewindkit.majors.layouts.ctypes import struct as c_struct

# -- page headers (xlog_internal.h) -------------------------------------------------------------

XLP_FIRST_IS_CONTRECORD = 0x0001
XLP_LONG_HEADER = 0x0002
XLP_BKP_REMOVABLE = 0x0004
XLP_FIRST_IS_OVERWRITE_CONTRECORD = 0x0008  # back-patched into every branch in 2021 minors
XLP_ALL_FLAGS = 0x000F

PAGE_HEADER: CType = c_struct([
    ("xlp_magic", uint16),
    ("xlp_info", uint16),
    ("xlp_tli", uint32),
    ("xlp_pageaddr", uint64),
    ("xlp_rem_len", uint32),
])
LONG_PAGE_HEADER: CType = c_struct([
    ("std", PAGE_HEADER),
    ("xlp_sysid", uint64),
    ("xlp_seg_size", uint32),
    ("xlp_xlog_blcksz", uint32),
])
SIZE_OF_SHORT_PHD = PAGE_HEADER.size  # SizeOfXLogShortPHD = MAXALIGN(sizeof(XLogPageHeaderData))
SIZE_OF_LONG_PHD = LONG_PAGE_HEADER.size  # SizeOfXLogLongPHD

# -- the record header (xlogrecord.h) -------------------------------------------------------------

RECORD_HEADER: CType = c_struct([
    ("xl_tot_len", uint32),
    ("xl_xid", uint32),
    ("xl_prev", uint64),
    ("xl_info", uint8),
    ("xl_rmid", uint8),
    ("xl_crc", uint32),  # after two bytes of padding
])
SIZE_OF_RECORD = 24  # SizeOfXLogRecord = offsetof(xl_crc) + sizeof(pg_crc32c)
CRC_OFFSET = 20  # offsetof(XLogRecord, xl_crc): the CRC covers the header up to here, after the body

XLR_INFO_MASK = 0x0F
XLR_RMGR_INFO_MASK = 0xF0
XLR_SPECIAL_REL_UPDATE = 0x01
XLR_CHECK_CONSISTENCY = 0x02

# -- record fragments (unaligned) --------------------------------------------------------------

XLR_MAX_BLOCK_ID = 32
XLR_BLOCK_ID_DATA_SHORT = 255
XLR_BLOCK_ID_DATA_LONG = 254
XLR_BLOCK_ID_ORIGIN = 253
XLR_BLOCK_ID_TOPLEVEL_XID = 252  # from 14

BKPBLOCK_FORK_MASK = 0x0F
BKPBLOCK_HAS_IMAGE = 0x10
BKPBLOCK_HAS_DATA = 0x20
BKPBLOCK_WILL_INIT = 0x40
BKPBLOCK_SAME_REL = 0x80

BLOCK_HEADER = c.Struct("id" / c.Int8ul, "fork_flags" / c.Int8ul, "data_length" / c.Int16ul)
IMAGE_HEADER = c.Struct("length" / c.Int16ul, "hole_offset" / c.Int16ul, "bimg_info" / c.Int8ul)
COMPRESS_HEADER = c.Struct("hole_length" / c.Int16ul)
REL_FILE_LOCATOR = c.Struct("spcOid" / c.Int32ul, "dbOid" / c.Int32ul, "relNumber" / c.Int32ul)
BLOCK_NUMBER = c.Int32ul
DATA_HEADER_SHORT = c.Struct("id" / c.Const(XLR_BLOCK_ID_DATA_SHORT, c.Int8ul), "data_length" / c.Int8ul)
DATA_HEADER_LONG = c.Struct("id" / c.Const(XLR_BLOCK_ID_DATA_LONG, c.Int8ul), "data_length" / c.Int32ul)


@attrs.frozen
class ImageFlags:
    """``bimg_info`` bits, which changed meaning in 15 (LZ4 and zstd full-page-write compression)."""

    has_hole: int
    apply: int
    compression: tuple[tuple[int, str], ...]  # (bit, method name as pg_waldump prints it)

    @property
    def compressed_mask(self) -> int:
        mask = 0
        for bit, _name in self.compression:
            mask |= bit
        return mask


IMAGE_FLAGS_10 = ImageFlags(has_hole=0x01, apply=0x04, compression=((0x02, "pglz"),))
IMAGE_FLAGS_15 = ImageFlags(has_hole=0x01, apply=0x02,
                            compression=((0x04, "pglz"), (0x08, "lz4"), (0x10, "zstd")))

# -- the hot path's struct equivalents ----------------------------------------------------------


class FAST:
    """Precompiled ``struct`` formats equal to the construct layouts above (a test keeps them so)."""

    page_header = struct.Struct("<HHIQI")  # + 4 bytes of tail padding
    long_page_tail = struct.Struct("<QII")  # xlp_sysid, xlp_seg_size, xlp_xlog_blcksz at offset 24
    record_header = struct.Struct("<IIQBB2xI")
    block_header = struct.Struct("<BH")  # fork_flags, data_length after the id byte
    image_header = struct.Struct("<HHB")
    uint16 = struct.Struct("<H")
    uint32 = struct.Struct("<I")
    locator_and_block = struct.Struct("<IIII")
    # the most common record body: block 0 without image or SAME_REL, then short main data
    one_block_record = struct.Struct("<BBHIIIIBB")
