"""The command line's small fixes of issue 10: --json errors, one-line errors, help texts,
--verbose after the command, -D everywhere, recovery-config keeping what it is not given and
masking inside quotes, waldump's pg_waldump options, and the live demo's clean-up."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import pgrewindkit
from pgrewindkit import cli, demo
from pgrewindkit.cluster.conninfo import make_conninfo, one_line, parse_conninfo
from pgrewindkit.cluster.pgconf import mask_settings_text, parse_settings, quote
from pgrewindkit.cluster.source import connect
from tests.support.shipped import wal_expected


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["inspect", "--json", "/no/such/dir"],
                                  ["plan", "--json", "-D", "/no/such", "--source-pgdata", "/no/such/either"],
                                  ["controldata", "--json", "/no/such/dir"]])
def test_errors_under_json_are_one_json_object_on_stdout(argv: list[str]) -> None:
    code, out, err = run(*argv)
    assert code == cli.EXIT_BAD_INPUT
    error = json.loads(out)["error"]
    assert set(error) == {"kind", "message", "target_state"} and error["kind"] == "file_not_found"
    assert err.count("\n") == 1 and err.startswith("pgrewindkit: error: ")


def test_usage_errors_under_json_say_usage() -> None:
    code, out, _ = run("inspect", "--json")
    assert code == cli.EXIT_USAGE and json.loads(out)["error"]["kind"] == "usage"


def test_without_json_stdout_stays_empty_on_error() -> None:
    code, out, _ = run("inspect", "/no/such/dir")
    assert code == cli.EXIT_BAD_INPUT and out == ""


def test_connection_errors_are_one_line(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(pgrewindkit.SourceError) as caught:
        connect(f"host={tmp_path} port=1 user=x password=s3cret dbname=x", connect_timeout=2)
    assert "\n" not in str(caught.value) and "s3cret" not in str(caught.value)
    code, out, err = run("divergence", "--json", "-D", str(tmp_path), "--source-server",
                         f"host={tmp_path} port=1 user=x password=s3cret")
    assert code == cli.EXIT_BAD_INPUT and err.count("\n") == 1 and "s3cret" not in err + out
    assert json.loads(out)["error"]["kind"] == "source_unavailable"


def test_one_line() -> None:
    assert one_line('connection failed: no socket\n\tIs the server running?\n') == \
        "connection failed: no socket; Is the server running?"


# -- options ---------------------------------------------------------------------------------------


def test_failback_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["failback", "--help"])
    text = capsys.readouterr().out
    for option in ("--target-pgdata DIR, -D DIR\n", "--source-server CONNSTR\n", "--timeout SECONDS"):
        after = text.split(option, 1)[1].lstrip(" \n")
        assert not after.startswith("-"), f"{option.strip()} has no help"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_the_command(where: str, failover_pair: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(cli, "_log_to", lambda err: seen.append(True))
    argv = ["inspect", str(failover_pair / "old-primary")]
    code, _, _ = run(*(["-v", *argv] if where == "before" else [*argv, "--verbose"]))
    assert code == 0 and seen == [True]
    seen.clear()
    run(*argv)
    assert seen == []


def test_inspect_takes_d(failover_pair: Path) -> None:
    by_d = run("inspect", "-D", str(failover_pair / "old-primary"))
    assert by_d == run("inspect", str(failover_pair / "old-primary")) and by_d[0] == 0
    code, _, err = run("inspect", "-D", str(failover_pair / "old-primary"), str(failover_pair / "new-primary"))
    assert code == cli.EXIT_USAGE and "once" in err


# -- recovery-config -------------------------------------------------------------------------------


CONNINFO = make_conninfo({"host": "db1", "user": "rep", "password": "pa's \\ s"})


def _standby_copy(failover_pair: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pgdata"
    shutil.copytree(failover_pair / "old-primary", copy)
    with (copy / "postgresql.auto.conf").open("a") as auto:
        auto.write(f"primary_conninfo = {quote(CONNINFO)}\nrestore_command = 'cp /archive/%f %p'\n")
    return copy


def test_recovery_config_without_options_keeps_what_is_there(failover_pair: Path, tmp_path: Path) -> None:
    pgdata = _standby_copy(failover_pair, tmp_path)
    before = parse_settings((pgdata / "postgresql.auto.conf").read_text())
    code, _out, err = run("recovery-config", "-D", str(pgdata))
    assert code == 0, err
    after = parse_settings((pgdata / "postgresql.auto.conf").read_text())
    assert after["primary_conninfo"] == before["primary_conninfo"] == CONNINFO
    assert after["restore_command"] == "cp /archive/%f %p" and (pgdata / "standby.signal").exists()


def test_recovery_config_replaces_only_what_it_is_given(failover_pair: Path, tmp_path: Path) -> None:
    pgdata = _standby_copy(failover_pair, tmp_path)
    code, _, _ = run("recovery-config", str(pgdata), "--application-name", "node1", "--slot", "s1")
    after = parse_settings((pgdata / "postgresql.auto.conf").read_text())
    conninfo = parse_conninfo(after["primary_conninfo"])
    assert code == 0 and conninfo["host"] == "db1" and conninfo["application_name"] == "node1"
    assert after["primary_slot_name"] == "s1" and after["restore_command"] == "cp /archive/%f %p"


def test_recovery_config_dry_run_masks_inside_the_quotes(failover_pair: Path, tmp_path: Path) -> None:
    pgdata = _standby_copy(failover_pair, tmp_path)
    before = _tree_hash(pgdata)
    code, out, _ = run("recovery-config", str(pgdata), "--dry-run", "--primary-conninfo",
                       "host=new password=secret")
    line = next(x for x in out.splitlines() if x.startswith("primary_conninfo"))
    assert code == 0 and line == "primary_conninfo = 'host=new password=********'"
    assert "secret" not in out and _tree_hash(pgdata) == before
    code, out, _ = run("recovery-config", str(pgdata), "--dry-run")
    line = next(x for x in out.splitlines() if x.startswith("primary_conninfo"))
    assert line == "primary_conninfo = 'host=db1 user=rep password=********'"


@pytest.mark.parametrize("password", ["secret", "it's a \\ secret", "x y"])
def test_masked_setting_keeps_its_quoting(password: str) -> None:
    value = make_conninfo({"host": "db", "password": password, "user": "rep"})
    text = f"primary_conninfo = {quote(value)}\nport = 5432\n"
    shown = mask_settings_text(text)
    assert parse_settings(shown) == {"primary_conninfo": "host=db password=******** user=rep", "port": "5432"}


# -- waldump ---------------------------------------------------------------------------------------


def test_waldump_rmgr_list_and_unknown_names(wal_dirs: dict[int, Path]) -> None:
    code, out, _ = run("waldump", "-r", "list")
    assert code == 0 and out.splitlines()[:3] == ["XLOG", "Transaction", "Storage"]
    code, _, err = run("waldump", "-p", str(wal_dirs[15]), "-r", "nosuch")
    assert code == cli.EXIT_BAD_INPUT and 'resource manager "nosuch" does not exist' in err


def test_waldump_block_needs_relation(wal_dirs: dict[int, Path]) -> None:
    code, _, err = run("waldump", "-p", str(wal_dirs[15]), "-B", "0")
    assert code == cli.EXIT_BAD_INPUT and "requires option -R/--relation" in err
    with pytest.raises(SystemExit) as usage:
        run("waldump", "-p", str(wal_dirs[15]), "-R", "1663/5")
    assert usage.value.code == cli.EXIT_USAGE


def test_waldump_filters(wal_dirs: dict[int, Path]) -> None:
    path, start = str(wal_dirs[15]), wal_expected(15)["start"]
    _, out, _ = run("waldump", "-p", path, "-s", start, "--json", "-r", "Heap", "-n", "20")
    records = [json.loads(x) for x in out.splitlines()]
    assert len(records) == 20 and {r["rmgr"] for r in records} == {"Heap"}
    _, out, _ = run("waldump", "-p", path, "-s", start, "--json", "-w", "-F", "main")
    records = [json.loads(x) for x in out.splitlines()]
    assert records and all(any(b["fpi"] for b in r["blocks"]) for r in records)
    xid = next(r["xid"] for r in records if r["xid"])
    _, out, _ = run("waldump", "-p", path, "-s", start, "--json", "-x", str(xid))
    assert {json.loads(x)["xid"] for x in out.splitlines()} == {xid}


def test_waldump_old_and_new_spellings_agree(wal_dirs: dict[int, Path]) -> None:
    path, start = str(wal_dirs[15]), wal_expected(15)["start"]
    old = run("waldump", "--path", path, "--start", start, "--limit", "30", "--timeline", "1")
    new = run("waldump", "-p", path, "-s", start, "-n", "30", "-t", "1")
    assert old == new and old[0] == 0


def test_waldump_positional_segments(wal_dirs: dict[int, Path]) -> None:
    wal = wal_dirs[15] / "pg_wal"
    names = sorted(p.name for p in wal.iterdir() if len(p.name) == 24)
    code, out, err = run("waldump", "--json", str(wal / names[1]))
    lsns = [json.loads(x)["lsn"] for x in out.splitlines()]
    assert code == 0 and lsns and all(pgrewindkit.LSN.parse(x).segment_number(1 << 20) == int(names[1][-8:], 16)
                                      for x in lsns)
    assert json.loads(err)["reached_end"] is True
    code, _, err = run("waldump", str(wal / names[2]), names[1])
    assert code == cli.EXIT_BAD_INPUT and "is before STARTSEG" in err
    code, _, err = run("waldump", "-s", "0/100", str(wal / names[1]))
    assert code == cli.EXIT_BAD_INPUT and "is not inside file" in err
    code, _, err = run("waldump", str(wal / "nosuch"))
    assert code == cli.EXIT_BAD_INPUT and "could not parse WAL file name" in err


def test_waldump_follow_reads_wal_as_it_arrives(wal_dirs: dict[int, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """--follow: at the end of valid WAL it waits, then reads on from there when a segment arrives."""
    source = wal_dirs[15] / "pg_wal"
    names = sorted(p.name for p in source.iterdir() if len(p.name) == 24)
    wal = tmp_path / "pg_wal"
    wal.mkdir()
    shutil.copy2(source / names[0], wal / names[0])
    arrivals = [names[1]]

    def sleep(_seconds: float) -> None:
        if not arrivals:
            raise KeyboardInterrupt
        name = arrivals.pop()
        shutil.copy2(source / name, wal / name)

    monkeypatch.setattr("pgrewindkit.cli.commands.time.sleep", sleep)
    code, out, _ = run("waldump", "-p", str(wal), "--json", "-f")
    followed = [json.loads(x)["lsn"] for x in out.splitlines()]
    _, out, _ = run("waldump", "-p", str(source), "--json", "-e", f"0/{int(names[2][-8:], 16) << 20:X}")
    whole = [json.loads(x)["lsn"] for x in out.splitlines()]
    assert code == cli.EXIT_INTERRUPTED and followed == whole[:len(followed)] and len(followed) == len(whole)


# -- live demo -------------------------------------------------------------------------------------


def test_live_demo_stops_servers_before_removing_them_even_on_failure(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """Every server is stopped before the work directory goes, whatever failed, and failback
    gets the programs' directory."""
    from pgrewindkit.demo import harness
    from pgrewindkit.demo import seed as story

    events: list[str] = []

    class FakeCluster:
        def __init__(self, bins: Any, work: Path, name: str, port: int) -> None:
            self.name, self.pgdata, self.port, self.bins = name, work / name, port, bins
            self.pgdata.mkdir(parents=True)

        def __getattr__(self, attr: str) -> Any:
            return lambda *a, **k: None

        def stop(self, mode: str = "fast") -> None:
            events.append(f"stop {self.name}")

    class Boom(Exception):
        pass

    given: dict[str, Any] = {}

    def failing_failback(*_a: Any, **options: Any) -> Any:
        given.update(options)
        raise Boom

    point = type("Point", (), {"lsn": "0/3000000", "timeline": 1})()
    plan = type("Plan", (), {"shown_files": (), "bytes_to_copy": 0, "outcome": "ok"})()

    monkeypatch.setattr(story, "Cluster", FakeCluster)
    monkeypatch.setattr(harness, "binaries", lambda major, bindir: harness.BinDir(major, Path("/opt/pg/bin")))
    monkeypatch.setattr(harness, "make_workdir", lambda prefix: tmp_path / "work")
    monkeypatch.setattr(story, "chown_postgres", lambda path: None)
    monkeypatch.setattr(harness, "remove_tree", lambda path: events.append("remove"))
    for step in ("primary", "standby", "failover"):
        monkeypatch.setattr(story, step, lambda *a, **k: None)
    monkeypatch.setattr(demo, "LiveSource", lambda conninfo: _Null())
    monkeypatch.setattr(demo, "plan_rewind", lambda *a, **k: plan)
    monkeypatch.setattr(demo, "_diverged", lambda p: (point, point))
    monkeypatch.setattr(story, "failback", failing_failback)
    (tmp_path / "work").mkdir()
    with pytest.raises(Boom):
        demo.live(15, None, lambda line: None)
    assert given["bindir"] == "/opt/pg/bin"
    assert events[-1] == "remove" and {"stop server1", "stop server2"} <= set(events[:-1])


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
