"""WAL of every major, decoded record for record as the servers that wrote it say it is."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pgrewindkit import LSN
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.controlfile import read_control_file
from pgrewindkit.formats.wal import Wal, WalRecord, open_wal
from pgrewindkit.formats.wal.reader import EndOfWal
from pgrewindkit.formats.wal.segments import WalDirectory
from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.render.waldump import record_lines
from pgrewindkit.render.walstats import format_stats
from tests.support.shipped import FIXTURES, WAL_MAJORS, wal_expected

every_major = pytest.mark.parametrize("major", WAL_MAJORS)
walinspect_majors = pytest.mark.parametrize("major", [m for m in WAL_MAJORS if m >= 15])
block_info_majors = pytest.mark.parametrize("major", [m for m in WAL_MAJORS if m >= 16])
pg_waldump_major = pytest.mark.parametrize("major", [15])


_DECODED: dict[int, tuple[list[WalRecord], EndOfWal]] = {}


def decoded(wal_dirs: dict[int, Path], major: int) -> tuple[list[WalRecord], EndOfWal]:
    """Every record from the workload's start, decoded once per session."""
    if major not in _DECODED:
        scan = open_wal(wal_dirs[major]).scan(LSN.parse(wal_expected(major)["start"]), exact=True)
        records = list(scan)
        assert scan.end_of_wal is not None
        _DECODED[major] = (records, scan.end_of_wal)
    return _DECODED[major]


