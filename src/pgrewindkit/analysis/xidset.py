"""A set of transaction ids kept as bits: what the discarded-work pass remembers of every
transaction that ended after the divergence, in a size that does not grow with a busy primary's
millions of commits as a set of ints would (3.7 M xids: 460 KB of bits, not some 200 MB)."""

from __future__ import annotations

_CHUNK_BITS = 16  # xids per chunk: 65536, as 8 KB of bits; a chunk is made when one of its xids is added
_LOW = (1 << _CHUNK_BITS) - 1
_XIDS = 1 << 32  # TransactionId is 32 bits


class XidSet:
    """Transaction ids (32-bit), added and tested; ``len`` counts distinct ids. XIDs are handed out
    in order, so the ids of one stretch of WAL fill few chunks whatever their number."""

    __slots__ = ("_chunks", "_count")

    def __init__(self) -> None:
        self._chunks: dict[int, bytearray] = {}
        self._count = 0

    def add(self, xid: int) -> None:
        if not 0 <= xid < _XIDS:
            raise ValueError(f"not a transaction id: {xid}")
        chunk = self._chunks.get(xid >> _CHUNK_BITS)
        if chunk is None:
            chunk = self._chunks[xid >> _CHUNK_BITS] = bytearray(1 << (_CHUNK_BITS - 3))
        at, bit = (xid & _LOW) >> 3, 1 << (xid & 7)
        if not chunk[at] & bit:
            chunk[at] |= bit
            self._count += 1

    def __contains__(self, xid: object) -> bool:
        if not isinstance(xid, int) or xid < 0:
            return False
        chunk = self._chunks.get(xid >> _CHUNK_BITS)
        return chunk is not None and bool(chunk[(xid & _LOW) >> 3] & (1 << (xid & 7)))

    def __len__(self) -> int:
        return self._count
