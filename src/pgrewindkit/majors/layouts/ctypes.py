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


def struct_format(con: c.Construct, *, start: str | None = None) -> str:
    """The ``struct``-module codes that read the same bytes as ``con`` (without the byte-order
    prefix; explicit padding becomes ``x``). With ``start``, a ``Struct``'s members from the one
    named ``start`` on. The hot loops compile these instead of spelling the formats a second time."""
    if isinstance(con, c.Renamed | c.Const):
        return struct_format(con.subcon, start=start)
    if isinstance(con, c.Struct):
        members = list(con.subcons)
        if start is not None:
            names = [member.name for member in members]
            members = members[names.index(start):]
        return "".join(struct_format(member) for member in members)
    if start is not None:
        raise ValueError(f"{con!r} has no members to start from")
    if isinstance(con, c.FormatField):
        return str(con.fmtstr).lstrip("<")
    if con is c.Flag:
        return "?"
    if isinstance(con, c.Padded):
        return f"{con.length}x"
    if isinstance(con, c.Bytes):
        return f"{con.length}s"
    raise TypeError(f"no struct equivalent for {con!r}")
