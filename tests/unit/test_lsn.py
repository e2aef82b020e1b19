from __future__ import annotations

import pytest

from pgrewindkit import LSN, FormatError, WalSegment, check_segment_size, parse_timeline


@pytest.mark.parametrize(
    ("text", "value"),
    [("0/1F613C0", 0x1F613C0), ("0/1f613c0", 0x1F613C0), ("00000000/01F613C0", 0x1F613C0),
     ("A/0", 0xA << 32), ("FFFFFFFF/FFFFFFFF", 2**64 - 1), (" 1/2 ", (1 << 32) | 2)],
)
def test_parse(text: str, value: int) -> None:
    assert LSN.parse(text).value == value


@pytest.mark.parametrize("text", ["", "0", "0/", "/1", "0/1/2", "g/1", "0/123456789", "0x0/1", "-1/0"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(FormatError, match="invalid LSN"):
        LSN.parse(text)


def test_format_is_unpadded_upper_case() -> None:
    assert str(LSN(0x1F613C0)) == "0/1F613C0"
    assert str(LSN((0xAB << 32) | 0x28)) == "AB/28"
    assert repr(LSN(0)) == "LSN('0/0')"


def test_order_and_arithmetic() -> None:
    a, b = LSN.parse("0/100"), LSN.parse("1/0")
    assert a < b
    assert max(a, b) == b
    assert b - a == 0x100000000 - 0x100
    assert a + 0x100 == LSN(0x200)
    assert not LSN(0).is_valid
    assert a.is_valid
    with pytest.raises(FormatError):
        LSN(2**64)


def test_timeline_ids() -> None:
    assert parse_timeline("3") == 3
    for bad in ("0", "-1", "x", str(2**32)):
        with pytest.raises(FormatError):
            parse_timeline(bad)


@pytest.mark.parametrize("size_mb", [1, 2, 4, 16, 64, 256, 1024])
def test_segment_names_round_trip(size_mb: int) -> None:
    size = size_mb << 20
    per_id = 0x100000000 // size
    for segno in (0, 1, per_id - 1, per_id, 5 * per_id + 3):
        seg = WalSegment(7, segno)
        name = seg.file_name(size)
        assert WalSegment.from_file_name(name, size) == seg
        assert int(name[8:16], 16) == segno // per_id
        assert int(name[16:], 16) == segno % per_id


def test_segment_names_as_postgresql_writes_them() -> None:
    # pg_controldata's "REDO WAL file" of the pg15 fixture (1 MB segments) and a 16 MB name.
    assert WalSegment.containing(1, LSN.parse("0/6EAA50"), 1 << 20).file_name(1 << 20) == "000000010000000000000006"
    assert WalSegment.containing(2, LSN.parse("1/3027C90"), 16 << 20).file_name(16 << 20) == (
        "000000020000000100000003"
    )


def test_segment_name_errors() -> None:
    with pytest.raises(FormatError, match="not a WAL segment file name"):
        WalSegment.from_file_name("00000001000000000000000", 16 << 20)
    with pytest.raises(FormatError, match="low part"):
        WalSegment.from_file_name("000000010000000000000100", 16 << 20)
    with pytest.raises(FormatError, match="timeline 0"):
        WalSegment.from_file_name("000000000000000000000001", 16 << 20)
    for bad in (0, 1 << 19, 3 << 20, 2 << 30):
        with pytest.raises(FormatError, match="power of two"):
            check_segment_size(bad)
