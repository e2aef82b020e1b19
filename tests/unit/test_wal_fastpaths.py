"""The narrow loops (``waldump --stats``' counting, a plan's block references) against the full
decoder, on every shipped WAL: every major's fixture, 9.5, 9.6, and both sides of every failover.

The reference reads every record through the general path and decodes each one again with the
full decoder (``record_decoder``); the fast paths must count, collect and stop exactly as it does,
also on WAL damaged in the records they take.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.controlfile import read_control_file
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal import Wal, open_wal, reader
from pgrewindkit.formats.wal.decode import record_decoder
from pgrewindkit.formats.wal.parallel import BlockJob, FoundBlocks, _collect_blocks
from pgrewindkit.formats.wal.reader import BlockSink, EndOfWal, RawRecord, Tally
from pgrewindkit.majors.layouts.xlog import BKPBLOCK_FORK_MASK, XLR_SPECIAL_REL_UPDATE
from pgrewindkit.majors.rmgrs import RM_XLOG_ID, XLOG_SWITCH
from tests.support.shipped import FIXTURES, rewind_recordings

ARCHIVES = sorted([*FIXTURES.glob("pg[0-9]*/wal.tar.gz"), *FIXTURES.glob("v9.*/wal.tar.gz")])


def _unpack(archive: Path, target: Path) -> Path:
    """The WAL and pg_control of an archive: of a failover, its target's (the data directories hold
    much else, and the sources ship no WAL that pg_rewind reads: their segments are zeroed)."""
    with tarfile.open(archive) as tar:
        wanted = [m for m in tar.getmembers()
                  if any(part in m.name for part in ("pg_wal/", "pg_xlog/", "global/pg_control"))
                  and "new-primary/" not in m.name]
        tar.extractall(target, members=wanted, filter="data")
    return target


def _wal_dirs(root: Path) -> list[tuple[str, Path]]:
    found = [(archive.parent.name, _unpack(archive, root / archive.parent.name)) for archive in ARCHIVES]
    for recording in rewind_recordings():
        pair = _unpack(recording / "pair.tar.gz", root / recording.relative_to(recording.parents[1]).as_posix())
        found += [(f"{pair.name}/{side.name}", side) for side in sorted(pair.iterdir())
                  if side.is_dir() and _has_records(side)]
    return found


@pytest.fixture(scope="module")
def wal_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    return _wal_dirs(tmp_path_factory.mktemp("fastpaths"))


def _open(path: Path) -> tuple[Wal, LSN]:
    """The WAL and its first record: in the oldest segment that has one (a failover's pg_wal may
    begin with a preallocated, zeroed segment)."""
    # 9.x fixtures ship their pg_xlog alone, on timeline 2
    wal = open_wal(path) if (path / "global" / "pg_control").is_file() else open_wal(path / "pg_xlog", timeline=2)
    size = wal.directory.segment_size if (path / "global").is_dir() else wal.directory.size_from_segment_files()
    for segment in wal.directory.segments():
        if segment.timeline == wal.directory.timeline_for_segment(segment.segno):
            try:
                return wal, wal.scan(segment.start(size)).start
            except PgRewindKitError:
                continue
    # the failovers ship only the WAL pg_rewind reads: the target's from the checkpoint's REDO on
    return wal, read_control_file(path).checkpoint_copy.redo


def _has_records(path: Path) -> bool:
    """Some failovers' targets ship no WAL either."""
    wal, start = _open(path)
    try:
        return next(iter(wal.scan(start).raw()), None) is not None
    except PgRewindKitError:
        return False


def _reference(wal: Wal, start: LSN) -> tuple[list[RawRecord], EndOfWal | None]:
    """Every record by the general path, each checked against the full decoder."""
    scan = wal.scan(start)
    fmt = wal.wal_format(start)
    decode = record_decoder(fmt, 8192, shortcut=False)
    records = list(scan.raw())
    assert records, "no record read"
    for raw in records:
        assert decode(raw[13], True) == (raw[7], raw[8], raw[9], raw[10], raw[11]), raw[0]
    return records, scan.end_of_wal


def _tally(records: list[RawRecord]) -> Tally:
    tally = Tally()
    for raw in records:
        tally.add(raw[0], raw[1], raw[2], raw[5], raw[4], raw[6], raw[7])
    return tally


def _assert_same_counts(wal: Wal, start: LSN, where: str) -> None:
    records, end = _reference(wal, start)
    fast = Tally()
    scan = wal.scan(start)
    scan.count_into(fast)
    assert fast == _tally(records), where
    assert scan.end_of_wal == end, where


