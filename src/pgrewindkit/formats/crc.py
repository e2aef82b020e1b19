"""CRC-32C (Castagnoli), the checksum of pg_control and of every WAL record since 9.5.

``google-crc32c`` gives a C (hardware-accelerated where the CPU can) implementation; when it is not
installed a table-driven pure-Python implementation, tested to agree, is used instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


@functools.cache  # built on first use: with google-crc32c the table is never needed
def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)



def extend_python(crc: int, data: bytes) -> int:
    """Continue the finalised CRC-32C ``crc`` over ``data`` (pure Python)."""
    table = _table()
    value = crc ^ 0xFFFFFFFF
    for byte in data:
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ 0xFFFFFFFF


def _load_fast() -> tuple[Callable[[int, bytes], int], str]:
    try:
        import google_crc32c
    except ImportError:
        return extend_python, "python"
    if google_crc32c.implementation != "c":
        return extend_python, "python"
    fast: Callable[[int, bytes], int] = google_crc32c.extend
    return fast, "c"


extend, IMPLEMENTATION = _load_fast()
"""``extend(crc, data)``: the CRC-32C of the bytes already covered by ``crc`` followed by ``data``."""


def crc32c(data: bytes) -> int:
    return extend(0, data)
