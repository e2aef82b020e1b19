from __future__ import annotations

import io
import json
from pathlib import Path

from pgrewindkit import cli
from tests.support.shipped import FIXTURES, wal_expected


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_text_like_pg_waldump_b(wal_dirs: dict[int, Path]) -> None:
    start = wal_expected(15)["start"]
    code, out, err = run("waldump", "--path", str(wal_dirs[15]), "--start", start, "-n", "50")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("rmgr: ") and f"lsn: {start.split('/')[0]}/" in lines[0]
    assert any(line.startswith("\tblkref #0: rel 1663/") for line in lines)


def test_json_lines_and_end_of_wal(wal_dirs: dict[int, Path]) -> None:
    start = wal_expected(16)["start"]
    code, out, err = run("waldump", "--path", str(wal_dirs[16]), "--start", start, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and records[0]["lsn"] == start and len(records) > 10_000
    assert set(records[0]) == {"lsn", "end", "prev", "timeline", "rmgr", "type", "info", "xid", "tot_len",
                               "rec_len", "fpi_len", "main_data_len", "blocks"}
    block = next(b for r in records for b in r["blocks"] if b["fpi"])
    assert set(block) == {"id", "spc", "db", "rel", "fork", "blk", "fpi", "apply", "will_init", "data_len"}
    end = json.loads(err)
    assert end["end_of_wal"] == records[-1]["end"] and "expected at least 24, got 0" in end["reason"]


def test_stats_text_equals_pg_waldump(wal_dirs: dict[int, Path]) -> None:
    code, out, err = run("waldump", "--path", str(wal_dirs[15]), "--start", wal_expected(15)["start"], "--stats")
    expected = [x for x in (FIXTURES / "pg15" / "pg_waldump-stats.txt").read_text().splitlines()
                if not x.startswith("stderr: ")]
    assert code == 0 and out.splitlines() == expected
    assert err.startswith("pgrewindkit: end of WAL at ") and "error in WAL record at" in err


def test_start_in_the_middle_and_end(wal_dirs: dict[int, Path]) -> None:
    start = wal_expected(12)["start"]
    code, out, err = run("waldump", "--path", str(wal_dirs[12]), "--start", start, "--json", "-n", "3")
    lsns = [json.loads(line)["lsn"] for line in out.splitlines()]
    code, out, err = run("waldump", "--path", str(wal_dirs[12]), "--start", lsns[0], "--end", lsns[2], "--json")
    assert code == 0
    assert [json.loads(line)["lsn"] for line in out.splitlines()] == lsns[:2]
    assert json.loads(err)["reached_end"] is True
    mid = hex(int(lsns[1].split("/")[1], 16) - 4)[2:].upper()
    _code, out, err = run("waldump", "--path", str(wal_dirs[12]), "--start", f"0/{mid}", "-n", "1")
    assert f"first record is after 0/{mid}, at {lsns[1]}, skipping over 4 bytes" in err


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    code, out, err = run("waldump", "--path", str(tmp_path / "none"), "--start", "0/1000000")
    assert out == ""
    assert code == cli.EXIT_BAD_INPUT and err.count("\n") == 1 and "WAL directory does not exist" in err
    code, _out, err = run("waldump", "--path", str(tmp_path), "--start", "0/1000000")
    assert code == cli.EXIT_BAD_INPUT and err.count("\n") == 1 and "no WAL segment here holds 0/1000000" in err
