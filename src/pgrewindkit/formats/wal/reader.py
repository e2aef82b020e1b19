"""Reading WAL records as PostgreSQL's xlogreader does (``XLogDecodeNextRecord``,
``ReadPageInternal``, ``XLogReaderValidatePageHeader``, ``ValidXLogRecordHeader``,
``ValidXLogRecord``, ``XLogFindNextRecord``), stopping where it stops and saying why in its words.

The loop yields raw tuples; ``records.py`` turns them into typed records when asked.
"""

from __future__ import annotations

import functools
import mmap
from collections.abc import Iterator
from typing import Any, NoReturn

import attrs

from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats import crc
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal.decode import DecodeError, RawBlock, RawDecoded, record_decoder
from pgrewindkit.formats.wal.segments import MappedSegment, WalDirectory
from pgrewindkit.majors.layouts.xlog import (
    BKPBLOCK_FORK_MASK,
    BKPBLOCK_HAS_DATA,
    BKPBLOCK_IMAGE_OR_SAME_REL,
    BKPBLOCK_SAME_REL,
    CRC_OFFSET,
    LONG_PAGE_TAIL_OFFSET,
    SIZE_OF_BLOCK_HEADER,
    SIZE_OF_DATA_HEADER_SHORT,
    SIZE_OF_LOCATOR_AND_BLOCK,
    SIZE_OF_LONG_PHD,
    SIZE_OF_RECORD,
    SIZE_OF_SHORT_PHD,
    WAL_STRUCTS,
    XLP_ALL_FLAGS,
    XLP_BKP_REMOVABLE,
    XLP_FIRST_IS_CONTRECORD,
    XLP_FIRST_IS_OVERWRITE_CONTRECORD,
    XLP_LONG_HEADER,
    XLR_BLOCK_ID_DATA_SHORT,
    XLR_INFO_MASK,
    XLR_SPECIAL_REL_UPDATE,
)
from pgrewindkit.majors.rmgrs import MIN_CUSTOM_RMID, RM_XLOG_ID, XLOG_SWITCH
from pgrewindkit.majors.wal import WalFormat

# (lsn, end, prev, xid, info, rmid, tot_len, fpi_len, main_data_len, blocks, origin, toplevel_xid,
#  timeline, record bytes)
RawRecord = tuple[int, int, int, int, int, int, int, int, int, tuple[RawBlock, ...], int, int, int, bytes]

_extend = crc.extend
MAXIMUM_ALIGNOF = 8  # x86-64's MAXALIGN: records start on 8-byte boundaries
_ALIGN_MASK = MAXIMUM_ALIGNOF - 1


def _lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _maxalign(value: int) -> int:
    return (value + _ALIGN_MASK) & ~_ALIGN_MASK


def _page_start_if_first(pos: int, blcksz: int) -> int:
    """Where a narrow run that stopped at ``pos`` says it stopped: the start of the page when ``pos``
    is the first record after a short page header, as the record before it ended there (where the
    general path begins, and where it says valid WAL ends if that record fails)."""
    return pos - SIZE_OF_SHORT_PHD if pos % blcksz == SIZE_OF_SHORT_PHD else pos


@attrs.frozen
class EndOfWal:
    """Where reading stopped and why, in PostgreSQL's words.

    ``lsn`` is where the record that could not be read was to start (the end of valid WAL);
    ``reported_at`` is the record pg_waldump names in "error in WAL record at ..." (the last one it
    returned, or the failing one for decoding errors up to 14). ``reached_end`` is True when the
    caller's end LSN stopped the scan, not an error.
    """

    lsn: LSN
    reason: str
    reported_at: LSN
    reached_end: bool = False
    last_record: LSN | None = None
    missing_segment: str | None = None  # the segment file that was not there, when that is why

    @property
    def message(self) -> str:
        if self.reached_end:
            return f"reached end LSN {self.lsn}"
        return f"error in WAL record at {self.reported_at}: {self.reason}"


TALLY_SLOTS = 256 * 16  # every (xl_rmid, xl_info >> 4)


def tally_slot(rmid: int, info: int) -> int:
    """A record's slot in a ``Tally``: its resource manager and the high half of ``xl_info``, as the
    header has them (how pg_waldump groups them into record types is the statistics' business)."""
    return (rmid << 4) | (info >> 4)


@attrs.define
class Tally:
    """Counts and sizes per ``tally_slot``, and the first and last record counted."""

    counts: list[int] = attrs.field(factory=lambda: [0] * TALLY_SLOTS)
    rec_lens: list[int] = attrs.field(factory=lambda: [0] * TALLY_SLOTS)
    fpi_lens: list[int] = attrs.field(factory=lambda: [0] * TALLY_SLOTS)
    first: int = -1
    first_prev: int = -1
    last: int = -1
    last_end: int = -1

    def add(self, lsn: int, end: int, prev: int, rmid: int, info: int, tot_len: int, fpi_len: int) -> None:
        """Count one record (the reader's ``records(tally=...)`` does this inline)."""
        slot = tally_slot(rmid, info)
        self.counts[slot] += 1
        self.rec_lens[slot] += tot_len - fpi_len
        self.fpi_lens[slot] += fpi_len
        if self.first < 0:
            self.first, self.first_prev = lsn, prev
        self.last, self.last_end = lsn, end


