"""``DecodeXLogRecord``: split a record into its block references, origin, top-level XID and main
data, with xlogreader's checks in xlogreader's order. Part of the hot loop: plain ``struct`` calls
on ``bytes``, tuples instead of objects.
"""

from __future__ import annotations

from collections.abc import Callable

from pgrewindkit.majors.layouts.xlog import (
    BKPBLOCK_HAS_DATA,
    BKPBLOCK_HAS_IMAGE,
    BKPBLOCK_SAME_REL,
    SIZE_OF_BLOCK_HEADER,
    SIZE_OF_COMPRESS_HEADER,
    SIZE_OF_IMAGE_HEADER,
    SIZE_OF_LOCATOR_AND_BLOCK,
    SIZE_OF_RECORD,
    XLR_BLOCK_ID_DATA_LONG,
    XLR_BLOCK_ID_DATA_SHORT,
    XLR_BLOCK_ID_ORIGIN,
    XLR_BLOCK_ID_TOPLEVEL_XID,
    XLR_MAX_BLOCK_ID,
)
from pgrewindkit.majors.wal import WalFormat

# A decoded block reference:
# (block_id, fork_flags, data_len, spc, db, rel, blkno, image_len, hole_offset, hole_length, bimg_info)
RawBlock = tuple[int, int, int, int, int, int, int, int, int, int, int]
# (fpi_len, main_data_len, blocks, origin, toplevel_xid); origin/toplevel_xid are -1 when absent
RawDecoded = tuple[int, int, tuple[RawBlock, ...], int, int]


