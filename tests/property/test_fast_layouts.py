"""The WAL hot loop's ``struct`` formats, derived from the layouts, read the same fields as construct does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgrewindkit.majors.layouts import xlog
from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS
from pgrewindkit.majors.layouts.ctypes import unpack
from tests.support.construct_oracle import as_construct


@given(st.binary(min_size=40, max_size=40))
def test_page_headers(data: bytes) -> None:
    long = as_construct(xlog.LONG_PAGE_HEADER).parse(data)
    std = long.std
    assert xlog.WAL_STRUCTS.page_header.unpack_from(data) == (
        std.xlp_magic, std.xlp_info, std.xlp_tli, std.xlp_pageaddr, std.xlp_rem_len)
    assert xlog.WAL_STRUCTS.long_page_tail.unpack_from(data, xlog.LONG_PAGE_TAIL_OFFSET) == (
        long.xlp_sysid, long.xlp_seg_size, long.xlp_xlog_blcksz)
    assert (xlog.PAGE_HEADER.size, xlog.LONG_PAGE_HEADER.size) == (xlog.SIZE_OF_SHORT_PHD, xlog.SIZE_OF_LONG_PHD)
    assert (xlog.SIZE_OF_SHORT_PHD, xlog.SIZE_OF_LONG_PHD) == (24, 40)


@given(st.binary(min_size=24, max_size=24))
def test_record_header(data: bytes) -> None:
    rec = as_construct(xlog.RECORD_HEADER).parse(data)
    assert xlog.WAL_STRUCTS.record_header.unpack_from(data) == (
        rec.xl_tot_len, rec.xl_xid, rec.xl_prev, rec.xl_info, rec.xl_rmid, rec.xl_crc)
    assert xlog.RECORD_HEADER.size == xlog.WAL_STRUCTS.record_header.size == xlog.SIZE_OF_RECORD


@given(st.binary(min_size=16, max_size=16))
def test_fragment_headers(data: bytes) -> None:
    block = as_construct(xlog.BLOCK_HEADER).parse(data)
    assert xlog.WAL_STRUCTS.block_header.unpack_from(data, 1) == (block.fork_flags, block.data_length)
    image = as_construct(xlog.IMAGE_HEADER).parse(data)
    assert xlog.WAL_STRUCTS.image_header.unpack_from(data) == (image.length, image.hole_offset, image.bimg_info)
    assert xlog.IMAGE_HEADER.size == xlog.WAL_STRUCTS.image_header.size == 5
    locator = as_construct(xlog.REL_FILE_LOCATOR).parse(data)
    assert xlog.WAL_STRUCTS.locator_and_block.unpack_from(data) == (
        locator.spcOid, locator.dbOid, locator.relNumber, as_construct(xlog.BLOCK_NUMBER).parse(data[12:]))
    assert xlog.WAL_STRUCTS.uint16.unpack_from(data)[0] == as_construct(xlog.COMPRESS_HEADER).parse(data).hole_length


@given(st.binary(min_size=22, max_size=22))
def test_one_block_record(data: bytes) -> None:
    block = as_construct(xlog.BLOCK_HEADER).parse(data)
    locator = as_construct(xlog.REL_FILE_LOCATOR).parse(data[4:])
    fields = xlog.WAL_STRUCTS.one_block_record.unpack_from(data)
    assert fields[:7] == (block.id, block.fork_flags, block.data_length, locator.spcOid, locator.dbOid,
                          locator.relNumber, as_construct(xlog.BLOCK_NUMBER).parse(data[16:]))
    assert fields[7:] == (data[20], data[21])  # the short main data header: its id and length
    assert xlog.WAL_STRUCTS.one_block_record.size == (xlog.SIZE_OF_BLOCK_HEADER + xlog.SIZE_OF_LOCATOR_AND_BLOCK
                                                      + xlog.SIZE_OF_DATA_HEADER_SHORT)


@given(st.binary(min_size=46, max_size=46))
def test_counted_and_block_records(data: bytes) -> None:
    rec = as_construct(xlog.RECORD_HEADER).parse(data)
    block = as_construct(xlog.BLOCK_HEADER).parse(data[24:])
    locator = as_construct(xlog.REL_FILE_LOCATOR).parse(data[28:])
    header = (rec.xl_tot_len, rec.xl_prev, rec.xl_info | rec.xl_rmid << 8, rec.xl_crc)
    fragments = (block.id, block.fork_flags, block.data_length)
    short_data = (data[44], data[45])
    assert xlog.WAL_STRUCTS.counted_record.unpack_from(data) == (*header, *fragments, *short_data)
    assert xlog.WAL_STRUCTS.block_record.unpack_from(data) == (*header, *fragments, data[28:44], *short_data)
    assert xlog.WAL_STRUCTS.locator_and_block.unpack(data[28:44]) == (
        locator.spcOid, locator.dbOid, locator.relNumber, as_construct(xlog.BLOCK_NUMBER).parse(data[40:]))
    assert xlog.WAL_STRUCTS.counted_record.size == xlog.WAL_STRUCTS.block_record.size == xlog.SIZE_OF_RECORD + 22


@given(st.binary(min_size=26, max_size=26))
def test_one_image_record(data: bytes) -> None:
    block = as_construct(xlog.BLOCK_HEADER).parse(b"\0" + data)
    image = as_construct(xlog.IMAGE_HEADER).parse(data[3:])
    locator = as_construct(xlog.REL_FILE_LOCATOR).parse(data[8:])
    assert xlog.WAL_STRUCTS.one_image_record.unpack_from(data) == (
        block.fork_flags, block.data_length, image.length, image.hole_offset, image.bimg_info, locator.spcOid,
        locator.dbOid, locator.relNumber, as_construct(xlog.BLOCK_NUMBER).parse(data[20:]), data[24], data[25])


@given(st.binary(min_size=30, max_size=30))
def test_pair_record(data: bytes) -> None:
    first = as_construct(xlog.BLOCK_HEADER).parse(data)
    locator = as_construct(xlog.REL_FILE_LOCATOR).parse(data[4:])
    second = as_construct(xlog.BLOCK_HEADER).parse(data[20:])
    assert xlog.WAL_STRUCTS.pair_record.unpack_from(data) == (
        first.id, first.fork_flags, first.data_length, locator.spcOid, locator.dbOid, locator.relNumber,
        as_construct(xlog.BLOCK_NUMBER).parse(data[16:]), second.id, second.fork_flags, second.data_length,
        as_construct(xlog.BLOCK_NUMBER).parse(data[24:]), data[28], data[29])
    assert xlog.WAL_STRUCTS.same_rel_tail.unpack_from(data, 22) == (second.data_length, data[24:28], data[28], data[29])


@given(st.binary(min_size=24, max_size=24))
def test_counted_header(data: bytes) -> None:
    rec = as_construct(xlog.RECORD_HEADER).parse(data)
    assert xlog.WAL_STRUCTS.counted_header.unpack_from(data) == (
        rec.xl_tot_len, rec.xl_prev, rec.xl_info | rec.xl_rmid << 8, rec.xl_crc)


def _plain(container: object) -> object:
    """A construct Container as nested dicts, without its padding members."""
    if isinstance(container, dict):
        return {k: _plain(v) for k, v in container.items() if not k.startswith("_")}
    return container


@pytest.mark.parametrize("version", sorted(CONTROL_LAYOUTS))
@given(data=st.data())
def test_control_files_read_as_construct_reads_them(version: int, data: st.DataObject) -> None:
    """Every pg_control layout (the checkpoint copy nested in it) read with its one ``struct``
    format equals construct's parse, field by field; NaN aside, as floats compare."""
    layout = CONTROL_LAYOUTS[version].struct
    raw = data.draw(st.binary(min_size=layout.size, max_size=layout.size + 8))
    ours = unpack(layout, raw, what="control file")
    theirs = _plain(as_construct(layout).parse(raw))
    assert repr(_plain(ours)) == repr(theirs)
    assert ours.checkPointCopy.redo == int.from_bytes(raw[40 if version >= 1100 else 48:][:8], "little")
