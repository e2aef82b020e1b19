"""WAL positions (LSNs), timeline IDs and WAL segment file names."""

from __future__ import annotations

import re
from typing import NewType

import attrs

from pgrewindkit.errors import FormatError

TimelineID = NewType("TimelineID", int)
"""A timeline: 1 for a fresh cluster, one more at every promotion. PostgreSQL's ``TimeLineID`` (uint32)."""

MAX_UINT32 = 0xFFFFFFFF
MAX_UINT64 = 0xFFFFFFFFFFFFFFFF
MIN_WAL_SEGMENT_SIZE = 1 << 20
MAX_WAL_SEGMENT_SIZE = 1 << 30

# "%X/%X" as PostgreSQL prints it; 19 pads the low half to 8 digits, and any case is accepted.
_LSN_RE = re.compile(r"\s*([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})\s*")
_DECIMAL_RE = re.compile(r"[ \t\n\r\f\v]*\+?[0-9]+[ \t\n\r\f\v]*")
_SEGMENT_RE = re.compile(r"([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})")


@attrs.frozen(order=True)
class LSN:
    """A position in the WAL stream (``XLogRecPtr``): an unsigned 64-bit byte offset."""

    value: int = attrs.field()

    @value.validator
    def _check(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if not 0 <= value <= MAX_UINT64:
            raise FormatError(f"LSN {value} is out of the 64-bit range")

    @classmethod
    def parse(cls, text: str) -> LSN:
        """Parse ``"0/1F613C0"`` (either case, zero-padded or not)."""
        match = _LSN_RE.fullmatch(text)
        if match is None:
            raise FormatError(f"invalid LSN {text!r}: expected two hexadecimal halves like 0/1F613C0")
        return cls((int(match[1], 16) << 32) | int(match[2], 16))

    @property
    def high(self) -> int:
        return self.value >> 32

    @property
    def low(self) -> int:
        return self.value & MAX_UINT32

    @property
    def is_valid(self) -> bool:
        """PostgreSQL's ``XLogRecPtrIsInvalid`` is the opposite: 0/0 means "none"."""
        return self.value != 0

    def __str__(self) -> str:
        return f"{self.high:X}/{self.low:X}"

    def __repr__(self) -> str:
        return f"LSN('{self}')"

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __add__(self, other: int) -> LSN:
        if isinstance(other, LSN):
            return NotImplemented
        return LSN(self.value + other)

    def __sub__(self, other: LSN | int) -> int:
        """``lsn - lsn`` is a byte distance; ``lsn - n`` is not offered, to keep types honest."""
        if isinstance(other, LSN):
            return self.value - other.value
        return NotImplemented

    def segment_number(self, segment_size: int) -> int:
        """The segment holding this position (``XLByteToSeg``)."""
        return self.value // segment_size

    def segment_offset(self, segment_size: int) -> int:
        return self.value % segment_size


INVALID_LSN = LSN(0)


def parse_timeline(value: str | int) -> TimelineID:
    """A timeline ID from text (decimal) or int; 1 to 2**32-1."""
    if isinstance(value, str):
        # ASCII digits only, as strtoul reads them: int() would take other scripts' digits and "1_0"
        if _DECIMAL_RE.fullmatch(value) is None:
            raise FormatError(f"invalid timeline ID {value!r}: expected a positive number")
        value = int(value)
    tli = int(value)
    if not 1 <= tli <= MAX_UINT32:
        raise FormatError(f"invalid timeline ID {value!r}: expected 1 to {MAX_UINT32}")
    return TimelineID(tli)


def check_segment_size(size: int) -> int:
    """PostgreSQL's ``IsValidWalSegSize``: a power of two from 1 MB to 1 GB."""
    if size & (size - 1) or not MIN_WAL_SEGMENT_SIZE <= size <= MAX_WAL_SEGMENT_SIZE:
        raise FormatError(
            f"invalid WAL segment size {size} bytes: must be a power of two between 1 MB and 1 GB"
        )
    return size


def _segments_per_xlog_id(segment_size: int) -> int:
    return 0x100000000 // check_segment_size(segment_size)


@attrs.frozen(order=True)
class WalSegment:
    """A WAL segment file: the timeline it was written on and its number in the WAL stream."""

    timeline: int
    segno: int

    def file_name(self, segment_size: int) -> str:
        """``XLogFileName``: ``%08X%08X%08X`` of timeline, segno / per-id, segno % per-id."""
        per_id = _segments_per_xlog_id(segment_size)
        return f"{self.timeline:08X}{self.segno // per_id:08X}{self.segno % per_id:08X}"

    def start(self, segment_size: int) -> LSN:
        return LSN(self.segno * segment_size)

    @classmethod
    def containing(cls, timeline: int, lsn: LSN, segment_size: int) -> WalSegment:
        return cls(timeline, lsn.segment_number(check_segment_size(segment_size)))

    @classmethod
    def from_file_name(cls, name: str, segment_size: int) -> WalSegment:
        """Parse a segment file name; the low part must fit the segment size, as PostgreSQL checks."""
        match = _SEGMENT_RE.fullmatch(name)
        if match is None:
            raise FormatError(f"{name!r} is not a WAL segment file name (24 upper-case hex digits)")
        tli, log, seg = (int(part, 16) for part in match.groups())
        per_id = _segments_per_xlog_id(segment_size)
        if seg >= per_id:
            raise FormatError(
                f"{name!r} is not a WAL segment name for {segment_size}-byte segments "
                f"(its low part must be below {per_id:08X})"
            )
        if tli == 0:
            raise FormatError(f"{name!r} names timeline 0, which does not exist")
        return cls(tli, log * per_id + seg)


def is_segment_file_name(name: str) -> bool:
    return _SEGMENT_RE.fullmatch(name) is not None
