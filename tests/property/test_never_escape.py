"""Whatever bytes come in, the readers return a model or raise a pgrewindkit error: nothing else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from pgrewindkit import LSN, PgRewindKitError, parse_control_file, read_timeline_history
from pgrewindkit.formats.crc import crc32c
from pgrewindkit.formats.lsn import WalSegment
from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS
from tests.support.shipped import FIXTURES, control_cases

REAL = [(FIXTURES / f"pg{m}" / f"pg_control.{n}").read_bytes() for m, n in control_cases()]


def _parse_or_error(data: bytes) -> None:
    with contextlib.suppress(PgRewindKitError):
        parse_control_file(data)


@given(st.binary(max_size=9000))
def test_any_bytes(data: bytes) -> None:
    _parse_or_error(data)


@settings(max_examples=300)
@given(st.sampled_from(REAL), st.lists(st.tuples(st.integers(0, 8191), st.integers(1, 255)), max_size=8),
       st.booleans())
def test_mutated_real_files(base: bytes, flips: list[tuple[int, int]], fix_crc: bool) -> None:
    """Bit flips anywhere; with the CRC recomputed, so that decoding and sanity checks are reached."""
    data = bytearray(base)
    for offset, mask in flips:
        data[offset] ^= mask
    if fix_crc:
        version = int.from_bytes(data[8:12], "little")
        layout = CONTROL_LAYOUTS.get(version)
        if layout is not None:
            at = layout.crc_offset
            data[at:at + 4] = crc32c(bytes(data[:at])).to_bytes(4, "little")
    _parse_or_error(bytes(data))


@given(st.binary(max_size=400) | st.text(alphabet="0123456789ABCDEFabcdefx/\t\n #+-", max_size=200).map(str.encode),
       st.none() | st.integers(0, 2**33))
def test_history_any_bytes(data: bytes, timeline: int | None) -> None:
    with contextlib.suppress(PgRewindKitError):
        read_timeline_history(data, timeline=timeline)


@given(st.integers(0, 2**64 - 1))
def test_lsn_text_round_trip(value: int) -> None:
    assert LSN.parse(str(LSN(value))) == LSN(value)
    assert LSN.parse(str(LSN(value)).lower()) == LSN(value)


@given(st.integers(1, 2**32 - 1), st.integers(0, 2**40), st.sampled_from([1 << s for s in range(20, 31)]))
def test_segment_name_round_trip(tli: int, segno: int, size: int) -> None:
    segno %= (2**64) // size
    seg = WalSegment(tli, segno)
    assert WalSegment.from_file_name(seg.file_name(size), size) == seg