def _reference_blocks(records: list[RawRecord], endpoint: int, recognised: Callable[[int, int], bool]
                      ) -> tuple[frozenset[tuple[int, int, int, int]], tuple[int, int, int] | None, bool, int, int]:
    blocks: set[tuple[int, int, int, int]] = set()
    unrecognised = None
    last = last_end = -1
    for raw in records:
        last, last_end = raw[0], raw[1]
        if unrecognised is None and raw[4] & XLR_SPECIAL_REL_UPDATE and not recognised(raw[5], raw[4]):
            unrecognised = (raw[0], raw[5], raw[4])
        blocks |= {(b[3], b[4], b[5], b[6]) for b in raw[9] if b[1] & BKPBLOCK_FORK_MASK == 0}
        if raw[1] >= endpoint:
            return frozenset(blocks), unrecognised, True, last, last_end
    return frozenset(blocks), unrecognised, False, last, last_end


def _odd_rmgrs(rmid: int, info: int) -> bool:
    return rmid % 2 == 0  # any rule will do: the first record it refuses must be the same


def test_every_shipped_wal_is_found(wal_dirs: list[tuple[str, Path]]) -> None:
    names = {name for name, _path in wal_dirs}
    assert {f"pg{m}" for m in range(10, 19)} | {"v9.5", "v9.6"} <= names
    assert sum(1 for name in names if "primary" in name) >= 5


def test_counting_loop_equals_the_full_decoder(wal_dirs: list[tuple[str, Path]]) -> None:
    for name, path in wal_dirs:
        wal, start = _open(path)
        _assert_same_counts(wal, start, name)


