"""What differs in WAL between majors: image flags, the top-level XID fragment, and the words
xlogreader uses when it stops (src/backend/access/transam/xlogreader.c of each release tree).

LSNs in these messages are ``%X/%X`` (unpadded) in every major 9.5–18.
"""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.xlog import (
    IMAGE_FLAGS_10,
    IMAGE_FLAGS_15,
    IMAGE_FLAGS_95,
    WAL_STRUCTS,
    ImageFlags,
    WalStructs,
)


@attrs.frozen
class Messages:
    """``str.format`` templates of xlogreader's ``report_invalid_record`` texts."""

    invalid_magic: str
    invalid_info_bits: str
    unexpected_pageaddr: str
    out_of_sequence_tli: str
    invalid_record_offset: str
    invalid_record_length: str
    invalid_contrecord_length: str
    image_compressed_full: str
    image_neither: str
    sysid_mismatch: str = ("WAL file is from different database system: WAL file database system identifier is "
                           "{wal}, pg_control database system identifier is {control}")
    seg_size_mismatch: str = "WAL file is from different database system: incorrect segment size in page header"
    blcksz_mismatch: str = "WAL file is from different database system: incorrect XLOG_BLCKSZ in page header"
    contrecord_requested: str = "contrecord is requested by {lsn}"
    no_contrecord_flag: str = "there is no contrecord flag at {lsn}"
    invalid_rmid: str = "invalid resource manager ID {rmid} at {lsn}"
    bad_prev_link: str = "record with incorrect prev-link {prev} at {lsn}"
    bad_crc: str = "incorrect resource manager data checksum in record at {lsn}"
    out_of_order_block: str = "out-of-order block_id {block_id} at {lsn}"
    has_data_no_data: str = "BKPBLOCK_HAS_DATA set, but no data included at {lsn}"
    no_has_data_but_length: str = "BKPBLOCK_HAS_DATA not set, but data length is {length} at {lsn}"
    hole_set_bad: str = ("BKPIMAGE_HAS_HOLE set, but hole offset {offset} length {length} block image length "
                         "{image_length} at {lsn}")
    hole_unset_bad: str = "BKPIMAGE_HAS_HOLE not set, but hole offset {offset} length {length} at {lsn}"
    same_rel_no_previous: str = "BKPBLOCK_SAME_REL set but no previous rel at {lsn}"
    invalid_block_id: str = "invalid block_id {block_id} at {lsn}"
    invalid_length: str = "record with invalid length at {lsn}"
    # up to 11 (and 12-15 before their 2023 minors), when the record buffer could not be allocated;
    # later releases allocate after validating the header and fail on the allocation instead
    record_too_long: str = "record length {length} at {lsn} too long"


_SEGMENT_WHERE_OLD = "in log segment {file}, offset {offset}"
_SEGMENT_WHERE_NEW = "in WAL segment {file}, LSN {lsn}, offset {offset}"


def _messages(*, where: str, length_words: str, offset_detail: bool, contrecord_expected: bool,
              compressed_flag: str) -> Messages:
    return Messages(
        invalid_magic="invalid magic number {magic:04X} " + where,
        invalid_info_bits="invalid info bits {info:04X} " + where,
        unexpected_pageaddr="unexpected pageaddr {pageaddr} " + where,
        out_of_sequence_tli="out-of-sequence timeline ID {tli} (after {previous}) " + where,
        invalid_record_offset="invalid record offset at {lsn}"
        + (": expected at least {expected}, got {got}" if offset_detail else ""),
        invalid_record_length="invalid record length at {lsn}: " + length_words + " {expected}, got {got}",
        invalid_contrecord_length="invalid contrecord length {rem_len}"
        + (" (expected {expected})" if contrecord_expected else "") + " at {lsn}",
        image_compressed_full=compressed_flag + " set, but block image length {length} at {lsn}",
        image_neither="neither BKPIMAGE_HAS_HOLE nor " + compressed_flag
        + " set, but block image length is {length} at {lsn}",
    )


# 10–13 as in their last minor releases (10.20's tree; the 2021 overwrite-contrecord fix included).
MESSAGES_10 = _messages(where=_SEGMENT_WHERE_OLD, length_words="wanted", offset_detail=False,
                        contrecord_expected=False, compressed_flag="BKPIMAGE_IS_COMPRESSED")
MESSAGES_14 = _messages(where=_SEGMENT_WHERE_OLD, length_words="wanted", offset_detail=False,
                        contrecord_expected=True, compressed_flag="BKPIMAGE_IS_COMPRESSED")
MESSAGES_15 = attrs.evolve(MESSAGES_14,
                           image_compressed_full="BKPIMAGE_COMPRESSED set, but block image length {length} at {lsn}",
                           image_neither="neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image "
                                         "length is {length} at {lsn}")
MESSAGES_16 = _messages(where=_SEGMENT_WHERE_NEW, length_words="expected at least", offset_detail=True,
                        contrecord_expected=True, compressed_flag="BKPIMAGE_COMPRESSED")


_MESSAGES_96 = attrs.evolve(MESSAGES_10, seg_size_mismatch="WAL file is from different database system: incorrect "
                                                             "XLOG_SEG_SIZE in page header")

# One row per major: xlogreader.c's words as each release tree has them (9.5.25, 9.6.22: the same but
# for 9.5's "invalid record length" without what was wanted and got).
MESSAGES_BY_MAJOR: dict[int, Messages] = {
    95: attrs.evolve(_MESSAGES_96, invalid_record_length="invalid record length at {lsn}"),
    96: _MESSAGES_96,
    10: _MESSAGES_96,
    11: MESSAGES_10,
    12: MESSAGES_10,
    13: MESSAGES_10,
    14: MESSAGES_14,
    15: MESSAGES_15,
    16: MESSAGES_16,
    17: MESSAGES_16,
    18: MESSAGES_16,
}


