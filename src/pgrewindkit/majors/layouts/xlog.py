"""WAL byte layouts: page headers, the record header, block-reference and data headers.

Sources: src/include/access/xlog_internal.h and src/include/access/xlogrecord.h, 10–18 (the
record format dates from 9.5). The WAL reader's hot loop uses precompiled ``struct`` formats
of these (``WAL_STRUCTS``), derived from the layouts rather than written a second time.
"""

from __future__ import annotations

import struct

import attrs

from pgrewindkit.majors.layouts.ctypes import CType, offset_of, packed, struct_format, uint8, uint16, uint32, uint64
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
_LONG_PAGE_HEADER_FIELDS = [
    ("std", PAGE_HEADER),
    ("xlp_sysid", uint64),
    ("xlp_seg_size", uint32),
    ("xlp_xlog_blcksz", uint32),
]
LONG_PAGE_HEADER: CType = c_struct(_LONG_PAGE_HEADER_FIELDS)
SIZE_OF_SHORT_PHD = PAGE_HEADER.size  # SizeOfXLogShortPHD = MAXALIGN(sizeof(XLogPageHeaderData))
SIZE_OF_LONG_PHD = LONG_PAGE_HEADER.size  # SizeOfXLogLongPHD
LONG_PAGE_TAIL_OFFSET = offset_of(_LONG_PAGE_HEADER_FIELDS, "xlp_sysid")  # where the long header's own fields begin

# -- the record header (xlogrecord.h) -------------------------------------------------------------

_RECORD_HEADER_FIELDS = [
    ("xl_tot_len", uint32),
    ("xl_xid", uint32),
    ("xl_prev", uint64),
    ("xl_info", uint8),
    ("xl_rmid", uint8),
    ("xl_crc", uint32),
]
CRC_OFFSET = offset_of(_RECORD_HEADER_FIELDS, "xl_crc")  # the CRC covers the header up to here, after the body
RECORD_HEADER: CType = c_struct(_RECORD_HEADER_FIELDS)  # xl_crc after two bytes of padding
SIZE_OF_RECORD = CRC_OFFSET + uint32.size  # SizeOfXLogRecord = offsetof(xl_crc) + sizeof(pg_crc32c): 24

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

BLOCK_HEADER = packed([("id", uint8), ("fork_flags", uint8), ("data_length", uint16)])
IMAGE_HEADER = packed([("length", uint16), ("hole_offset", uint16), ("bimg_info", uint8)])
COMPRESS_HEADER = packed([("hole_length", uint16)])
REL_FILE_LOCATOR = packed([("spcOid", uint32), ("dbOid", uint32), ("relNumber", uint32)])
BLOCK_NUMBER = uint32
DATA_HEADER_SHORT = packed([("id", uint8), ("data_length", uint8)])  # id: XLR_BLOCK_ID_DATA_SHORT
DATA_HEADER_LONG = packed([("id", uint8), ("data_length", uint32)])  # id: XLR_BLOCK_ID_DATA_LONG


@attrs.frozen
class ImageFlags:
    """``bimg_info`` bits, which changed meaning in 15 (LZ4 and zstd full-page-write compression)."""

    has_hole: int
    apply: int  # BKPIMAGE_APPLY (10+); 0 where there is no such bit and every image is applied (9.5, 9.6)
    compression: tuple[tuple[int, str], ...]  # (bit, method name as pg_waldump prints it)

    @property
    def compressed_mask(self) -> int:
        mask = 0
        for bit, _name in self.compression:
            mask |= bit
        return mask


IMAGE_FLAGS_95 = ImageFlags(has_hole=0x01, apply=0, compression=((0x02, "pglz"),))
IMAGE_FLAGS_10 = ImageFlags(has_hole=0x01, apply=0x04, compression=((0x02, "pglz"),))
IMAGE_FLAGS_15 = ImageFlags(has_hole=0x01, apply=0x02,
                            compression=((0x04, "pglz"), (0x08, "lz4"), (0x10, "zstd")))

# -- the hot path's struct equivalents ----------------------------------------------------------

BKPBLOCK_IMAGE_OR_SAME_REL = BKPBLOCK_HAS_IMAGE | BKPBLOCK_SAME_REL
SIZE_OF_BLOCK_HEADER = BLOCK_HEADER.size  # SizeOfXLogRecordBlockHeader, the id byte included
SIZE_OF_IMAGE_HEADER = IMAGE_HEADER.size  # SizeOfXLogRecordBlockImageHeader
SIZE_OF_COMPRESS_HEADER = COMPRESS_HEADER.size  # SizeOfXLogRecordBlockCompressHeader
SIZE_OF_LOCATOR_AND_BLOCK = REL_FILE_LOCATOR.size + BLOCK_NUMBER.size
SIZE_OF_DATA_HEADER_SHORT = DATA_HEADER_SHORT.size  # SizeOfXLogRecordDataHeaderShort
SIZE_OF_DATA_HEADER_LONG = DATA_HEADER_LONG.size  # SizeOfXLogRecordDataHeaderLong