_ONE = 1 << 64  # one record in a packed slot: count << 64 | sum of lengths (a sum never reaches 2**64)
_SHORT_DATA_ONLY = SIZE_OF_RECORD + SIZE_OF_DATA_HEADER_SHORT
_SWITCH_SLOT = tally_slot(RM_XLOG_ID, XLOG_SWITCH)
# a pair (block 0, block 1 with SAME_REL, short main data; see WalStructs.pair_record): its least
# length, and where what follows block 1's id and fork_flags begins
_PAIR_MIN = SIZE_OF_RECORD + WAL_STRUCTS.pair_record.size
_PAIR_TAIL_AT = SIZE_OF_RECORD + SIZE_OF_BLOCK_HEADER + SIZE_OF_LOCATOR_AND_BLOCK + 2
_IMAGE_SAME_REL_OR_DATA = BKPBLOCK_IMAGE_OR_SAME_REL | BKPBLOCK_HAS_DATA


class _Switch(Exception):
    """A SWITCH reached the counting loop: the general path reads it."""


class _SwitchSlot:
    """What the counting loop's slot for a SWITCH holds: adding to it raises ``_Switch``, so the
    loop finds a SWITCH without a comparison per record (and no other error is taken for one)."""

    def __add__(self, other: object) -> NoReturn:
        raise _Switch

    def __bool__(self) -> bool:  # never counted: ``_unpack_into`` skips it
        return False


def _counting_slots(max_builtin_rmid: int) -> list[Any]:
    """The counting loop's packed slots, one per built-in (rmid, info >> 4); a SWITCH's is a
    ``_SwitchSlot``."""
    packed: list[Any] = [0] * ((max_builtin_rmid + 1) << 4)
    packed[_SWITCH_SLOT] = _SwitchSlot()
    return packed