# The longest record a reader accepts: PostgreSQL 16+ never writes one longer than XLogRecordMaxSize
# (1020 MB, xlogrecord.h); before, xlogreader's record buffer (the length rounded up to a whole page)
# had to fit MaxAllocSize (1 GB - 1). 10 and 11 refuse a longer length with record_too_long before
# reading on; the minors of 12+ since 2023 first check the next page's continuation length, then fail
# to allocate the buffer (the backend) or gather the claimed length (the tools): a longer length is
# garbage either way, refused there in 10's words rather than gathering gigabytes.
MAX_ALLOC_SIZE = 0x3FFFFFFF
XLOG_RECORD_MAX_SIZE = 1020 * 1024 * 1024
MAX_RECORD_LENGTH_10 = MAX_ALLOC_SIZE - 8192
MAX_RECORD_LENGTH_16 = XLOG_RECORD_MAX_SIZE


@attrs.frozen
class WalFormat:
    """The WAL of one major."""

    version: versions.Major
    structs: WalStructs  # the hot loop's precompiled formats of this major's page and record layouts
    image_flags: ImageFlags  # bimg_info bits
    toplevel_xid: bool  # XLR_BLOCK_ID_TOPLEVEL_XID fragments exist
    messages: Messages
    max_builtin_rmid: int  # RM_MAX_BUILTIN_ID (RM_MAX_ID up to 14)
    custom_rmgrs: bool  # resource manager ids 128-255 are valid
    # records are decoded ahead of being returned: decoding errors name the last record returned
    decode_errors_name_previous: bool
    stats_header: bool  # pg_waldump --stats prints "WAL statistics between ..." (and nothing when empty)
    shows_compression_method: bool  # pg_waldump -b prints ", method: lz4"
    max_record_length: int  # xl_tot_len above this is refused (record_too_long), before reading all of it
    # the length is refused before the first continuation page is read (10, 11); later releases
    # validate that page (its xlp_rem_len must agree) before sizing the record buffer
    record_length_checked_first: bool
    # --stats=record keys Transaction records without XLOG_XACT_HAS_INFO (9.6+); 9.5 keeps the bit, so
    # records with it form a second "Transaction/COMMIT" row
    stats_masks_xact_info: bool

    image_has_hole: int = attrs.field(init=False)
    image_compressed_mask: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # read once per record on the hot path: plain attributes, not properties
        object.__setattr__(self, "image_has_hole", self.image_flags.has_hole)
        object.__setattr__(self, "image_compressed_mask", self.image_flags.compressed_mask)

    @property
    def major(self) -> int:
        return self.version.major


_V = versions.by_major

# One explicit row per major, every field spelled out: a new major is added by writing its row.
WAL_FORMATS: dict[int, WalFormat] = versions.keyed((
    WalFormat(version=_V(95), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_95, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[95], max_builtin_rmid=19, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=True, max_record_length=MAX_RECORD_LENGTH_10,
              stats_masks_xact_info=False),
    WalFormat(version=_V(96), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_95, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[96], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=True, max_record_length=MAX_RECORD_LENGTH_10,
              stats_masks_xact_info=True),
    WalFormat(version=_V(10), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_10, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[10], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=True,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(11), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_10, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[11], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=True,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(12), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_10, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[12], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(13), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_10, toplevel_xid=False,
              messages=MESSAGES_BY_MAJOR[13], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(14), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_10, toplevel_xid=True,
              messages=MESSAGES_BY_MAJOR[14], max_builtin_rmid=21, custom_rmgrs=False,
              decode_errors_name_previous=False, stats_header=False, shows_compression_method=False,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(15), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_15, toplevel_xid=True,
              messages=MESSAGES_BY_MAJOR[15], max_builtin_rmid=21, custom_rmgrs=True,
              decode_errors_name_previous=True, stats_header=True, shows_compression_method=True,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_10, stats_masks_xact_info=True),
    WalFormat(version=_V(16), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_15, toplevel_xid=True,
              messages=MESSAGES_BY_MAJOR[16], max_builtin_rmid=21, custom_rmgrs=True,
              decode_errors_name_previous=True, stats_header=True, shows_compression_method=True,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_16, stats_masks_xact_info=True),
    WalFormat(version=_V(17), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_15, toplevel_xid=True,
              messages=MESSAGES_BY_MAJOR[17], max_builtin_rmid=21, custom_rmgrs=True,
              decode_errors_name_previous=True, stats_header=True, shows_compression_method=True,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_16, stats_masks_xact_info=True),
    WalFormat(version=_V(18), structs=WAL_STRUCTS, image_flags=IMAGE_FLAGS_15, toplevel_xid=True,
              messages=MESSAGES_BY_MAJOR[18], max_builtin_rmid=21, custom_rmgrs=True,
              decode_errors_name_previous=True, stats_header=True, shows_compression_method=True,
              record_length_checked_first=False,
              max_record_length=MAX_RECORD_LENGTH_16, stats_masks_xact_info=True),
), key="major")
_BY_MAGIC = {f.version.wal_page_magic: f for f in WAL_FORMATS.values()}


def wal_format(major: int) -> WalFormat:
    return versions.lookup(WAL_FORMATS, major, "WAL formats")


def messages(major: int) -> Messages:
    return versions.lookup(MESSAGES_BY_MAJOR, major, "xlogreader messages")


def by_magic(magic: int) -> WalFormat | None:
    return _BY_MAGIC.get(magic)
