"""C structs as x86-64 lays them out: each field at its natural alignment, the struct padded to its
widest member. Layouts list fields in C order and let this module place the padding, so the
offsets come from the same rules the C compiler applies rather than from hand-counted holes.

Each layout is read with the ``struct`` format it implies (``CType.code``): one C call for a
whole ``pg_control``, and the same formats the WAL loop compiles. (construct, which described
these layouts before, cost every command some 60 M instructions of imports for reading one 8 KB
file; the tests still hold each format equal to a construct parse of the same fields.)
"""

from __future__ import annotations

import functools
import struct as _struct
from collections.abc import Sequence
from typing import Any

import attrs

from pgrewindkit.errors import FormatError, TruncatedError


@attrs.frozen
class CType:
    """A C scalar, char array or struct: its ``struct`` codes (no byte order; padding as ``x``),
    size and alignment; a struct's ``parts`` are its members in order, each with the padding code
    before it (``""`` where there is none), and the tail padding in ``tail``."""

    code: str
    size: int
    align: int
    parts: tuple[tuple[str, str, CType], ...] = ()  # (name, padding before it, its type)
    tail: str = ""

    @property
    def is_struct(self) -> bool:
        return bool(self.parts)


def _scalar(code: str, size: int) -> CType:
    return CType(code, size, size)


uint8 = _scalar("B", 1)
bool_ = _scalar("?", 1)
uint16 = _scalar("H", 2)
uint32 = _scalar("I", 4)
int32 = _scalar("i", 4)
uint64 = _scalar("Q", 8)
int64 = _scalar("q", 8)
double = _scalar("d", 8)


def char_array(length: int) -> CType:
    return CType(f"{length}s", length, 1)


Field = tuple[str, CType]


def _pad(length: int) -> str:
    return f"{length}x" if length else ""


def struct(fields: Sequence[Field]) -> CType:
    """A C struct of ``fields`` in order, with the padding x86-64 inserts."""
    parts = []
    offset = 0
    align = 1
    for name, ctype in fields:
        gap = -offset % ctype.align
        parts.append((name, _pad(gap), ctype))
        offset += gap + ctype.size
        align = max(align, ctype.align)
    tail = -offset % align
    code = "".join(pad + ctype.code for _name, pad, ctype in parts) + _pad(tail)
    return CType(code, offset + tail, align, tuple(parts), _pad(tail))


def packed(fields: Sequence[Field]) -> CType:
    """Fields one after the other with no padding: the fragments of a WAL record, which
    PostgreSQL copies byte by byte rather than as aligned structs."""
    parts = tuple((name, "", ctype) for name, ctype in fields)
    return CType("".join(ctype.code for _name, _pad, ctype in parts), sum(c.size for _n, _p, c in parts), 1, parts)


def offset_of(fields: Sequence[Field], name: str) -> int:
    """``offsetof``: where ``name`` starts in ``struct(fields)``."""
    offset = 0
    for field_name, ctype in fields:
        offset += -offset % ctype.align
        if field_name == name:
            return offset
        offset += ctype.size
    raise KeyError(name)


def struct_format(ctype: CType, *, start: str | None = None) -> str:
    """The ``struct``-module codes that read ``ctype`` (without the byte-order prefix); with
    ``start``, a struct's members from the one named ``start`` on (and its tail padding)."""
    if start is None:
        return ctype.code
    names = [name for name, _pad, _ctype in ctype.parts]
    if start not in names:
        raise ValueError(f"no member {start!r} to start from")
    parts = ctype.parts[names.index(start):]
    return parts[0][2].code + "".join(pad + member.code for _name, pad, member in parts[1:]) + ctype.tail


class Fields(dict[str, Any]):
    """A parsed struct: its members by name, as keys and as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@functools.cache
def _compiled(ctype: CType) -> _struct.Struct:
    return _struct.Struct("<" + ctype.code)


def _nest(ctype: CType, values: Sequence[Any], at: int) -> tuple[Fields, int]:
    """``values[at:]`` (a flat unpack of ``ctype``) as named, nested fields; and where they end."""
    fields = Fields()
    for name, _pad, member in ctype.parts:
        if member.is_struct:
            fields[name], at = _nest(member, values, at)
        else:
            fields[name] = values[at]
            at += 1
    return fields, at


def unpack(ctype: CType, data: bytes | memoryview, *, what: str, path: str | None = None,
           offset: int = 0) -> Fields:
    """The struct ``ctype`` at the start of ``data``; the one place a short or undecodable buffer
    becomes our error (``offset``: where ``data`` starts in the file, for the message)."""
    if len(data) < ctype.size:
        raise TruncatedError(f"{what} is truncated ({len(data)} bytes, {ctype.size} needed)", path=path,
                             offset=offset)
    try:
        values = _compiled(ctype).unpack_from(data)
    except _struct.error as exc:
        raise FormatError(f"{what} cannot be decoded ({exc})", path=path, offset=offset) from None
    return _nest(ctype, values, 0)[0]
