"""What sits where pgrewindkit reads (issue 11, read side): FIFOs, devices, huge or absurd files,
odd names and links. Every read ends quickly, in bounded memory, with a model or a pgrewindkit error."""

from __future__ import annotations

import os
import shutil
import signal
import struct
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pgrewindkit import LSN, PgRewindKitError, inspect_datadir, read_control_file, read_timeline_history
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.errors import FormatError, HistoryParseError, Kind
from pgrewindkit.formats.files import printable, read_regular
from pgrewindkit.formats.lsn import parse_timeline
from pgrewindkit.formats.wal import open_wal, parallel
from pgrewindkit.formats.wal.segments import segment_gaps
from tests.support import limits
from tests.support.shipped import wal_expected

SECONDS = 10  # far more than any of these reads takes; a blocked read fails the test instead of hanging it


def time_limit(seconds: int = SECONDS) -> AbstractContextManager[None]:
    return limits.time_limit(seconds)


@pytest.fixture
def datadir(failover_pair: Path, tmp_path: Path) -> Path:
    """A copy of the shipped old primary: files hard-linked (reads only), the ones a test replaces unlinked."""
    copy = tmp_path / "pgdata"
    shutil.copytree(failover_pair / "old-primary", copy, copy_function=os.link, symlinks=True)
    return copy


@pytest.fixture
def wal15(wal_dirs: dict[int, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "wal15"
    shutil.copytree(wal_dirs[15], copy)
    return copy


def _replace_with_fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _replace_with_link(path: Path, target: str) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(target)


# -- special files where a file is read ---------------------------------------------------------------

@pytest.mark.parametrize("make", [_replace_with_fifo, lambda p: _replace_with_link(p, "/dev/zero")],
                         ids=["fifo", "dev-zero"])
def test_control_file_that_is_no_file(datadir: Path, make: object) -> None:
    make(datadir / "global" / "pg_control")  # type: ignore[operator]
    with time_limit(), pytest.raises(FormatError, match="not a regular file"):
        read_control_file(datadir)
    with time_limit(), pytest.raises(PgRewindKitError):
        inspect_datadir(datadir)


@pytest.mark.parametrize("name", ["backup_label", "tablespace_map", "postgresql.auto.conf", "postmaster.pid"])
@pytest.mark.parametrize("special", ["fifo", "dev-zero"])
def test_inspect_with_a_special_file(datadir: Path, name: str, special: str) -> None:
    if special == "fifo":
        _replace_with_fifo(datadir / name)
    else:
        _replace_with_link(datadir / name, "/dev/zero")
    with time_limit(), pytest.raises(FormatError, match="not a regular file") as caught:
        inspect_datadir(datadir)
    assert caught.value.kind is Kind.FORMAT


def test_history_file_that_is_no_file(tmp_path: Path) -> None:
    _replace_with_link(tmp_path / "00000002.history", "/dev/zero")
    os.mkfifo(tmp_path / "00000003.history")
    for name in ("00000002.history", "00000003.history"):
        with time_limit(), pytest.raises(FormatError, match="not a regular file"):
            read_timeline_history(tmp_path / name)


def test_huge_sparse_files_are_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "backup_label"
    with huge.open("wb") as file:
        file.truncate(1 << 40)
    with time_limit(), pytest.raises(FormatError, match="too large"):
        read_regular(huge, 1 << 20, "backup_label")
    assert read_regular(huge, 16, "backup_label", head=True) == bytes(16)


def test_fifo_as_wal_segment_ends_the_wal(wal15: Path) -> None:
    segments = sorted((wal15 / "pg_wal").iterdir())
    _replace_with_fifo(segments[2])
    start = LSN.parse(wal_expected(15)["start"])
    with time_limit():
        scan = open_wal(wal15).scan(start, exact=True)
        assert sum(1 for _ in scan) > 0
    assert scan.end_of_wal is not None
    assert "not a regular file" in scan.end_of_wal.reason


# -- postmaster.pid -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"12345678901234567890\n/data\n", b"\xff\xfe\n", "\u0661\u0662\n".encode(),
                                     b"0\n"])
def test_postmaster_pid_that_no_server_writes(datadir: Path, content: bytes) -> None:
    (datadir / "postmaster.pid").write_bytes(content)
    with pytest.raises(FormatError, match="invalid data in PID file"):
        DataDirectory(datadir).server_running()
    with pytest.raises(FormatError, match="invalid data in PID file"):
        inspect_datadir(datadir)


def test_postmaster_pid_being_written_is_no_pid(datadir: Path) -> None:
    (datadir / "postmaster.pid").write_bytes(b"")
    assert DataDirectory(datadir).postmaster_pid() is None


