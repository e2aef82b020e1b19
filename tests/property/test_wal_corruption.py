"""Corrupt or hostile WAL ends the scan with a reason, or raises a pgrewindkit error: nothing else,
and nothing that allocates more than the input holds."""

from __future__ import annotations

import shutil
import struct
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgrewindkit import LSN, PgRewindKitError
from pgrewindkit.formats.wal import open_wal
from tests.support.shipped import FIXTURES, wal_expected

MAJOR = 15
SEGMENTS = 2  # the first two segments of the pg15 workload: ~1 MB each


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    with tarfile.open(FIXTURES / f"pg{MAJOR}" / "wal.tar.gz") as tar:
        tar.extractall(root, filter="data")
    names = sorted(p.name for p in (root / "pg_wal").iterdir())
    for name in names[SEGMENTS:]:
        (root / "pg_wal" / name).unlink()
    return root


def _scan_all(path: Path) -> tuple[int, str]:
    start = LSN.parse(wal_expected(MAJOR)["start"])
    try:
        scan = open_wal(path).scan(start, exact=True)
        count = sum(1 for _ in scan)
    except PgRewindKitError as exc:
        return -1, str(exc)
    assert scan.end_of_wal is not None
    return count, scan.end_of_wal.reason


def _copy(pristine: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(pristine, target)
    return target


def _segment(root: Path, index: int) -> Path:
    return sorted((root / "pg_wal").iterdir())[index]


def test_pristine_reads_to_the_missing_segment(pristine: Path) -> None:
    count, reason = _scan_all(pristine)
    assert count > 1000
    assert reason.startswith('could not find file "') or "contrecord" in reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, SEGMENTS - 1), st.integers(0, (1 << 20) - 1), st.integers(1, 255)),
                min_size=1, max_size=20))
def test_bit_flips(pristine: Path, tmp_path: Path, flips: list[tuple[int, int, int]]) -> None:
    root = _copy(pristine, tmp_path / "flipped")
    for index, offset, mask in flips:
        segment = _segment(root, index)
        data = bytearray(segment.read_bytes())
        data[offset] ^= mask
        segment.write_bytes(bytes(data))
    _scan_all(root)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, SEGMENTS - 1), st.integers(0, (1 << 20) - 1))
def test_truncated_segments(pristine: Path, tmp_path: Path, index: int, length: int) -> None:
    root = _copy(pristine, tmp_path / "truncated")
    segment = _segment(root, index)
    segment.write_bytes(segment.read_bytes()[:length])
    count, reason = _scan_all(root)
    assert count >= 0 or reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, (1 << 20) - 64), st.binary(min_size=1, max_size=64))
def test_garbage_overwrites(pristine: Path, tmp_path: Path, offset: int, garbage: bytes) -> None:
    root = _copy(pristine, tmp_path / "garbage")
    segment = _segment(root, 0)
    data = bytearray(segment.read_bytes())
    data[offset:offset + len(garbage)] = garbage
    segment.write_bytes(bytes(data))
    _scan_all(root)


@pytest.mark.parametrize("claimed", [0xFFFFFFF0, 1 << 30, 70000])
def test_a_record_that_claims_too_much(pristine: Path, tmp_path: Path, claimed: int) -> None:
    """xl_tot_len of a record in the middle set to gigabytes: the next page's continuation header
    contradicts it and reading ends there, without allocating the claimed size."""
    root = _copy(pristine, tmp_path / "huge")
    start = LSN.parse(wal_expected(MAJOR)["start"])
    records = list(open_wal(root).scan(start, exact=True))
    victim = records[len(records) // 3]
    segment = _segment(root, 0)
    data = bytearray(segment.read_bytes())
    at = victim.lsn.value % (1 << 20)
    data[at:at + 4] = struct.pack("<I", claimed)
    segment.write_bytes(bytes(data))
    scan = open_wal(root).scan(start, exact=True)
    assert sum(1 for _ in scan) == records.index(victim)
    assert scan.end_of_wal is not None
    assert scan.end_of_wal.lsn == victim.lsn
    assert "contrecord" in scan.end_of_wal.reason or "checksum" in scan.end_of_wal.reason


def test_a_segment_from_another_place(pristine: Path, tmp_path: Path) -> None:
    """The second segment replaced by the first: its page addresses are wrong."""
    root = _copy(pristine, tmp_path / "swapped")
    _segment(root, 1).write_bytes(_segment(root, 0).read_bytes())
    count, reason = _scan_all(root)
    assert count > 0
    assert reason.startswith("unexpected pageaddr") or "contrecord" in reason
