"""The WAL hot loop's ``struct`` formats read the same fields as the construct layouts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pgrewindkit.majors.layouts import xlog


@given(st.binary(min_size=40, max_size=40))
def test_page_headers(data: bytes) -> None:
    long = xlog.LONG_PAGE_HEADER.construct.parse(data)
    std = long.std
    assert xlog.FAST.page_header.unpack_from(data) == (
        std.xlp_magic, std.xlp_info, std.xlp_tli, std.xlp_pageaddr, std.xlp_rem_len)
    assert xlog.FAST.long_page_tail.unpack_from(data, 24) == (long.xlp_sysid, long.xlp_seg_size, long.xlp_xlog_blcksz)
    assert (xlog.PAGE_HEADER.size, xlog.LONG_PAGE_HEADER.size) == (xlog.SIZE_OF_SHORT_PHD, xlog.SIZE_OF_LONG_PHD)
    assert (xlog.SIZE_OF_SHORT_PHD, xlog.SIZE_OF_LONG_PHD) == (24, 40)


@given(st.binary(min_size=24, max_size=24))
def test_record_header(data: bytes) -> None:
    rec = xlog.RECORD_HEADER.construct.parse(data)
    assert xlog.FAST.record_header.unpack_from(data) == (
        rec.xl_tot_len, rec.xl_xid, rec.xl_prev, rec.xl_info, rec.xl_rmid, rec.xl_crc)
    assert xlog.RECORD_HEADER.size == xlog.FAST.record_header.size == xlog.SIZE_OF_RECORD


@given(st.binary(min_size=16, max_size=16))
def test_fragment_headers(data: bytes) -> None:
    block = xlog.BLOCK_HEADER.parse(data)
    assert xlog.FAST.block_header.unpack_from(data, 1) == (block.fork_flags, block.data_length)
    image = xlog.IMAGE_HEADER.parse(data)
    assert xlog.FAST.image_header.unpack_from(data) == (image.length, image.hole_offset, image.bimg_info)
    assert xlog.IMAGE_HEADER.sizeof() == xlog.FAST.image_header.size == 5
    locator = xlog.REL_FILE_LOCATOR.parse(data)
    assert xlog.FAST.locator_and_block.unpack_from(data) == (
        locator.spcOid, locator.dbOid, locator.relNumber, xlog.BLOCK_NUMBER.parse(data[12:]))
    assert xlog.FAST.uint16.unpack_from(data)[0] == xlog.COMPRESS_HEADER.parse(data).hole_length