@every_major
def test_record_boundaries_the_server_reported(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    starts = {r.lsn.value for r in records} | {records[-1].end.value}
    for boundary in wal_expected(major)["boundaries"]:
        assert LSN.parse(boundary).value in starts, boundary
    chain = [(a.end, b.prev, b.lsn) for a, b in itertools.pairwise(records)]
    assert all(prev == a_lsn for (_e, prev, _l), a_lsn in zip(chain, (r.lsn for r in records), strict=False))


@every_major
def test_checkpoints_equal_pg_control_checkpoint(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    by_lsn = {str(r.lsn): r for r in records}
    seen = 0
    for entry in wal_expected(major)["checkpoints"]:
        if "checkpoint_lsn" not in entry:
            continue
        record = by_lsn[entry["checkpoint_lsn"]]
        assert (record.rmgr, record.type) == ("XLOG", "CHECKPOINT_ONLINE")
        cp = record.checkpoint()
        assert str(cp.redo) == entry["redo_lsn"]
        assert cp.timeline == entry["timeline_id"]
        assert cp.prev_timeline == entry["prev_timeline_id"]
        assert f"{cp.next_xid_epoch}:{cp.next_xid}" == entry["next_xid"]
        assert str(cp.next_oid) == str(entry["next_oid"])
        assert str(cp.oldest_xid) == str(entry["oldest_xid"])
        assert str(cp.next_multi) == str(entry["next_multixact_id"])
        assert str(cp.oldest_active_xid) == str(entry["oldest_active_xid"])
        assert cp.full_page_writes is entry["full_page_writes"]
        seen += 1
    assert seen >= 3


@every_major
def test_shutdown_checkpoint_is_the_end(wal_dirs: dict[int, Path], major: int) -> None:
    records, end = decoded(wal_dirs, major)
    last = records[-1]
    shutdown = wal_expected(major)["shutdown_checkpoint"]
    assert (str(last.lsn), last.type) == (shutdown["checkpoint_lsn"], "CHECKPOINT_SHUTDOWN")
    assert end.lsn == last.end
    assert end.reported_at == last.lsn
    assert not end.reached_end
    words = "expected at least" if major >= 16 else "wanted"
    assert end.reason == f"invalid record length at {last.end}: {words} 24, got 0"


@every_major
def test_transactions_messages_and_relations(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    expected = wal_expected(major)
    prepared = {e["xid"] for e in expected["checkpoints"] if "prepared" in e}
    assert prepared <= {r.xid for r in records if (r.rmgr, r.type) == ("Transaction", "PREPARE")}
    types = {(r.rmgr, r.type) for r in records}
    assert {("Transaction", "COMMIT_PREPARED"), ("Transaction", "ABORT_PREPARED"), ("Transaction", "ABORT"),
            ("XLOG", "SWITCH"), ("XLOG", "RESTORE_POINT"), ("Storage", "TRUNCATE"),
            ("Sequence", "LOG"), ("LogicalMessage", "MESSAGE")} <= types
    assert {"Gin", "Gist", "SPGist", "BRIN", "Hash", "Btree", "Heap", "Heap2", "Database"} <= {r.rmgr for r in records}
    message_ends = {str(r.end) for r in records if r.rmgr == "LogicalMessage"}
    assert set(expected["message_ends"]) <= message_ends
    big = max((r for r in records if r.rmgr == "LogicalMessage"), key=lambda r: r.tot_len)
    assert big.main_data_len > 2_500_000
    table = (1663, expected["database"], expected["relations"]["wal_t"])
    assert any(b.locator == table for r in records if r.rmgr == "Heap" for b in r.blocks)
    compressed = {b.compression for r in records for b in r.blocks if b.compression}
    assert compressed == ({"pglz", "lz4", "zstd"} if major == 15 else {"pglz"})


def _walinspect(major: int) -> dict[str, Any]:
    path = FIXTURES / f"pg{major}" / "wal-walinspect.json.gz"
    data: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return data


def _block_ref_text(record: WalRecord) -> str:
    """pg_walinspect's block_ref column: the -b lines without tabs, each after a space unless its id is 0."""
    lines = record_lines(record)[1:]
    return "".join(("" if b.id == 0 else " ") + line.lstrip("\t") for b, line in zip(record.blocks, lines, strict=True))


@walinspect_majors
def test_every_record_equals_pg_walinspect(wal_dirs: dict[int, Path], major: int) -> None:
    inspect = _walinspect(major)
    records, _end = decoded(wal_dirs, major)
    by_lsn = {str(r.lsn): r for r in records}
    assert len(inspect["records"]) > 10_000
    for theirs in inspect["records"]:
        ours = by_lsn[theirs["start_lsn"]]
        assert (str(ours.end), str(ours.prev), str(ours.xid), ours.rmgr, ours.type) == (
            theirs["end_lsn"], theirs["prev_lsn"], theirs["xid"], theirs["resource_manager"], theirs["record_type"])
        assert (ours.tot_len, ours.main_data_len, ours.fpi_len) == (
            theirs["record_length"], theirs["main_data_length"], theirs["fpi_length"])
        if major == 15:
            assert _block_ref_text(ours) == theirs["block_ref"], theirs["start_lsn"]
        else:
            assert bool(ours.blocks) == (theirs["block_ref"] is not None)


FPI_FLAGS = ("HAS_HOLE", "APPLY", "COMPRESS_PGLZ", "COMPRESS_LZ4", "COMPRESS_ZSTD")


@block_info_majors
def test_every_block_equals_pg_get_wal_block_info(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    by_lsn = {str(r.lsn): r for r in records}
    blocks = _walinspect(major)["blocks"]
    assert len(blocks) > 10_000
    for theirs in blocks:
        record = by_lsn[theirs["start_lsn"]]
        ours = next(b for b in record.blocks if b.id == theirs["block_id"])
        assert (ours.spc, ours.db, ours.rel, ours.fork, ours.blk) == (
            int(theirs["reltablespace"]), int(theirs["reldatabase"]), int(theirs["relfilenode"]),
            theirs["relforknumber"], theirs["relblocknumber"])
        assert ours.data_len == theirs["block_data_length"]
        assert ours.image_len == theirs["block_fpi_length"]
        flags = [] if not ours.has_image else (
            (["HAS_HOLE"] if ours.hole_length and ours.hole_offset else [])
            + (["APPLY"] if ours.apply else [])
            + ([f"COMPRESS_{ours.compression.upper()}"] if ours.compression else []))
        assert flags == (theirs["block_fpi_info"] or [])


def _pg_waldump_text(name: str) -> tuple[list[str], list[str]]:
    path = FIXTURES / "pg15" / name
    text = gzip.decompress(path.read_bytes()).decode() if name.endswith(".gz") else path.read_text()
    lines = text.splitlines()
    return [x for x in lines if not x.startswith("stderr: ")], [x for x in lines if x.startswith("stderr: ")]


@pg_waldump_major
def test_pg_waldump_b_lines(wal_dirs: dict[int, Path], major: int) -> None:
    records, end = decoded(wal_dirs, major)
    theirs, errors = _pg_waldump_text("pg_waldump-b.txt.gz")
    ours = [line for r in records for line in record_lines(r)]
    assert len(ours) == len(theirs)
    for mine, line in zip(ours, theirs, strict=True):
        if mine.startswith("rmgr: "):  # pg_waldump adds each resource manager's own description
            assert line == mine or line.startswith(mine + " "), line
        else:
            assert line == mine
    assert errors == [f"stderr: pg_waldump: error: {end.message}"]


@pg_waldump_major
def test_pg_waldump_stats(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    scan = open_wal(wal_dirs[major]).scan(records[0].lsn, exact=True)
    stats = WalStats(major)
    stats.add_raw(scan.raw(detail=False))
    for name, per_record in (("pg_waldump-stats.txt", False), ("pg_waldump-stats-record.txt", True)):
        assert format_stats(stats, per_record=per_record) == _pg_waldump_text(name)[0]


@every_major
def test_start_is_found_from_anywhere(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    wal = open_wal(wal_dirs[major])
    target = records[len(records) // 2]
    assert wal.scan(LSN(target.lsn.value - 1)).start == target.lsn
    page_start = LSN(records[100].lsn.value - records[100].lsn.value % 8192)
    first_on_page = next(r for r in records if r.lsn >= page_start)
    assert wal.scan(page_start).start == first_on_page.lsn


@every_major
def test_backward_from_the_end(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    wal = open_wal(wal_dirs[major])
    back = [r.lsn for r in wal.backward(records[-1].lsn)]
    assert back[: len(records)] == [r.lsn for r in reversed(records)]


@every_major
def test_segment_size_from_the_start_segment_only(wal_dirs: dict[int, Path], major: int, tmp_path: Path) -> None:
    """A bare directory of segments (an archive): the size comes from the segment holding the start."""
    records, _end = decoded(wal_dirs, major)
    archive = tmp_path / "archive"
    archive.mkdir()
    for segment in (wal_dirs[major] / "pg_wal").iterdir():
        (archive / segment.name).symlink_to(segment)
    scan = open_wal(archive).scan(records[0].lsn, exact=True)
    assert sum(1 for _ in scan.raw(detail=False)) == len(records)
    assert re.fullmatch(r"invalid record length at .*", scan.end_of_wal.reason if scan.end_of_wal else "")


@pg_waldump_major
def test_the_wal_directory_reads_no_control_file(wal_dirs: dict[int, Path], major: int, tmp_path: Path) -> None:
    """``WalDirectory`` and ``Wal`` are told what pg_control says; only ``open_wal`` reads it."""
    records, _end = decoded(wal_dirs, major)
    datadir = tmp_path / "data"
    (datadir / "global").mkdir(parents=True)
    (datadir / "global" / "pg_control").write_bytes(b"not a control file")
    (datadir / "pg_wal").symlink_to(wal_dirs[major] / "pg_wal")
    control = read_control_file(wal_dirs[major])
    directory = WalDirectory(datadir, segment_size=control.xlog_seg_size)
    assert (directory.path, directory.datadir) == (datadir / "pg_wal", datadir)
    wal = Wal(directory, major=major, system_identifier=control.system_identifier, blcksz=control.xlog_blcksz)
    assert [r.lsn for r in wal.scan(records[0].lsn, exact=True)] == [r.lsn for r in records]
    given = open_wal(datadir, control=control)
    assert [r.lsn for r in given.scan(records[0].lsn, exact=True)] == [r.lsn for r in records]
    with pytest.raises(PgRewindKitError, match="control file"):
        open_wal(datadir)


@pg_waldump_major
def test_a_data_directory_passes_its_control_file(wal_dirs: dict[int, Path], major: int) -> None:
    records, _end = decoded(wal_dirs, major)
    datadir = DataDirectory(wal_dirs[major])
    assert datadir.wal_path == wal_dirs[major] / "pg_wal"
    wal = datadir.wal()
    assert wal.system_identifier == datadir.control.system_identifier
    assert [r.lsn for r in wal.scan(records[0].lsn, exact=True)] == [r.lsn for r in records]
