"""C structs as x86-64 lays them out: each field at its natural alignment, the struct padded to its
widest member. Layouts list fields in C order and let this module place the padding, so the
offsets come from the same rules the C compiler applies rather than from hand-counted holes."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import construct as c


@attrs.frozen
class CType:
    """A C scalar or struct: its construct, size and alignment."""

    construct: c.Construct
    size: int
    align: int


def _scalar(con: c.Construct, size: int) -> CType:
    return CType(con, size, size)


uint8 = _scalar(c.Int8ul, 1)
bool_ = _scalar(c.Flag, 1)
uint16 = _scalar(c.Int16ul, 2)
uint32 = _scalar(c.Int32ul, 4)
int32 = _scalar(c.Int32sl, 4)
uint64 = _scalar(c.Int64ul, 8)
int64 = _scalar(c.Int64sl, 8)
double = _scalar(c.Float64l, 8)


def char_array(length: int) -> CType:
    return CType(c.Bytes(length), length, 1)


Field = tuple[str, CType]


def struct(fields: Sequence[Field]) -> CType:
    """A C struct of ``fields`` in order, with the padding x86-64 inserts."""
    members: list[c.Subconstruct] = []
    offset = 0
    align = 1
    for index, (name, ctype) in enumerate(fields):
        gap = -offset % ctype.align
        if gap:
            members.append(f"_pad{index}" / c.Padding(gap))
            offset += gap
        members.append(name / ctype.construct)
        offset += ctype.size
        align = max(align, ctype.align)
    tail = -offset % align
    if tail:
        members.append("_pad_end" / c.Padding(tail))
        offset += tail
    return CType(c.Struct(*members), offset, align)


def offset_of(fields: Sequence[Field], name: str) -> int:
    """``offsetof``: where ``name`` starts in ``struct(fields)``."""
    offset = 0
    for field_name, ctype in fields:
        offset += -offset % ctype.align
        if field_name == name:
            return offset
        offset += ctype.size
    raise KeyError(name)