def _compiled(*parts: str) -> struct.Struct:
    return struct.Struct("<" + "".join(parts))


def _record_header_narrowed() -> str:
    """The record header as the counting loops read it: ``xl_xid`` skipped (never looked at there),
    ``xl_info`` and ``xl_rmid`` read as one little-endian ``uint16`` (``info | rmid << 8``, whose
    top twelve bits are the statistics' slot, ``rmid << 4 | info >> 4``): fewer values per record."""
    codes = []
    names = [name for name, _pad, _ctype in RECORD_HEADER.parts]
    for name, pad, member in RECORD_HEADER.parts:
        code = member.code
        if name == "xl_xid":
            code = f"{member.size}x"
        elif name == "xl_info":
            assert names[names.index("xl_info") + 1] == "xl_rmid" and code == uint8.code
            code = "H"
        elif name == "xl_rmid":
            code = ""
        codes.append(pad + code)
    return "".join(codes) + RECORD_HEADER.tail


@attrs.frozen
class WalStructs:
    """The hot loop's precompiled ``struct`` formats, each derived from the layouts above."""

    page_header: struct.Struct  # XLogPageHeaderData, tail padding included
    long_page_tail: struct.Struct  # xlp_sysid, xlp_seg_size, xlp_xlog_blcksz at LONG_PAGE_TAIL_OFFSET
    record_header: struct.Struct
    block_header: struct.Struct  # fork_flags, data_length after the id byte
    image_header: struct.Struct
    uint16: struct.Struct
    uint32: struct.Struct
    locator_and_block: struct.Struct
    # the most common record body: block 0 without image or SAME_REL, then short main data
    one_block_record: struct.Struct
    # the counting loops' read of a record's first bytes: the narrowed header (tot_len, prev,
    # info | rmid << 8, crc), then either shape's fragment headers: (id, fork_flags, data_length,
    # [locator and block: skipped / as their 16 bytes, a set key that costs one object], short
    # data id, short data length). For a record of short main data only, id and fork_flags are
    # the data header's id and length.
    counted_record: struct.Struct
    counted_header: struct.Struct  # the narrowed header alone: of a record gathered from several pages
    block_record: struct.Struct
    # a full-page image's commonest record body, after block 0's id: fork_flags, data_length, the
    # image header, the locator and block, then short main data's id and length
    one_image_record: struct.Struct
    # the second commonest shape (a heap UPDATE onto another page, and the like): block 0 without
    # image or SAME_REL, block 1 with SAME_REL and no image, then short main data. ``pair_record``
    # is its body from block 0's id; ``same_rel_tail`` what follows block 1's id and fork_flags
    # (data_length, the block number as its 4 bytes, short data's id and length)
    pair_record: struct.Struct
    same_rel_tail: struct.Struct

    @classmethod
    def derive(cls) -> WalStructs:
        locator_and_block = struct_format(REL_FILE_LOCATOR) + struct_format(BLOCK_NUMBER)
        return cls(
            page_header=_compiled(struct_format(PAGE_HEADER)),
            long_page_tail=_compiled(struct_format(LONG_PAGE_HEADER, start="xlp_sysid")),
            record_header=_compiled(struct_format(RECORD_HEADER)),
            block_header=_compiled(struct_format(BLOCK_HEADER, start="fork_flags")),
            image_header=_compiled(struct_format(IMAGE_HEADER)),
            uint16=_compiled(struct_format(uint16)),
            uint32=_compiled(struct_format(uint32)),
            locator_and_block=_compiled(locator_and_block),
            one_block_record=_compiled(struct_format(BLOCK_HEADER), locator_and_block,
                                       struct_format(DATA_HEADER_SHORT)),
            counted_header=_compiled(_record_header_narrowed()),
            counted_record=_compiled(_record_header_narrowed(), struct_format(BLOCK_HEADER),
                                     f"{SIZE_OF_LOCATOR_AND_BLOCK}x", struct_format(DATA_HEADER_SHORT)),
            block_record=_compiled(_record_header_narrowed(), struct_format(BLOCK_HEADER),
                                   f"{SIZE_OF_LOCATOR_AND_BLOCK}s", struct_format(DATA_HEADER_SHORT)),
            one_image_record=_compiled(struct_format(BLOCK_HEADER, start="fork_flags"), struct_format(IMAGE_HEADER),
                                       locator_and_block, struct_format(DATA_HEADER_SHORT)),
            pair_record=_compiled(struct_format(BLOCK_HEADER), locator_and_block, struct_format(BLOCK_HEADER),
                                  struct_format(BLOCK_NUMBER), struct_format(DATA_HEADER_SHORT)),
            same_rel_tail=_compiled(struct_format(BLOCK_HEADER, start="data_length"), f"{BLOCK_NUMBER.size}s",
                                    struct_format(DATA_HEADER_SHORT)),
        )


WAL_STRUCTS = WalStructs.derive()
FAST = WAL_STRUCTS  # the name the hot loops have always used