@functools.cache
def _refused_by_block_run(max_builtin_rmid: int) -> bytes:
    """For each ``xl_info | xl_rmid << 8``, whether a plan's loop leaves the record to the general
    path on its header alone: a resource manager past the built-in ones, XLR_SPECIAL_REL_UPDATE
    (its blocks are not all in the block references), a SWITCH. One index per record."""
    size, special, switch = 1 << 16, XLR_SPECIAL_REL_UPDATE, _SWITCH_SLOT << 4
    limit = (max_builtin_rmid + 1) << 8
    assert limit <= size and special & (special - 1) == 0, "an rmid is one byte; the flag one bit"
    # each rule as 0/1 bytes, ORed as integers (a loop over 65536 values would cost milliseconds)
    rules = (bytes(limit) + b"\1" * (size - limit),
             (bytes(special) + b"\1" * special) * (size // (2 * special)),
             bytes(switch) + b"\1" * 16 + bytes(size - switch - 16))
    refused = 0
    for rule in rules:
        refused |= int.from_bytes(rule, "big")
    return refused.to_bytes(size, "big")


def _unpack_into(packed: list[Any], tally: Tally) -> None:
    """Add the counting loop's packed slots into ``tally`` (record lengths: no images there)."""
    counts, rec_lens = tally.counts, tally.rec_lens
    mask = _ONE - 1
    for slot, value in enumerate(packed):
        if value:
            counts[slot] += value >> 64
            rec_lens[slot] += value & mask


@attrs.define
class BlockSink:
    """Where ``records(sink=...)`` puts what its narrow loop reads without yielding a tuple: the
    main-fork blocks of the records it took, as ``keys``, and the last of them (``last``,
    ``last_end``; -1 before any). Records with ``XLR_SPECIAL_REL_UPDATE``, and any whose end is at
    or past ``endpoint``, are always yielded; ``blocks`` is for the caller's tuples of those."""

    endpoint: int
    blocks: set[tuple[int, int, int, int]] = attrs.field(factory=set)
    last: int = -1
    last_end: int = -1
    # the narrow loop's blocks as the 16 bytes of RelFileLocator and BlockNumber (one object per
    # record instead of five); ``all_blocks()`` decodes them once each
    keys: set[bytes] = attrs.field(factory=set)

    def all_blocks(self) -> set[tuple[int, int, int, int]]:
        """``blocks`` and the decoded ``keys``."""
        # joined and unpacked in one C loop: several times cheaper than one unpack call per key
        return self.blocks | set(WAL_STRUCTS.locator_and_block.iter_unpack(b"".join(self.keys)))


class _Stop(Exception):
    """Reading cannot go on; carries the reason (and whether it is an error or the requested end)."""

    def __init__(self, reason: str, *, reached_end: bool = False, reported_at: int | None = None,
                 missing_segment: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reached_end = reached_end
        self.reported_at = reported_at
        self.missing_segment = missing_segment


class WalReader:
    """Reads records from a WAL directory, following its timeline history."""

    def __init__(self, wal: WalDirectory, fmt: WalFormat, *, blcksz: int = 8192,
                 system_identifier: int | None = None) -> None:
        self.wal = wal
        self.fmt = fmt
        self.msg = fmt.messages
        structs = fmt.structs
        self._unpack_page = structs.page_header.unpack_from
        self._unpack_long_tail = structs.long_page_tail.unpack_from
        self._unpack_header = structs.record_header.unpack_from
        self._unpack_u32 = structs.uint32.unpack_from
        self._unpack_one_block = structs.one_block_record.unpack_from
        self._one_block_size = structs.one_block_record.size
        self._one_block_min = SIZE_OF_RECORD + structs.one_block_record.size
        self._unpack_counted = structs.counted_record.unpack_from
        self._unpack_counted_header = structs.counted_header.unpack_from
        self._unpack_block_record = structs.block_record.unpack_from
        self._unpack_same_rel_tail = structs.same_rel_tail.unpack_from
        self._counted_size = structs.counted_record.size
        self.max_builtin_rmid = fmt.max_builtin_rmid
        self._magic = fmt.version.wal_page_magic
        self._max_record_length = fmt.max_record_length
        self._decode_record = record_decoder(fmt, blcksz)
        self.blcksz = blcksz
        self.seg_size = wal.segment_size
        self.system_identifier = system_identifier
        self.custom_rmgrs = fmt.custom_rmgrs
        self.end_of_wal: EndOfWal | None = None
        # the open segment
        self._segno = -1
        self._seg: MappedSegment | None = None
        self._seg_tli = 0
        self._seg_name = ""
        # ReadPageInternal's state
        self._page_ptr = -1
        self._page_info = 0
        self._page_rem_len = 0
        self._latest_page_ptr = 0
        self._latest_page_tli = 0

    def close(self) -> None:
        if self._seg is not None:
            self._seg.close()
            self._seg = None
            self._segno = -1

    # -- pages ---------------------------------------------------------------------------------------

    def _open_segment(self, segno: int) -> None:
        if self._seg is not None:
            self._seg.close()
            self._seg = None
        self._segno = -1
        seg_file = self.wal.segment_file(segno)
        try:
            self._seg = MappedSegment(seg_file.path)
        except PgRewindKitError as exc:
            raise _Stop(f'could not find file "{seg_file.name}": {exc.problem}',
                        missing_segment=seg_file.name) from None
        self._segno = segno
        self._seg_tli = seg_file.segment.timeline
        self._seg_name = seg_file.name

    def _load_page(self, page_ptr: int) -> None:
        """``ReadPageInternal``: make ``page_ptr`` the current page, validating its header (and, on
        entering a segment in the middle, the segment's first page first)."""
        seg_size = self.seg_size
        segno = page_ptr // seg_size
        if segno != self._segno:
            self._open_segment(segno)
            offset = page_ptr % seg_size
            if offset:
                self._validate_page(page_ptr - offset)
        self._validate_page(page_ptr)

    def _validate_page(self, page_ptr: int) -> None:
        seg = self._seg
        assert seg is not None
        blcksz = self.blcksz
        offset = page_ptr % self.seg_size
        if offset + blcksz > seg.size:
            got = max(0, seg.size - offset)
            raise _Stop(f"could not read from file {self._seg_name}, offset {offset}: read {got} of {blcksz}")
        data = seg.data
        magic, info, tli, pageaddr, rem_len = self._unpack_page(data, offset)
        if (magic != self.fmt.version.wal_page_magic or info & ~XLP_ALL_FLAGS
                or (not info & XLP_LONG_HEADER and offset == 0) or pageaddr != page_ptr
                or (page_ptr > self._latest_page_ptr and tli < self._latest_page_tli)):
            self._page_error(page_ptr, offset, magic, info, tli, pageaddr)
        if info & XLP_LONG_HEADER:
            sysid, seg_size, xlog_blcksz = self._unpack_long_tail(data, offset + LONG_PAGE_TAIL_OFFSET)
            msg = self.msg
            if self.system_identifier and sysid != self.system_identifier:
                raise _Stop(msg.sysid_mismatch.format(wal=sysid, control=self.system_identifier))
            if seg_size != self.seg_size:
                raise _Stop(msg.seg_size_mismatch)
            if xlog_blcksz != blcksz:
                raise _Stop(msg.blcksz_mismatch)
        self._latest_page_ptr = page_ptr
        self._latest_page_tli = tli
        self._page_ptr = page_ptr
        self._page_info = info
        self._page_rem_len = rem_len
        seg.release_before(offset)

    def _page_error(self, page_ptr: int, offset: int, magic: int, info: int, tli: int, pageaddr: int) -> None:
        """``XLogReaderValidatePageHeader``'s refusals, in its order (the message's place is only
        formatted for a page that fails)."""
        msg = self.msg
        where = {"file": self._seg_name, "offset": offset, "lsn": _lsn(page_ptr)}
        if magic != self.fmt.version.wal_page_magic:
            raise _Stop(msg.invalid_magic.format(magic=magic, **where))
        if info & ~XLP_ALL_FLAGS:
            raise _Stop(msg.invalid_info_bits.format(info=info, **where))
        if info & XLP_LONG_HEADER:
            assert self._seg is not None
            sysid, seg_size, xlog_blcksz = self._unpack_long_tail(self._seg.data, offset + LONG_PAGE_TAIL_OFFSET)
            if self.system_identifier and sysid != self.system_identifier:
                raise _Stop(msg.sysid_mismatch.format(wal=sysid, control=self.system_identifier))
            if seg_size != self.seg_size:
                raise _Stop(msg.seg_size_mismatch)
            if xlog_blcksz != self.blcksz:
                raise _Stop(msg.blcksz_mismatch)
        elif offset == 0:
            raise _Stop(msg.invalid_info_bits.format(info=info, **where))
        if pageaddr != page_ptr:
            raise _Stop(msg.unexpected_pageaddr.format(pageaddr=_lsn(pageaddr), **where))
        raise _Stop(msg.out_of_sequence_tli.format(tli=tli, previous=self._latest_page_tli, **where))

    def _header_size(self) -> int:
        return SIZE_OF_LONG_PHD if self._page_info & XLP_LONG_HEADER else SIZE_OF_SHORT_PHD

    # -- finding the first record ------------------------------------------------------------------

    def find_next_record(self, start: LSN) -> LSN | None:
        """``XLogFindNextRecord``: the first record that starts at or after ``start``."""
        blcksz = self.blcksz
        ptr = start.value
        try:
            while True:
                page_ptr = ptr - ptr % blcksz
                self._load_page(page_ptr)
                header = self._header_size()
                if self._page_info & XLP_FIRST_IS_CONTRECORD:
                    if _maxalign(self._page_rem_len) >= blcksz - header:
                        ptr = page_ptr + blcksz
                        continue
                    ptr = page_ptr + header + _maxalign(self._page_rem_len)
                else:
                    ptr = page_ptr + header
                break
        except _Stop as stop:
            self.end_of_wal = EndOfWal(LSN(ptr), stop.reason, LSN(0), missing_segment=stop.missing_segment)
            return None
        for record in self.records(LSN(ptr)):
            if record[0] >= start.value:
                return LSN(record[0])
        return None

    # -- records -----------------------------------------------------------------------------------

    def records(self, start: LSN, *, end: LSN | None = None, prev: LSN | None = None,
                detail: bool = True, until: LSN | None = None, tally: Tally | None = None,
                sink: BlockSink | None = None) -> Iterator[RawRecord]:
        """Records from ``start`` (a record boundary, or a page start) until the end of valid WAL,
        until a record would extend past ``end``, or (``until``) until one would start at or after
        it; then ``self.end_of_wal`` says why it stopped.

        ``prev`` is the LSN of the record before ``start`` when known; without it the first
        record's prev-link is only checked to point backwards (xlogreader's random access).
        Without ``detail`` the tuples carry no block references and no record bytes. With a
        ``tally`` nothing is yielded: each record is counted into it (``waldump --stats``). With a
        ``sink`` (a plan's page map), the commonest records only add their main-fork blocks to it
        and are not yielded; the rest are (see ``BlockSink``).
        """
        counting = tally is not None
        narrow = counting or sink is not None
        if tally is not None:
            detail = False
            counts, rec_lens, fpi_lens = tally.counts, tally.rec_lens, tally.fpi_lens
        # the counting loop's count and length sums, one integer per slot (count << 64 | sum of
        # lengths): one addition per record instead of two; added into the tally at the end
        packed = _counting_slots(self.max_builtin_rmid) if counting else []
        slow_at = -1  # the record the counting loop stopped at: the general path reads it
        rec_ptr = wal_end = start.value
        prev_ptr = prev.value if prev is not None else -1
        last_read = -1
        no_limit = 1 << 65
        end_ptr = end.value if end is not None else no_limit
        start_limit = min(end_ptr, until.value if until is not None else no_limit)
        fast_limit = start_limit  # the narrow loops read pages that end at or before every limit
        if sink is not None:  # ... and before the endpoint, so that no record they take reaches it
            fast_limit = min(fast_limit, sink.endpoint - 1)
        blcksz = self.blcksz
        seg_size = self.seg_size
        max_rmid = self.max_builtin_rmid
        custom = self.custom_rmgrs
        msg = self.msg
        header_unpack = self._unpack_header
        u32 = self._unpack_u32
        one_block = self._unpack_one_block
        # the shortcuts' record lengths: a header and short main data; and with one block before it
        short_data_only = SIZE_OF_RECORD + SIZE_OF_DATA_HEADER_SHORT
        one_block_min = SIZE_OF_RECORD + self._one_block_size
        # the constants the loop reads, as locals (as fast as literals)
        data_short, image_or_same_rel, has_data = XLR_BLOCK_ID_DATA_SHORT, BKPBLOCK_IMAGE_OR_SAME_REL, BKPBLOCK_HAS_DATA
        align_mask, align_clear = _ALIGN_MASK, ~_ALIGN_MASK
        extend = _extend
        current_page = -1
        page_info = header_size = seg_base = seg_tli = 0
        data: bytes | mmap.mmap = b""
        self.end_of_wal = None
        try:
            while True:
                wal_end = rec_ptr  # where the next record begins: the end of valid WAL if it fails
                if rec_ptr >= start_limit:
                    raise _Stop("", reached_end=True)
                off = rec_ptr % blcksz
                page_ptr = rec_ptr - off
                if page_ptr != current_page:
                    self._load_page(page_ptr)
                    current_page, page_info, header_size, seg_base, seg_tli, data = self._page_state()
                if off < header_size:
                    if off:
                        raise _Stop(msg.invalid_record_offset.format(lsn=_lsn(rec_ptr), expected=header_size,
                                                                     got=off))
                    rec_ptr += header_size
                    off = header_size
                if off == header_size and page_info & XLP_FIRST_IS_CONTRECORD:
                    raise _Stop(msg.contrecord_requested.format(lsn=_lsn(rec_ptr)))
                pos = rec_ptr - seg_base
                if narrow and rec_ptr != slow_at and last_read >= 0 and current_page + blcksz <= fast_limit:
                    # a narrow run from here through this segment; it stops at the first record it
                    # does not take, which the general path below then reads. It ends before any
                    # limit, within this segment, and at least every RELEASE_EVERY bytes so that
                    # the pages read are released (``_load_page``)
                    limit = min(seg_size, fast_limit - seg_base, pos - off + MappedSegment.RELEASE_EVERY)
                    if tally is not None:
                        stop, taken = self._count_run(data, pos, limit, prev_ptr, seg_base, self._latest_page_tli,
                                                      packed, fpi_lens)
                    else:
                        assert sink is not None
                        stop, taken = self._block_run(data, pos, limit, prev_ptr, seg_base, self._latest_page_tli,
                                                      sink.keys)
                    if taken != prev_ptr:
                        if tally is not None:
                            tally.last, tally.last_end = taken, seg_base + stop
                        else:
                            assert sink is not None
                            sink.last, sink.last_end = taken, seg_base + stop
                        last_read = prev_ptr = taken
                        slow_at = rec_ptr = seg_base + stop
                        continue
                    slow_at = rec_ptr  # it took nothing: the general path reads this record
                tli = seg_tli  # the timeline of the file the record starts in
                if off <= blcksz - SIZE_OF_RECORD:
                    tot_len, xid, xl_prev, info, rmid, xl_crc = header_unpack(data, pos)
                    if (tot_len < SIZE_OF_RECORD or (rmid > max_rmid and not (custom and rmid >= MIN_CUSTOM_RMID))
                            or (xl_prev != prev_ptr if prev_ptr >= 0 else xl_prev >= rec_ptr)):
                        self._check_header(rec_ptr, tot_len, rmid, xl_prev, prev_ptr, custom)
                    got_header = True
                else:
                    tot_len = u32(data, pos)[0]
                    if tot_len < SIZE_OF_RECORD:
                        raise _Stop(msg.invalid_record_length.format(lsn=_lsn(rec_ptr), expected=SIZE_OF_RECORD,
                                                                     got=tot_len))
                    got_header = False
                if rec_ptr + tot_len > end_ptr:
                    raise _Stop("", reached_end=True)
                if off + tot_len <= blcksz:
                    body = pos + SIZE_OF_RECORD
                    # one call over body and header joined: cheaper than two calls (see docs/performance.md)
                    if extend(0, data[body:pos + tot_len] + data[pos:pos + CRC_OFFSET]) != xl_crc:
                        raise _Stop(msg.bad_crc.format(lsn=_lsn(rec_ptr)))
                    next_ptr = rec_ptr + ((tot_len + align_mask) & align_clear)
                    decoded: RawDecoded | None = None
                    first_id = data[body] if tot_len > SIZE_OF_RECORD else -1
                    if first_id == data_short and tot_len == short_data_only + data[body + 1]:
                        # the commonest shapes, checked as DecodeXLogRecord would; anything else goes to
                        # the full decoder. No block references, short main data:
                        decoded = (0, tot_len - short_data_only, (), -1, -1)
                    elif (first_id == 0 and tot_len >= one_block_min
                          and not data[body + 1] & image_or_same_rel):
                        # block 0 without image or SAME_REL, then short main data
                        _id, flags, data_len, spc, db, rel, blkno, marker, main_len = one_block(data, body)
                        if (marker == data_short and tot_len == one_block_min + data_len + main_len
                                and bool(flags & has_data) == (data_len != 0)):
                            decoded = (0, main_len, ((0, flags, data_len, spc, db, rel, blkno, 0, 0, 0, 0),)
                                       if detail else (), -1, -1)
                    if decoded is not None:
                        rec = data[pos:pos + tot_len] if detail else b""
                    else:
                        rec = data[pos:pos + tot_len]
                        decoded = self._decode(rec, rec_ptr, last_read, detail)
                else:
                    assembled = self._assemble(rec_ptr, page_ptr, off, tot_len, got_header, prev_ptr)
                    current_page, page_info, header_size, seg_base, seg_tli, data = self._page_state()
                    if assembled is None:  # an overwritten continuation: start again on that page
                        rec_ptr = current_page
                        continue
                    rec, next_ptr = assembled
                    tot_len, xid, xl_prev, info, rmid, xl_crc = header_unpack(rec, 0)
                    # two calls: joining would copy a record of pages once more (see docs/performance.md)
                    if extend(extend(0, rec[SIZE_OF_RECORD:]), rec[:CRC_OFFSET]) != xl_crc:
                        raise _Stop(msg.bad_crc.format(lsn=_lsn(rec_ptr)))
                    decoded = self._decode(rec, rec_ptr, last_read, detail)
                if rmid == RM_XLOG_ID and info & ~XLR_INFO_MASK == XLOG_SWITCH:
                    next_ptr += seg_size - 1
                    next_ptr -= next_ptr % seg_size
                assert decoded is not None
                fpi_len, main_len, blocks, origin, toplevel_xid = decoded
                if tally is not None:  # counting only: no tuple, no yield
                    slot = (rmid << 4) | (info >> 4)  # tally_slot(), inline
                    counts[slot] += 1
                    rec_lens[slot] += tot_len - fpi_len
                    fpi_lens[slot] += fpi_len
                    if tally.first < 0:
                        tally.first, tally.first_prev = rec_ptr, xl_prev
                    last_read = prev_ptr = rec_ptr
                    tally.last, tally.last_end = rec_ptr, next_ptr
                    rec_ptr = next_ptr
                    continue
                yield (rec_ptr, next_ptr, xl_prev, xid, info, rmid, tot_len, fpi_len, main_len,
                       blocks, origin, toplevel_xid, tli, rec)
                last_read = prev_ptr = rec_ptr
                rec_ptr = next_ptr
        except _Stop as stop:
            if tally is not None:
                _unpack_into(packed, tally)
            self.end_of_wal = EndOfWal(
                lsn=LSN(wal_end), reason=stop.reason,
                reported_at=LSN(stop.reported_at if stop.reported_at is not None else max(last_read, 0)),
                reached_end=stop.reached_end, last_record=LSN(last_read) if last_read >= 0 else None,
                missing_segment=stop.missing_segment,
            )

    def _count_run(self, data: bytes | mmap.mmap, pos: int, limit: int, prev: int, seg_base: int, tli: int,
                   packed: list[Any], fpi_lens: list[int]) -> tuple[int, int]:
        """``waldump --stats``' loop over a run of pages of one segment: from the record at ``pos``
        (its segment offset; ``prev`` the LSN of the one before), every record that links back, has
        a built-in resource manager, is not a SWITCH and passes its CRC is counted into ``packed``
        (and its images' bytes into ``fpi_lens``). It goes on from page to page, and gathers records
        that cross pages, while each next page is as the last one read (``_plain_page``,
        ``_gather``) and ends at or before ``limit`` (a segment offset). The two commonest shapes
        (short main data only; one block without image or SAME_REL, then short main data) and
        pairs (``WalStructs.pair_record``) are checked here as DecodeXLogRecord checks them, and
        counted at once; any other goes through the full decoder. Returns where it stopped and the
        LSN of the last record counted (``prev`` if none). Whatever it does not take, or the decoder
        refuses, the general path reads, with xlogreader's checks and messages.

        Every name the loop reads is a local, and each check is folded into one that must be made
        anyway: a length under SizeOfXLogRecord fails the shape checks and the decoder; a resource
        manager past the built-in ones has no slot in ``packed`` (IndexError), and adding to a
        SWITCH's slot raises ``_Switch`` (``_counting_slots``)."""
        unpack = self._unpack_counted
        extend = _extend
        decode = self._decode_record
        plain_page, gather = self._plain_page, self._gather
        u32, head = self._unpack_u32, self._unpack_counted_header
        blcksz, short_phd = self.blcksz, SIZE_OF_SHORT_PHD
        page_end = pos - pos % blcksz + blcksz
        seg_last = len(data) - self._counted_size  # the last offset a record's first bytes unpack at
        last = min(page_end - SIZE_OF_RECORD, seg_last)  # a header that starts past it crosses the page
        one, align_mask, align_clear = _ONE, _ALIGN_MASK, ~_ALIGN_MASK
        size_of_record, crc_offset = SIZE_OF_RECORD, CRC_OFFSET
        data_short, short_only, one_block_min = XLR_BLOCK_ID_DATA_SHORT, _SHORT_DATA_ONLY, self._one_block_min
        # a block without image or SAME_REL: fork_flags & these is BKPBLOCK_HAS_DATA exactly when it has data
        block_flags, has_data, same_rel = _IMAGE_SAME_REL_OR_DATA, BKPBLOCK_HAS_DATA, BKPBLOCK_SAME_REL
        tail, tail_at, pair_min = self._unpack_same_rel_tail, _PAIR_TAIL_AT, _PAIR_MIN
        try:
            while True:
                if pos <= last:
                    tot, xl_prev, ir, xl_crc, first_id, flags, data_len, marker, main_len = unpack(data, pos)
                    end = pos + tot
                    if xl_prev != prev or tot < size_of_record:
                        break
                    if end <= page_end:
                        if extend(0, data[pos + size_of_record:end] + data[pos:pos + crc_offset]) != xl_crc:
                            break
                        # short main data only (then first_id and flags are its id and length), or block
                        # 0 then short main data: no image, nothing more to decode
                        if (first_id == data_short and tot == short_only + flags if first_id
                                else marker == data_short and tot == one_block_min + data_len + main_len
                                and flags & block_flags == (data_len and has_data)):
                            packed[ir >> 4] += tot + one
                            prev = seg_base + pos
                            pos = (end + align_mask) & align_clear
                            continue
                        # a pair? (then marker and main_len are block 1's id and fork_flags)
                        if (not first_id and marker == 1 and tot >= pair_min
                                and flags & block_flags == (data_len and has_data)):
                            len1, _blkno, marker2, main2 = tail(data, pos + tail_at)
                            if (marker2 == data_short and tot == pair_min + data_len + len1 + main2
                                    and main_len & block_flags == same_rel | (len1 and has_data)):
                                packed[ir >> 4] += tot + one
                                prev = seg_base + pos
                                pos = (end + align_mask) & align_clear
                                continue
                        rec = data[pos:end]
                    else:
                        rec = b""  # gathered below
                elif pos == page_end:  # the page is done: on to the next, if a record begins there as expected
                    if page_end + blcksz > limit or not plain_page(data, page_end, tli, seg_base):
                        break
                    pos = page_end + short_phd
                    page_end += blcksz
                    last = min(page_end - size_of_record, seg_last)
                    continue
                else:  # its header goes on in the next page: its length is all there is to read here
                    tot = u32(data, pos)[0]
                    if tot < size_of_record:
                        break
                    rec = b""
                if not rec:  # the record goes on in the next pages
                    gathered = gather(data, pos, page_end, tot, limit, tli, seg_base)
                    if gathered is None:
                        break
                    rec, end = gathered
                    _tot, xl_prev, ir, xl_crc = head(rec, 0)
                    # two calls over a gathered record: joining would copy it once more
                    if xl_prev != prev or extend(extend(0, rec[size_of_record:]), rec[:crc_offset]) != xl_crc:
                        break
                fpi = decode(rec, False)[0]
                slot = ir >> 4
                packed[slot] += tot - fpi + one
                if fpi:
                    fpi_lens[slot] += fpi
                prev = seg_base + pos
                pos = (end + align_mask) & align_clear
                if end > page_end:
                    page_end = ((end - 1) | (blcksz - 1)) + 1
                    last = min(page_end - size_of_record, seg_last)
        except (IndexError, _Switch, DecodeError):  # not a built-in resource manager; a SWITCH; a record to refuse
            pass
        return _page_start_if_first(pos, blcksz), prev

    def _block_run(self, data: bytes | mmap.mmap, pos: int, limit: int, prev: int, seg_base: int, tli: int,
                   keys: set[bytes]) -> tuple[int, int]:
        """A plan's loop over a run of pages: as ``_count_run``, taking the same records (and none
        with ``XLR_SPECIAL_REL_UPDATE``), each adding its main-fork blocks to ``keys`` as the bytes
        of their locator and block number."""
        unpack = self._unpack_block_record
        extend = _extend
        decode = self._decode_record
        plain_page, gather = self._plain_page, self._gather
        u32, head = self._unpack_u32, self._unpack_counted_header
        blcksz, short_phd = self.blcksz, SIZE_OF_SHORT_PHD
        page_end = pos - pos % blcksz + blcksz
        seg_last = len(data) - self._counted_size
        last = min(page_end - SIZE_OF_RECORD, seg_last)
        refused = _refused_by_block_run(self.max_builtin_rmid)
        align_mask, align_clear = _ALIGN_MASK, ~_ALIGN_MASK
        size_of_record, crc_offset = SIZE_OF_RECORD, CRC_OFFSET
        data_short, short_only, one_block_min = XLR_BLOCK_ID_DATA_SHORT, _SHORT_DATA_ONLY, self._one_block_min
        block_flags, has_data, same_rel = _IMAGE_SAME_REL_OR_DATA, BKPBLOCK_HAS_DATA, BKPBLOCK_SAME_REL
        fork_mask = BKPBLOCK_FORK_MASK
        tail, tail_at, pair_min = self._unpack_same_rel_tail, _PAIR_TAIL_AT, _PAIR_MIN
        locator_size = SIZE_OF_LOCATOR_AND_BLOCK - WAL_STRUCTS.uint32.size  # a key's locator, then its block
        add_key = keys.add
        pack_key = WAL_STRUCTS.locator_and_block.pack  # decoded records' blocks as keys too: they pickle faster
        try:
            while True:
                if pos <= last:
                    tot, xl_prev, ir, xl_crc, first_id, flags, data_len, key, marker, main_len = unpack(data, pos)
                    end = pos + tot
                    if xl_prev != prev or tot < size_of_record or refused[ir]:
                        break
                    if end <= page_end:
                        if extend(0, data[pos + size_of_record:end] + data[pos:pos + crc_offset]) != xl_crc:
                            break
                        # the shapes _count_run takes at once, checked as it checks them
                        if first_id:  # short main data only: no block
                            if first_id == data_short and tot == short_only + flags:
                                prev = seg_base + pos
                                pos = (end + align_mask) & align_clear
                                continue
                        elif (marker == data_short and tot == one_block_min + data_len + main_len
                              and flags & block_flags == (data_len and has_data)):
                            if not flags & fork_mask:  # MAIN_FORKNUM
                                add_key(key)
                            prev = seg_base + pos
                            pos = (end + align_mask) & align_clear
                            continue
                        elif marker == 1 and tot >= pair_min and flags & block_flags == (data_len and has_data):
                            len1, blkno1, marker2, main2 = tail(data, pos + tail_at)
                            if (marker2 == data_short and tot == pair_min + data_len + len1 + main2
                                    and main_len & block_flags == same_rel | (len1 and has_data)):
                                if not flags & fork_mask:
                                    add_key(key)
                                if not main_len & fork_mask:
                                    add_key(key[:locator_size] + blkno1)
                                prev = seg_base + pos
                                pos = (end + align_mask) & align_clear
                                continue
                        rec = data[pos:end]
                    else:
                        rec = b""  # gathered below
                elif pos == page_end:
                    if page_end + blcksz > limit or not plain_page(data, page_end, tli, seg_base):
                        break
                    pos = page_end + short_phd
                    page_end += blcksz
                    last = min(page_end - size_of_record, seg_last)
                    continue
                else:
                    tot = u32(data, pos)[0]
                    if tot < size_of_record:
                        break
                    rec = b""
                if not rec:
                    gathered = gather(data, pos, page_end, tot, limit, tli, seg_base)
                    if gathered is None:
                        break
                    rec, end = gathered
                    _tot, xl_prev, ir, xl_crc = head(rec, 0)
                    if (xl_prev != prev or refused[ir]
                            or extend(extend(0, rec[size_of_record:]), rec[:crc_offset]) != xl_crc):
                        break
                for block in decode(rec, True)[2]:
                    if not block[1] & fork_mask:
                        add_key(pack_key(block[3], block[4], block[5], block[6]))
                prev = seg_base + pos
                pos = (end + align_mask) & align_clear
                if end > page_end:
                    page_end = ((end - 1) | (blcksz - 1)) + 1
                    last = min(page_end - size_of_record, seg_last)
        except DecodeError:  # a record to refuse: the general path says why
            pass
        return _page_start_if_first(pos, blcksz), prev

    def _plain_page(self, data: bytes | mmap.mmap, at: int, tli: int, seg_base: int) -> bool:
        """Whether the page at segment offset ``at`` (not a segment's first) begins with a new record
        and passes ``XLogReaderValidatePageHeader`` as simply as can be: the magic, no flag but
        XLP_BKP_REMOVABLE, its own address, the timeline of the page read before. Anything else
        the general path reads, and says what is wrong."""
        magic, info, page_tli, pageaddr, _rem = self._unpack_page(data, at)
        return magic == self._magic and not info & ~XLP_BKP_REMOVABLE and page_tli == tli and pageaddr == seg_base + at

    def _gather(self, data: bytes | mmap.mmap, pos: int, page_end: int, tot: int, limit: int, tli: int,
                seg_base: int) -> tuple[bytes, int] | None:
        """A record at ``pos`` of ``tot`` bytes that goes on past ``page_end``: its bytes and the
        segment offset after its last byte, when every continuation page lies in this segment
        before ``limit`` and is as ``_plain_page`` wants it but for XLP_FIRST_IS_CONTRECORD and the
        remaining length, as ``XLogDecodeNextRecord`` checks them. None otherwise: the general path
        reads it."""
        if tot > self._max_record_length:
            return None
        unpack_page, magic, blcksz = self._unpack_page, self._magic, self.blcksz
        room = blcksz - SIZE_OF_SHORT_PHD
        parts = [data[pos:page_end]]
        got = page_end - pos
        at = page_end
        while at + blcksz <= limit:
            page_magic, info, page_tli, pageaddr, rem = unpack_page(data, at)
            if (page_magic != magic or info & ~XLP_BKP_REMOVABLE != XLP_FIRST_IS_CONTRECORD or page_tli != tli
                    or pageaddr != seg_base + at or rem != tot - got):
                return None
            body = at + SIZE_OF_SHORT_PHD
            if rem <= room:
                parts.append(data[body:body + rem])
                return b"".join(parts), body + rem
            parts.append(data[body:at + blcksz])
            got += room
            at += blcksz
        return None

    def _page_state(self) -> tuple[int, int, int, int, int, bytes | mmap.mmap]:
        """The current page, its flags and header size, its segment's start LSN and timeline, the data."""
        seg = self._seg
        assert seg is not None
        header = SIZE_OF_LONG_PHD if self._page_info & XLP_LONG_HEADER else SIZE_OF_SHORT_PHD
        return (self._page_ptr, self._page_info, header, self._segno * self.seg_size, self._seg_tli, seg.data)

    def _decode(self, rec: bytes, rec_ptr: int, last_read: int, detail: bool) -> RawDecoded:
        fmt = self.fmt
        try:
            return self._decode_record(rec, detail)
        except DecodeError as exc:
            named = max(last_read, 0) if fmt.decode_errors_name_previous else rec_ptr
            raise _Stop(getattr(self.msg, exc.key).format(lsn=_lsn(named), **exc.fields),
                        reported_at=named) from None

    def _check_header(self, rec_ptr: int, tot_len: int, rmid: int, xl_prev: int, prev_ptr: int,
                      custom: bool) -> None:
        """``ValidXLogRecordHeader``."""
        msg = self.msg
        if tot_len < SIZE_OF_RECORD:
            raise _Stop(msg.invalid_record_length.format(lsn=_lsn(rec_ptr), expected=SIZE_OF_RECORD, got=tot_len))
        if rmid > self.max_builtin_rmid and not (custom and rmid >= MIN_CUSTOM_RMID):
            raise _Stop(msg.invalid_rmid.format(rmid=rmid, lsn=_lsn(rec_ptr)))
        if (xl_prev >= rec_ptr) if prev_ptr < 0 else (xl_prev != prev_ptr):
            raise _Stop(msg.bad_prev_link.format(prev=_lsn(xl_prev), lsn=_lsn(rec_ptr)))

    def _assemble(self, rec_ptr: int, page_ptr: int, off: int, tot_len: int, got_header: bool,
                  prev_ptr: int) -> tuple[bytes, int] | None:
        """A record spanning pages: gather its pieces from the continuation pages.

        Returns the record and the position after it, or None when a continuation page says the
        record was overwritten (XLP_FIRST_IS_OVERWRITE_CONTRECORD): reading restarts on that page.
        """
        msg = self.msg
        # a garbage length would otherwise gather as much WAL as a consistent chain of continuation
        # pages holds: refused up front (10, 11), or once the first continuation page agrees with it
        too_long = tot_len > self.fmt.max_record_length
        if too_long and self.fmt.record_length_checked_first:
            raise _Stop(msg.record_too_long.format(length=tot_len, lsn=_lsn(rec_ptr)))
        blcksz = self.blcksz
        seg = self._seg
        assert seg is not None
        first = blcksz - off
        start = page_ptr % self.seg_size + off
        parts = [seg.data[start:start + first]]
        got = first
        target = page_ptr
        while got < tot_len:
            target += blcksz
            self._load_page(target)
            info = self._page_info
            rem_len = self._page_rem_len
            if info & XLP_FIRST_IS_OVERWRITE_CONTRECORD:
                return None
            if not info & XLP_FIRST_IS_CONTRECORD:
                raise _Stop(msg.no_contrecord_flag.format(lsn=_lsn(rec_ptr)))
            if rem_len == 0 or tot_len != rem_len + got:
                raise _Stop(msg.invalid_contrecord_length.format(rem_len=rem_len, expected=tot_len - got,
                                                                 lsn=_lsn(rec_ptr)))
            header = self._header_size()
            length = min(blcksz - header, rem_len)
            seg = self._seg
            assert seg is not None
            at = target % self.seg_size + header
            parts.append(seg.data[at:at + length])
            got += length
            if not got_header:
                head = b"".join(parts)[:SIZE_OF_RECORD]
                _tot, _xid, xl_prev, _info, rmid, _crc = self._unpack_header(head, 0)
                self._check_header(rec_ptr, tot_len, rmid, xl_prev, prev_ptr, self.custom_rmgrs)
                got_header = True
            if too_long:
                raise _Stop(msg.record_too_long.format(length=tot_len, lsn=_lsn(rec_ptr)))
        return b"".join(parts), target + self._header_size() + _maxalign(self._page_rem_len)