def test_block_loop_equals_the_full_decoder(wal_dirs: list[tuple[str, Path]]) -> None:
    for name, path in wal_dirs:
        wal, start = _open(path)
        records, end = _reference(wal, start)
        # no endpoint; the end of a record in the middle; just past the start of the next one
        middle = records[len(records) // 2][1] if records else start.value
        for endpoint in (1 << 64, middle, middle + 1, records[-1][1] if records else 1):
            job = BlockJob(endpoint, _odd_rmgrs)
            scan = wal.scan(start)
            payload, (first, first_prev, last, last_end) = _collect_blocks(scan, job)
            assert isinstance(payload, FoundBlocks)
            blocks, unrecognised, reached = frozenset(payload.all_blocks()), payload.unrecognised, payload.reached
            expected = _reference_blocks(records, endpoint, _odd_rmgrs)
            assert (blocks, unrecognised, reached, last, last_end) == expected, (name, endpoint)
            assert (first, first_prev) == ((records[0][0], records[0][2]) if records else (-1, -1))
            if not reached:
                assert scan.end_of_wal == end, name


def test_sink_takes_records_and_yields_the_rest(wal_dirs: list[tuple[str, Path]]) -> None:
    name, path = next((n, p) for n, p in wal_dirs if n == "pg15")
    wal, start = _open(path)
    records, _end = _reference(wal, start)
    sink = BlockSink(1 << 64)
    yielded = list(wal.scan(start).raw(blocks=sink))
    assert 0 < len(yielded) < len(records) // 2, name  # most records are taken by the narrow loop
    assert {r[0] for r in yielded} <= {r[0] for r in records}
    assert sink.last == records[-1][0] or yielded[-1][0] == records[-1][0]


def _assert_both_loops_alike(wal: Wal, start: LSN, where: str) -> None:
    """Counting and the page map's loop stop where the general path does, having read the same."""
    _assert_same_counts(wal, start, where)
    records, end = _reference(wal, start)
    scan = wal.scan(start)
    payload, _bounds = _collect_blocks(scan, BlockJob(1 << 64, _odd_rmgrs))
    assert isinstance(payload, FoundBlocks)
    blocks, unrecognised = _reference_blocks(records, 1 << 64, _odd_rmgrs)[:2]
    assert (frozenset(payload.all_blocks()), payload.unrecognised) == (blocks, unrecognised), where
    assert scan.end_of_wal == end, where


def _damaged(path: Path, tmp_path: Path, offset_in_record: int, value: int, nth: int) -> tuple[Wal, LSN]:
    """A copy of ``path`` with one byte of the ``nth`` record that the narrow loops take replaced."""
    copy = tmp_path / f"damaged-{offset_in_record}-{nth}"
    shutil.copytree(path, copy)
    wal, start = _open(copy)
    records, _end = _reference(wal, start)
    taken = [r for r in records if len(r[9]) <= 1 and r[7] == 0 and r[1] - r[0] < 4096][nth]
    size = wal.directory.segment_size
    segment = wal.directory.segment_file(taken[0] // size)
    data = bytearray(segment.path.read_bytes())
    data[taken[0] % size + offset_in_record] = value
    segment.path.write_bytes(bytes(data))
    return wal, start


@pytest.mark.parametrize(("offset", "value"), [
    (30, 0xAB),  # the body: the CRC fails
    (8, 0x01),  # xl_prev: the prev-link fails
    (17, 0x7F),  # xl_rmid: an invalid resource manager
    (0, 0x03),  # xl_tot_len: too short, or the record no longer fits
    (25, 0xFE),  # the first fragment's id or length: DecodeXLogRecord refuses, or the CRC fails
])
def test_damage_in_a_taken_record_stops_both_alike(wal_dirs: list[tuple[str, Path]], tmp_path: Path, offset: int,
                                                   value: int) -> None:
    path = next(p for n, p in wal_dirs if n == "pg15")
    for nth in (100, 2000):
        wal, start = _damaged(path, tmp_path, offset, value, nth)
        _assert_both_loops_alike(wal, start, f"offset {offset} of taken record {nth}")


def _damaged_page(path: Path, tmp_path: Path, kind: str, offset_in_page: int, value: int, nth: int) -> tuple[Wal, LSN]:
    """A copy of ``path`` with one byte of a page header replaced: of the ``nth`` page that continues a
    record (``kind`` "continuation") or that begins with a new record ("plain"), in mid-segment."""
    copy = tmp_path / f"page-{kind}-{offset_in_page}-{value}-{nth}"
    shutil.copytree(path, copy)
    wal, start = _open(copy)
    records, _end = _reference(wal, start)
    size = wal.directory.segment_size
    if kind == "continuation":
        pages = [(r[0] // 8192 + 1) * 8192 for r in records if r[0] // 8192 != (r[1] - 1) // 8192]
    else:
        pages = [r[0] - 24 for r in records if r[0] % 8192 == 24]
    page = [p for p in pages if p % size][nth]
    segment = wal.directory.segment_file(page // size)
    data = bytearray(segment.path.read_bytes())
    data[page % size + offset_in_page] = value
    segment.path.write_bytes(bytes(data))
    return wal, start


@pytest.mark.parametrize(("kind", "offset", "value"), [
    ("continuation", 0, 0x00),  # xlp_magic
    ("continuation", 2, 0x08),  # xlp_info: XLP_FIRST_IS_OVERWRITE_CONTRECORD instead
    ("continuation", 2, 0x05),  # xlp_info: XLP_BKP_REMOVABLE besides, as PostgreSQL writes it
    ("continuation", 4, 0x07),  # xlp_tli
    ("continuation", 8, 0x00),  # xlp_pageaddr
    ("continuation", 16, 0x01),  # xlp_rem_len
    ("plain", 0, 0x00),
    ("plain", 2, 0x01),  # XLP_FIRST_IS_CONTRECORD where a record begins
    ("plain", 4, 0x00),  # a timeline older than the page before's
    ("plain", 9, 0x7F),
])
def test_damage_in_a_page_header_stops_both_alike(wal_dirs: list[tuple[str, Path]], tmp_path: Path, kind: str,
                                                  offset: int, value: int) -> None:
    path = next(p for n, p in wal_dirs if n == "pg15")
    for nth in (3, 12):
        wal, start = _damaged_page(path, tmp_path, kind, offset, value, nth)
        _assert_both_loops_alike(wal, start, f"{kind} page header byte {offset} of page {nth}")


def test_a_switch_cannot_be_counted_by_the_counting_loop() -> None:
    """The counting loop finds a SWITCH by failing to add to its slot; every other slot adds."""
    packed = reader._counting_slots(21)
    switch = reader.tally_slot(RM_XLOG_ID, XLOG_SWITCH)
    with pytest.raises(reader._Switch):
        packed[switch] += 1
    assert [slot for slot, value in enumerate(packed) if value != 0] == [switch]
    assert not any(packed)  # and it is never unpacked into a tally


@pytest.mark.parametrize("max_builtin_rmid", [21, 22])
def test_the_block_loops_refusals_are_its_rules(max_builtin_rmid: int) -> None:
    refused = reader._refused_by_block_run(max_builtin_rmid)
    limit = (max_builtin_rmid + 1) << 8
    switch = reader.tally_slot(RM_XLOG_ID, XLOG_SWITCH)
    assert refused == bytes(ir >= limit or bool(ir & XLR_SPECIAL_REL_UPDATE) or ir >> 4 == switch
                            for ir in range(1 << 16))


def test_a_timeline_switch_in_mid_segment_is_read_alike(wal_dirs: list[tuple[str, Path]]) -> None:
    """9.5's and 9.6's new timeline begins in the middle of a segment: its pages before the switch
    carry the old timeline. The narrow loops leave the first page of the new one to the general
    path (``_plain_page`` wants the timeline of the page before), and still count alike."""
    for name, path in wal_dirs:
        if name not in ("v9.5", "v9.6"):
            continue
        wal, start = _open(path)
        data = (path / "pg_xlog" / "000000020000000000000001").read_bytes()
        scan = wal.scan(start)
        records = sum(1 for _ in scan.raw())
        assert scan.end_of_wal is not None and records > 0
        valid = scan.end_of_wal.lsn.value - len(data)  # segment 1: the end of valid WAL's offset in it
        page_tlis = [int.from_bytes(data[at + 4:at + 8], "little") for at in range(0, valid, 8192)]
        switch = page_tlis.index(2)
        assert switch > 0 and set(page_tlis[:switch]) == {1} and set(page_tlis[switch:]) == {2}, name
        _assert_same_counts(wal, start, name)
