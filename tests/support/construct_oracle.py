"""A second reading of the byte layouts: each ``CType`` as a construct ``Struct``, built member by
member (padding as ``Padding``) and parsed by construct's own code, to hold the ``struct`` formats
the library derives (``CType.code``, ``struct_format``, ``WAL_STRUCTS``) to the fields they claim."""

from __future__ import annotations

import functools

import construct as c

from pgrewindkit.majors.layouts.ctypes import CType

_SCALARS = {"B": c.Int8ul, "?": c.Flag, "H": c.Int16ul, "I": c.Int32ul, "i": c.Int32sl, "Q": c.Int64ul,
            "q": c.Int64sl, "d": c.Float64l}


@functools.cache
def as_construct(ctype: CType) -> c.Construct:
    if not ctype.parts:
        if ctype.code.endswith("s"):
            return c.Bytes(ctype.size)
        return _SCALARS[ctype.code]
    members: list[c.Subconstruct] = []
    for index, (name, pad, member) in enumerate(ctype.parts):
        if pad:
            members.append(f"_pad{index}" / c.Padding(int(pad[:-1])))
        members.append(name / as_construct(member))
    if ctype.tail:
        members.append("_pad_end" / c.Padding(int(ctype.tail[:-1])))
    return c.Struct(*members)