# -- the WAL directory ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["missing", "dangling", "loop", "file"])
def test_inspect_without_a_usable_pg_wal(datadir: Path, shape: str) -> None:
    wal = datadir / "pg_wal"
    shutil.rmtree(wal)
    if shape == "dangling":
        wal.symlink_to(datadir / "nowhere")
    elif shape == "loop":
        wal.symlink_to(wal)
    elif shape == "file":
        wal.write_bytes(b"")
    with time_limit(), pytest.raises(PgRewindKitError) as caught:
        inspect_datadir(datadir)
    assert "WAL directory" in str(caught.value) or "pg_wal" in str(caught.value)


def test_a_badly_named_segment_is_skipped_and_reported(datadir: Path) -> None:
    bad = "0000000100000000FFFFFFFF"  # 24 hex digits, but the low part is too big for any segment size
    (datadir / "pg_wal" / bad).write_bytes(b"")
    directory = DataDirectory(datadir)
    good, skipped = directory.wal_segment_names()
    assert skipped == [bad] and bad not in good and good
    wal = directory.wal()
    assert bad in wal.directory.bad_segment_names
    assert all(s.file_name(wal.directory.segment_size) != bad for s in wal.directory.segments())
    wal.first_segment_start()  # waldump with no start: the bad name does not abort it


def test_gaps_are_bounded_by_the_files_not_their_numbers() -> None:
    size = 1 << 20
    absurd = 0xFFFFFFFF * 4096  # 00000001FFFFFFFF00000000 with 1 MB segments
    with time_limit(2):
        names, total = segment_gaps(1, [9, 11, absurd], size, limit=5)
    assert names[0] == "00000001000000000000000A" and len(names) == 5
    assert total == absurd - 9 - 2
    assert segment_gaps(1, [3, 4, 7], size) == (("000000010000000000000005", "000000010000000000000006"), 2)


def test_stats_with_an_absurd_empty_segment(wal15: Path) -> None:
    """``waldump --stats`` over every segment on disk, one of them empty and numbered near the end of
    the LSN space: the runs are spread by the files there, and reading ends at the first gap."""
    (wal15 / "pg_wal" / "00000001FFFFFFFF00000000").write_bytes(b"")
    wal = open_wal(wal15)
    start = LSN.parse(wal_expected(15)["start"])
    with time_limit():
        scan = wal.scan(start, exact=True)
        stats = parallel.scan_stats(wal, scan, workers=2)
    assert stats.start == start


# -- WAL records ------------------------------------------------------------------------------------------

def _victim(root: Path, major: int) -> tuple[LSN, int, int]:
    """A record in the first segment that spans a page boundary: its LSN, how much of it is on its first
    page, and the offset of the next page in the segment."""
    start = LSN.parse(wal_expected(major)["start"])
    for record in open_wal(root).scan(start, exact=True):
        first = 8192 - record.lsn.value % 8192
        if record.tot_len > first + 64 and record.lsn.value // (1 << 20) == start.value // (1 << 20):
            return record.lsn, first, record.lsn.value % (1 << 20) + first
    raise AssertionError("no record spans a page")


@pytest.mark.parametrize("major", [10, 15, 16])
def test_a_record_claiming_4_gb_with_a_consistent_continuation(wal_dirs: dict[int, Path], tmp_path: Path,
                                                               major: int) -> None:
    """xl_tot_len 0xFFFFFFF0, and the next page's xlp_rem_len agreeing with it: reading stops at the
    record, in xlogreader's words, before gathering the claimed length."""
    root = tmp_path / f"wal{major}"
    shutil.copytree(wal_dirs[major], root)
    lsn, first, next_page = _victim(root, major)
    segment = sorted((root / "pg_wal").iterdir())[0]
    data = bytearray(segment.read_bytes())
    at = lsn.value % (1 << 20)
    claimed = 0xFFFFFFF0
    data[at:at + 4] = struct.pack("<I", claimed)
    data[next_page + 16:next_page + 20] = struct.pack("<I", claimed - first)  # xlp_rem_len
    segment.write_bytes(bytes(data))
    start = LSN.parse(wal_expected(major)["start"])
    with time_limit():
        scan = open_wal(root).scan(start, exact=True)
        for _ in scan:
            pass
    assert scan.end_of_wal is not None
    assert scan.end_of_wal.reason == f"record length {claimed} at {lsn} too long"


# -- the parallel scan ----------------------------------------------------------------------------------

