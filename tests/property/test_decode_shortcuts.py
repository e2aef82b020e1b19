"""``record_decoder``'s shortcut for the commonest full-page-image record decodes (or refuses)
exactly as its general loop does, whatever the header fields say."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from pgrewindkit.formats.wal.decode import DecodeError, RawDecoded, record_decoder
from pgrewindkit.majors.wal import WAL_FORMATS

BLCKSZ = 8192
FORMATS = sorted(WAL_FORMATS.values(), key=lambda f: f.major)


def _outcome(decode: object, rec: bytes, detail: bool) -> RawDecoded | tuple[str, dict[str, object]]:
    assert callable(decode)
    try:
        result: RawDecoded = decode(rec, detail)
        return result
    except DecodeError as exc:
        return exc.key, exc.fields


def _assert_shortcut_equals_loop(fmt: object, header: bytes, body_len: int, detail: bool) -> None:
    """``header`` followed by ``body_len`` bytes (none when negative) decodes, or is refused, alike
    with the shortcuts and with the general loop alone."""
    body_len = max(0, body_len)
    rec = header + bytes(range(256)) * (body_len // 256) + bytes(body_len % 256)
    fast = record_decoder(fmt, BLCKSZ)  # type: ignore[arg-type]
    loop = record_decoder(fmt, BLCKSZ, shortcut=False)  # type: ignore[arg-type]
    assert _outcome(fast, rec, detail) == _outcome(loop, rec, detail)


@given(fmt=st.sampled_from(FORMATS), flags=st.integers(0, 255), data_len=st.sampled_from([0, 1, 7, 300]),
       image_len=st.sampled_from([0, 1, 100, BLCKSZ - 1, BLCKSZ, BLCKSZ + 1]),
       hole_offset=st.sampled_from([0, 1, 4000]), bimg_info=st.integers(0, 31),
       marker=st.sampled_from([255, 254, 253, 1]), main_len=st.sampled_from([0, 5]),
       slack=st.sampled_from([-1, 0, 1]), detail=st.booleans())
def test_image_shortcut_equals_the_loop(fmt: object, flags: int, data_len: int, image_len: int, hole_offset: int,
                                        bimg_info: int, marker: int, main_len: int, slack: int,
                                        detail: bool) -> None:
    header = b"\0" * 24 + struct.pack("<BBHHHBIIIIBB", 0, flags, data_len, image_len, hole_offset, bimg_info,
                                      1663, 5, 16384, 7, marker, main_len)
    _assert_shortcut_equals_loop(fmt, header, image_len + data_len + main_len + slack, detail)


def test_valid_image_records_take_the_shortcut_and_agree() -> None:
    for fmt in FORMATS:
        hole_bit = fmt.image_flags.has_hole
        for flags, data_len, image_len, hole_offset, bimg_info in (
                (0x10, 0, BLCKSZ, 0, 0), (0x30, 12, BLCKSZ - 300, 200, hole_bit), (0x11, 0, 100, 50, hole_bit),
                (0x30, 3, BLCKSZ, 0, fmt.image_flags.apply)):
            header = b"\0" * 24 + struct.pack("<BBHHHBIIIIBB", 0, flags, data_len, image_len, hole_offset, bimg_info,
                                              1663, 5, 16384, 7, 255, 9)
            rec = header + bytes(image_len + data_len + 9)
            expected = (image_len, 9, ((0, flags, data_len, 1663, 5, 16384, 7, image_len, hole_offset,
                                        BLCKSZ - image_len, bimg_info),), -1, -1)
            assert record_decoder(fmt, BLCKSZ)(rec, True) == expected
            assert record_decoder(fmt, BLCKSZ, shortcut=False)(rec, True) == expected


@given(fmt=st.sampled_from(FORMATS), flags0=st.integers(0, 255), len0=st.sampled_from([0, 1, 9]),
       id1=st.sampled_from([1, 2, 0, 255]), flags1=st.integers(0, 255), len1=st.sampled_from([0, 1, 6]),
       marker=st.sampled_from([255, 254, 253, 1]), main_len=st.sampled_from([0, 5]),
       slack=st.sampled_from([-1, 0, 1]), detail=st.booleans())
def test_pair_shortcut_equals_the_loop(fmt: object, flags0: int, len0: int, id1: int, flags1: int, len1: int,
                                       marker: int, main_len: int, slack: int, detail: bool) -> None:
    header = b"\0" * 24 + struct.pack("<BBHIIIIBBHIBB", 0, flags0, len0, 1663, 5, 16384, 7, id1, flags1, len1, 9,
                                      marker, main_len)
    _assert_shortcut_equals_loop(fmt, header, len0 + len1 + main_len + slack, detail)


def test_valid_pairs_take_the_shortcut_and_agree() -> None:
    for fmt in FORMATS:
        for flags0, len0, flags1, len1 in ((0x20, 12, 0x80, 0), (0x40, 0, 0xA0, 30), (0x21, 4, 0x82, 0)):
            header = b"\0" * 24 + struct.pack("<BBHIIIIBBHIBB", 0, flags0, len0, 1663, 5, 16384, 7, 1, flags1, len1,
                                              9, 255, 3)
            rec = header + bytes(len0 + len1 + 3)
            expected = (0, 3, ((0, flags0, len0, 1663, 5, 16384, 7, 0, 0, 0, 0),
                               (1, flags1, len1, 1663, 5, 16384, 9, 0, 0, 0, 0)), -1, -1)
            assert record_decoder(fmt, BLCKSZ)(rec, True) == expected
            assert record_decoder(fmt, BLCKSZ, shortcut=False)(rec, True) == expected