class DecodeError(Exception):
    """A record xlogreader refuses; ``args[0]`` is the message template key, the rest its fields."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


# the sizes of the fragments that follow a block id: fork_flags and data_length; the origin; the
# top-level XID, block number and data length of long main data; all unaligned
_BLOCK_HEADER_REST = SIZE_OF_BLOCK_HEADER - 1
_IMAGE_OR_SAME_REL = BKPBLOCK_HAS_IMAGE | BKPBLOCK_SAME_REL
_SIZE_OF_ORIGIN = 2  # RepOriginId
_SIZE_OF_UINT32 = 4  # TransactionId, BlockNumber, uint32


Decoder = Callable[[bytes, bool], RawDecoded]


def record_decoder(fmt: WalFormat, blcksz: int, *, shortcut: bool = True) -> Decoder:
    """``DecodeXLogRecord`` for ``fmt``'s major: ``decode(rec, detail)`` decodes the fragments of one
    whole record (``rec`` is exactly ``xl_tot_len`` bytes); without ``detail`` the checks are made
    but no block tuples are built. The format's flags and precompiled structs are bound once, here.
    Without ``shortcut``, every record goes through the general loop (the tests compare the two)."""
    has_hole_bit = fmt.image_has_hole
    compressed_mask = fmt.image_compressed_mask
    toplevel = fmt.toplevel_xid
    structs = fmt.structs
    u16 = structs.uint16.unpack_from
    u32 = structs.uint32.unpack_from
    block_header = structs.block_header.unpack_from
    image_header = structs.image_header.unpack_from
    locator_and_block = structs.locator_and_block.unpack_from
    one_image = structs.one_image_record.unpack_from
    one_image_min = SIZE_OF_RECORD + 1 + structs.one_image_record.size if shortcut else 1 << 62
    pair = structs.pair_record.unpack_from
    pair_min = SIZE_OF_RECORD + structs.pair_record.size
    second = SIZE_OF_RECORD + SIZE_OF_BLOCK_HEADER + SIZE_OF_LOCATOR_AND_BLOCK  # block 1's id in a pair

    def decode(rec: bytes, detail: bool) -> RawDecoded:
        # The commonest record with a full-page image: block 0 with an uncompressed image, not
        # SAME_REL, then short main data. One struct call instead of the loop below; every check the
        # loop would make is here, and anything else is left to it.
        if len(rec) >= one_image_min and rec[SIZE_OF_RECORD] == 0:
            kind = rec[SIZE_OF_RECORD + 1] & _IMAGE_OR_SAME_REL
            if kind == BKPBLOCK_HAS_IMAGE:
                (fork_flags, data_len, image_len, hole_offset, bimg_info, spc, db, rel, blkno, marker,
                 main_len) = one_image(rec, SIZE_OF_RECORD + 1)
                if (marker == XLR_BLOCK_ID_DATA_SHORT and not bimg_info & compressed_mask
                        and len(rec) == one_image_min + image_len + data_len + main_len
                        and (fork_flags & BKPBLOCK_HAS_DATA == 0) == (data_len == 0)
                        and ((hole_offset != 0 and image_len != blcksz) if bimg_info & has_hole_bit
                             else (hole_offset == 0 and image_len == blcksz))):
                    image: RawBlock = (0, fork_flags, data_len, spc, db, rel, blkno, image_len, hole_offset,
                                       blcksz - image_len, bimg_info)
                    return image_len, main_len, (image,) if detail else (), -1, -1
            elif (not kind and len(rec) >= pair_min and rec[second] == 1
                  and rec[second + 1] & _IMAGE_OR_SAME_REL == BKPBLOCK_SAME_REL):
                # The second commonest: block 0 without image, block 1 of the same relation without
                # image, then short main data (a heap UPDATE onto another page, and the like).
                (_id, fork_flags, data_len, spc, db, rel, blkno, _id1, flags1, len1, blkno1, marker,
                 main_len) = pair(rec, SIZE_OF_RECORD)
                if (marker == XLR_BLOCK_ID_DATA_SHORT and len(rec) == pair_min + data_len + len1 + main_len
                        and (fork_flags & BKPBLOCK_HAS_DATA == 0) == (data_len == 0)
                        and (flags1 & BKPBLOCK_HAS_DATA == 0) == (len1 == 0)):
                    return 0, main_len, ((0, fork_flags, data_len, spc, db, rel, blkno, 0, 0, 0, 0),
                                         (1, flags1, len1, spc, db, rel, blkno1, 0, 0, 0, 0)) if detail else (), -1, -1
        pos = SIZE_OF_RECORD
        remaining = len(rec) - SIZE_OF_RECORD
        datatotal = 0
        fpi_len = 0
        main_len = 0
        origin = -1
        toplevel_xid = -1
        max_block_id = -1
        blocks: list[RawBlock] = []
        spc = db = rel = -1
        while remaining > datatotal:
            if remaining < 1:
                raise DecodeError("invalid_length")
            block_id = rec[pos]
            pos += 1
            remaining -= 1
            if block_id == XLR_BLOCK_ID_DATA_SHORT:
                if remaining < 1:
                    raise DecodeError("invalid_length")
                main_len = rec[pos]
                pos += 1
                remaining -= 1
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_DATA_LONG:
                if remaining < _SIZE_OF_UINT32:
                    raise DecodeError("invalid_length")
                main_len = u32(rec, pos)[0]
                pos += _SIZE_OF_UINT32
                remaining -= _SIZE_OF_UINT32
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_ORIGIN:
                if remaining < _SIZE_OF_ORIGIN:
                    raise DecodeError("invalid_length")
                origin = u16(rec, pos)[0]
                pos += _SIZE_OF_ORIGIN
                remaining -= _SIZE_OF_ORIGIN
                continue
            if block_id == XLR_BLOCK_ID_TOPLEVEL_XID and toplevel:
                if remaining < _SIZE_OF_UINT32:
                    raise DecodeError("invalid_length")
                toplevel_xid = u32(rec, pos)[0]
                pos += _SIZE_OF_UINT32
                remaining -= _SIZE_OF_UINT32
                continue
            if block_id > XLR_MAX_BLOCK_ID:
                raise DecodeError("invalid_block_id", block_id=block_id)
            if block_id <= max_block_id:
                raise DecodeError("out_of_order_block", block_id=block_id)
            max_block_id = block_id
            if remaining < _BLOCK_HEADER_REST:
                raise DecodeError("invalid_length")
            fork_flags, data_len = block_header(rec, pos)
            pos += _BLOCK_HEADER_REST
            remaining -= _BLOCK_HEADER_REST
            has_data = fork_flags & BKPBLOCK_HAS_DATA
            if has_data and data_len == 0:
                raise DecodeError("has_data_no_data")
            if not has_data and data_len != 0:
                raise DecodeError("no_has_data_but_length", length=data_len)
            datatotal += data_len
            image_len = hole_offset = hole_length = bimg_info = 0
            if fork_flags & BKPBLOCK_HAS_IMAGE:
                if remaining < SIZE_OF_IMAGE_HEADER:
                    raise DecodeError("invalid_length")
                image_len, hole_offset, bimg_info = image_header(rec, pos)
                pos += SIZE_OF_IMAGE_HEADER
                remaining -= SIZE_OF_IMAGE_HEADER
                compressed = bimg_info & compressed_mask
                has_hole = bimg_info & has_hole_bit
                if compressed:
                    if has_hole:
                        if remaining < SIZE_OF_COMPRESS_HEADER:
                            raise DecodeError("invalid_length")
                        hole_length = u16(rec, pos)[0]
                        pos += SIZE_OF_COMPRESS_HEADER
                        remaining -= SIZE_OF_COMPRESS_HEADER
                else:
                    hole_length = blcksz - image_len
                datatotal += image_len
                fpi_len += image_len
                if has_hole and (hole_offset == 0 or hole_length == 0 or image_len == blcksz):
                    raise DecodeError("hole_set_bad", offset=hole_offset, length=hole_length, image_length=image_len)
                if not has_hole and (hole_offset != 0 or hole_length != 0):
                    raise DecodeError("hole_unset_bad", offset=hole_offset, length=hole_length)
                if compressed and image_len == blcksz:
                    raise DecodeError("image_compressed_full", length=image_len)
                if not has_hole and not compressed and image_len != blcksz:
                    # xlogreader prints the block's data length here, not the image length
                    raise DecodeError("image_neither", length=data_len)
            if fork_flags & BKPBLOCK_SAME_REL:
                if rel < 0:
                    raise DecodeError("same_rel_no_previous")
                if remaining < _SIZE_OF_UINT32:
                    raise DecodeError("invalid_length")
                blkno = u32(rec, pos)[0]
                pos += _SIZE_OF_UINT32
                remaining -= _SIZE_OF_UINT32
            else:
                if remaining < SIZE_OF_LOCATOR_AND_BLOCK:  # RelFileLocator, then BlockNumber
                    raise DecodeError("invalid_length")
                spc, db, rel, blkno = locator_and_block(rec, pos)
                pos += SIZE_OF_LOCATOR_AND_BLOCK
                remaining -= SIZE_OF_LOCATOR_AND_BLOCK
            if detail:
                blocks.append((block_id, fork_flags, data_len, spc, db, rel, blkno, image_len, hole_offset,
                               hole_length, bimg_info))
        if remaining != datatotal:
            raise DecodeError("invalid_length")
        return fpi_len, main_len, tuple(blocks), origin, toplevel_xid

    return decode