def _dying_run(task: parallel._Task) -> parallel._RunResult:
    """A worker killed in the middle of its run (the OOM killer, an operator's kill -9)."""
    if task.start < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_RUN(task)


_REAL_RUN = parallel._run


def test_a_dead_worker_is_an_error_not_a_hang(wal15: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SEGMENTS_PER_WORKER", 1)
    monkeypatch.setattr(parallel, "_run", _dying_run)
    wal = open_wal(wal15)
    scan = wal.scan(LSN.parse(wal_expected(15)["start"]), exact=True)
    with time_limit(60), pytest.raises(PgRewindKitError, match="died") as caught:
        parallel.scan_stats(wal, scan, workers=2)
    assert caught.value.kind is Kind.WORKER_FAILED


# -- text ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["\u0661\u0662", "1_0", "\uff11", " 12x"])
def test_timeline_ids_are_ascii_digits(text: str) -> None:
    with pytest.raises(FormatError):
        parse_timeline(text)
    assert parse_timeline(" 12 ") == 12


@pytest.mark.parametrize("line", ["\u0661\t0/3000000\tno recovery target specified",
                                  "1\u2003\t0/3000000", "1\t0/3000000\n\u0662\t0/4000000"])
def test_history_lines_take_ascii_digits_only(line: str) -> None:
    with pytest.raises(HistoryParseError):
        read_timeline_history(line.encode(), timeline=5)


def test_printable_escapes_terminal_controls() -> None:
    assert printable("START WAL LOCATION: 0/2000028\n") == "START WAL LOCATION: 0/2000028\n"
    assert printable("LABEL: \x1b]0;owned\x07x\tend") == "LABEL: \\x1b]0;owned\\x07x\tend"
    assert printable(os.fsdecode(b"pg\xffdata")) == "pg\\xffdata"
    assert printable("caf\u00e9 \u202e") == "caf\u00e9 \\u202e"


def test_inspect_escapes_backup_label(datadir: Path) -> None:
    (datadir / "backup_label").write_bytes(b"LABEL: \x1b[2J\x1b]0;pwned\x07\n")
    inspection = inspect_datadir(datadir)
    assert inspection.backup_label == "LABEL: \\x1b[2J\\x1b]0;pwned\\x07\n"


def test_inspect_counts_absurd_gaps_and_skips_bad_names(datadir: Path) -> None:
    """One empty file numbered near the end of the LSN space makes trillions of gaps: inspect counts
    them and lists a few, quickly; a name no segment of this size can have is reported, not fatal."""
    wal = datadir / "pg_wal"
    first = min(p.name for p in wal.iterdir() if len(p.name) == 24)
    (wal / f"{first[:8]}FFFFFFFF00000000").write_bytes(b"")
    (wal / f"{first[:16]}FFFFFFFF").write_bytes(b"")  # segment number too large for this segment size
    with time_limit(10):
        inspection = inspect_datadir(datadir)
    assert inspection.wal.gap_count > 10**9 and len(inspection.wal.gaps) <= 100
    assert inspection.wal.bad_segment_names == (f"{first[:16]}FFFFFFFF",)
    assert {"wal_gaps", "bad_segment_names"} <= {f.code for f in inspection.findings}


def test_plan_with_an_absurd_min_recovery_point(failover_pair: Path, tmp_path: Path) -> None:
    """A CRC-valid pg_control whose minRecoveryPoint is FFFFFFFF/FFFFFFFF: pg_rewind would read WAL up
    to there and stop at the first missing segment; the plan lists a few missing ones and says the
    list is cut, quickly, instead of naming trillions."""
    from pgrewindkit import plan_rewind
    from pgrewindkit.formats.crc import crc32c
    from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS
    from pgrewindkit.majors.layouts.ctypes import offset_of

    target = tmp_path / "old"
    shutil.copytree(failover_pair / "old-primary", target, copy_function=os.link, symlinks=True)
    control = target / "global" / "pg_control"
    data = bytearray(control.read_bytes())
    control.unlink()  # hard-linked: never write through to the shipped copy
    layout = CONTROL_LAYOUTS[1300]
    at = offset_of(layout.fields, "minRecoveryPoint")
    data[at:at + 8] = (2**64 - 1).to_bytes(8, "little")
    data[layout.crc_offset:layout.crc_offset + 4] = crc32c(bytes(data[:layout.crc_offset])).to_bytes(4, "little")
    control.write_bytes(bytes(data))
    with time_limit(30):
        plan = plan_rewind(failover_pair / "new-primary", target)
    assert len(plan.wal_segments_needed) < 1000 and not plan.wal_list_complete
