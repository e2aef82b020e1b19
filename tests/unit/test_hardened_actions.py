"""Issue 11 with the fake runner: the actions as root against a hostile data directory, one run at a
time, and truthful after any fault (pg_rewind killed at each phase, a signal, a full disk)."""
# ruff: noqa: F811 (the tests take the imported ``pair`` fixture)

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from pgrewindkit.actions import safefs
from pgrewindkit.actions.archive import restore_segments
from pgrewindkit.actions.backup import state_directory
from pgrewindkit.actions.failback import failback
from pgrewindkit.actions.lock import lock_name, target_lock
from pgrewindkit.actions.recovery import read_current, recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import rewind
from pgrewindkit.actions.rewind_output import Phase, classify, phase
from pgrewindkit.cli import main
from pgrewindkit.cluster.conninfo import mask_password, parse_conninfo
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.errors import CommandError, PgRewindKitError, RewindError, UnsafePathError
from pgrewindkit.model import DBState
from tests.unit.test_orchestration import (  # noqa: F401 (pair is a fixture)
    CONNINFO,
    COPYING,
    DECISIONS,
    DONE,
    NEED,
    Expect,
    FakeRunner,
    FakeServer,
    Pair,
    _pg_rewind_from_server,
    pair,
    restore_argv,
)

CONTROL, SYNC, FINISHED = DONE


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Path]:
    """A root-owned file the data directory's owner would like root to overwrite or chown."""
    path = tmp_path / "victim"
    path.write_text("precious\n")
    path.chmod(0o644)
    yield path
    assert path.read_text() == "precious\n" and path.stat().st_uid == os.geteuid()


def _postgres() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    return entry.pw_uid, entry.pw_gid


def _as_owner(pair: Pair) -> tuple[int, int]:
    """Give the target to postgres, as it is in production (we run as root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    uid, gid = _postgres()
    for path in [pair.target, *pair.target.rglob("*")]:
        if not path.is_symlink() and (path.is_dir() or path.name.endswith(".conf") or path.name == "pg_control"):
            os.chown(path, uid, gid)
    return uid, gid


# -- Critical: nothing the owner plants is followed -------------------------------------------------


def test_configuration_put_back_through_a_link_swapped_in_during_pg_rewind(pair: Pair, victim: Path) -> None:
    uid, gid = _as_owner(pair)
    (pair.target / "pg_hba.conf").chmod(0o640)
    before = (pair.target / "pg_hba.conf").read_bytes()

    def swap() -> None:  # what the owner does while pg_rewind runs: a link where the file was
        pair.as_pg_rewind_writes()
        (pair.target / "pg_hba.conf").unlink()
        (pair.target / "pg_hba.conf").symlink_to(victim)

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *COPYING, *DONE), effect=swap)])
    rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    hba = pair.target / "pg_hba.conf"
    assert not hba.is_symlink() and hba.read_bytes() == before
    assert (hba.stat().st_uid, hba.stat().st_gid, stat.S_IMODE(hba.stat().st_mode)) == (uid, gid, 0o640)


def test_a_file_pg_rewind_removed_comes_back_with_its_owner_and_mode(pair: Pair) -> None:
    uid, gid = _as_owner(pair)
    (pair.target / "pg_ident.conf").chmod(0o640)

    def removes() -> None:  # absent on the source: pg_rewind removes it
        pair.as_pg_rewind_writes()
        (pair.target / "pg_ident.conf").unlink()

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *DONE), effect=removes)])
    rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    info = (pair.target / "pg_ident.conf").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (uid, gid, 0o640)


def test_backup_is_ours_and_never_given_to_the_owner(pair: Pair) -> None:
    _as_owner(pair)
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *DONE),
                                             effect=pair.as_pg_rewind_writes)])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, keep_backup=True)
    assert result.backup is not None
    for path in [result.backup, *result.backup.iterdir()]:
        assert path.stat().st_uid == os.geteuid() and not path.stat().st_mode & 0o077


def test_a_backup_dir_the_owner_controls_is_refused(pair: Pair, tmp_path: Path, victim: Path) -> None:
    uid, gid = _as_owner(pair)
    hostile = tmp_path / "beside-pgdata"
    hostile.mkdir()
    os.chown(hostile, uid, gid)
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, backup_dir=hostile)
    assert info.value.kind == "unsafe_path" and info.value.state == "unchanged"
    assert runner.ran == [] and pair.target_hash() == before
    link = tmp_path / "link-to-root-dir"
    link.symlink_to(victim.parent)
    with pytest.raises(RewindError, match="link"):
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, backup_dir=link / "b")
    assert pair.target_hash() == before


def test_recovery_configuration_never_written_through_a_planted_link(tmp_path: Path, victim: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "postgresql.auto.conf").symlink_to(victim)
    (pgdata / ".postgresql.auto.conf.pgrewindkit").symlink_to(victim)  # the old, predictable temporary
    config = recovery_config(15, primary_conninfo="host=h password=secret")
    with pytest.raises(UnsafePathError):  # reading the current file does not follow the link either
        read_current(pgdata, 15)
    write_recovery_config(pgdata, config)
    auto = pgdata / "postgresql.auto.conf"
    assert not auto.is_symlink() and "secret" in auto.read_text() and stat.S_IMODE(auto.stat().st_mode) == 0o600


# -- #9: included files -------------------------------------------------------------------------------


def test_included_files_are_kept_restored_and_compared(pair: Pair) -> None:
    conf = pair.target / "postgresql.conf"
    conf.write_text(conf.read_text() + "include 'extra.conf'\ninclude_if_exists 'missing.conf'\n"
                    "include_if_exists 'maybe.conf'\ninclude_dir 'conf.d'\n")
    (pair.target / "extra.conf").write_text("max_connections = 50\n")
    (pair.target / "maybe.conf").write_text("shared_buffers = '64MB'\n")
    (pair.target / "conf.d").mkdir()
    (pair.target / "conf.d" / "tuning.conf").write_text("work_mem = '8MB'\n")

    def copies_the_sources() -> None:
        pair.as_pg_rewind_writes()
        (pair.target / "extra.conf").write_text("max_connections = 500\n")
        (pair.target / "maybe.conf").write_text("shared_buffers = '1GB'\n")
        (pair.target / "conf.d" / "tuning.conf").unlink()
        (pair.target / "conf.d").rmdir()

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *DONE), effect=copies_the_sources)])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    assert (pair.target / "extra.conf").read_text() == "max_connections = 50\n"
    assert (pair.target / "maybe.conf").read_text() == "shared_buffers = '64MB'\n"
    assert (pair.target / "conf.d" / "tuning.conf").read_text() == "work_mem = '8MB'\n"
    assert {"extra.conf", "maybe.conf", "conf.d/tuning.conf"} <= set(result.config_kept)
    assert "extra.conf: max_connections: '50' -> '500'" in result.config_differences
    assert "conf.d/tuning.conf: work_mem: '8MB' -> (unset)" in result.config_differences


# -- #4: pg_rewind stopped at each phase -----------------------------------------------------------------


def _label(pair: Pair) -> None:
    (pair.target / "backup_label").write_text("START WAL LOCATION: 0/5000028 (file 000000020000000000000005)\n"
                                              "CHECKPOINT LOCATION: 0/5000060\nSTART TIMELINE: 2\n")


@pytest.mark.parametrize("printed", [
    (*DECISIONS, NEED, *COPYING, CONTROL, SYNC),  # killed while syncing
    (*DECISIONS, NEED, *COPYING, CONTROL, SYNC, "pg_rewind: error: could not fsync file \"base/1/1\": I/O error"),
])
def test_after_the_control_file_the_new_one_stays(pair: Pair, printed: tuple[str, ...]) -> None:
    before = pair.snapshot()

    def writes() -> None:
        pair.as_pg_rewind_writes()
        _label(pair)

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), printed, code=1, effect=writes)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    error = info.value
    new_control = (pair.source / "global" / "pg_control").read_bytes()
    assert (pair.target / "global" / "pg_control").read_bytes() == new_control, "the old pg_control is not put back"
    assert (pair.target / "postgresql.conf").read_bytes() == before["postgresql.conf"]
    assert error.state == "rewound" and "0/5000060" in error.target_state and "timeline 2" in error.target_state
    assert "run sync" in error.target_state and "run the rewind again" not in error.target_state
    assert error.backup is not None and error.backup.exists()


def test_killed_while_updating_the_control_file_before_it_was_written(pair: Pair) -> None:
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *COPYING, CONTROL), code=-9)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    assert info.value.state == "partially rewound"


def test_phases() -> None:
    assert phase(DECISIONS) is Phase.DECIDING
    assert phase([*DECISIONS, NEED]) is Phase.COPYING
    assert phase([*DECISIONS, NEED, *COPYING, *DONE]) is Phase.DONE
    assert phase([*DECISIONS, NEED, CONTROL]) is Phase.CONTROL_FILE


# -- #5: one run at a time -------------------------------------------------------------------------------


def test_a_second_run_is_refused_with_its_own_kind(pair: Pair) -> None:
    before = pair.target_hash()
    locks = state_directory() / "locks"
    with safefs.Directory.open(pair.target.resolve()) as directory:
        name = lock_name(directory)
    with target_lock(pair.target.resolve(), state_directory()):
        pass  # creates the lock file
    fd = os.open(locks / name, os.O_RDWR)  # another run's descriptor
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        runner = FakeRunner(pair.bindir, [])
        with pytest.raises(RewindError) as info:
            rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
        assert info.value.kind == "target_locked" and runner.ran == [] and pair.target_hash() == before
        with pytest.raises(RewindError, match="another pgrewindkit"):
            failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                     connect=lambda _: FakeServer(pair.source))
    finally:
        os.close(fd)
    assert not list(pair.target.glob("*.lock")), "the lock is not in PGDATA"


# -- #6: a stale postmaster.pid naming a live process ------------------------------------------------------


def test_a_stale_pid_of_a_live_unrelated_process_is_never_stopped(pair: Pair) -> None:
    other = subprocess.Popen(["sleep", "60"], cwd="/")
    try:
        (pair.target / "postmaster.pid").write_text(f"{other.pid}\n{pair.target}\n")
        before = pair.target_hash()
        assert not DataDirectory(pair.target).server_running()
        runner = FakeRunner(pair.bindir, [])
        with pytest.raises(RewindError) as info:
            rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, stop_target=True)
        assert info.value.kind == "foreign_postmaster_pid" and f"PID {other.pid}" in str(info.value)
        assert runner.ran == [] and other.poll() is None and pair.target_hash() == before
    finally:
        other.kill()
        other.wait()


def test_a_process_of_another_user_is_not_ours(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    def eperm(pid: int, sig: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    (pair.target / "postmaster.pid").write_text("1\n")
    monkeypatch.setattr(os, "kill", eperm)
    assert not DataDirectory(pair.target).server_running()


# -- #8: a signal while pg_rewind runs ----------------------------------------------------------------------


def test_sigint_while_pg_rewind_runs_is_held_until_it_is_done(pair: Pair) -> None:
    before = pair.snapshot()
    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in a background job

    def interrupted() -> None:
        pair.as_pg_rewind_writes()
        os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C: held, pg_rewind finishes

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, *COPYING, *DONE),
                                             effect=interrupted)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    error = info.value
    assert error.kind == "interrupted" and error.state == "rewound"
    assert error.backup is not None and str(error.backup) in error.target_state and error.backup.exists()
    assert (pair.target / "postgresql.conf").read_bytes() == before["postgresql.conf"]
    assert signal.getsignal(signal.SIGINT) is handler  # put back as it was


def test_sigterm_and_pg_rewind_killed_while_copying(pair: Pair) -> None:
    def killed() -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, COPYING[0]), code=-15,
                                             effect=killed)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    assert info.value.kind == "interrupted" and info.value.state == "partially rewound"
    assert "SIGTERM" in str(info.value)


# -- #13, #14, low ------------------------------------------------------------------------------------------


def test_a_short_fetched_segment_is_removed(pair: Pair) -> None:
    segment = "00000001000000000000000C"
    (pair.target / "pg_wal" / segment).rename(pair.archive / segment)
    wanted = pair.target / "pg_wal" / segment

    def short() -> None:
        wanted.write_bytes(b"\0" * 100)

    runner = FakeRunner(pair.bindir, [Expect(restore_argv(f"cp {pair.archive}/{segment} {wanted}"), effect=short)])
    with pytest.raises(CommandError, match="100 bytes"):
        restore_segments(DataDirectory(pair.target), [segment], f"cp {pair.archive}/%f %p", runner)
    assert not wanted.exists()

    other = "00000001000000000000000B"

    def wrong() -> None:  # another segment under this name
        wanted.write_bytes((pair.target / "pg_wal" / other).read_bytes())

    runner = FakeRunner(pair.bindir, [Expect(restore_argv(f"cp {pair.archive}/{segment} {wanted}"), effect=wrong)])
    with pytest.raises(CommandError, match="not this segment"):
        restore_segments(DataDirectory(pair.target), [segment], f"cp {pair.archive}/%f %p", runner)
    assert not wanted.exists()


def _unclean(monkeypatch: pytest.MonkeyPatch, state: DBState) -> None:
    real = DataDirectory.control

    def control(self: DataDirectory) -> object:
        return attrs.evolve(real.fget(self), state=state)  # type: ignore[attr-defined]

    monkeypatch.setattr(DataDirectory, "control", property(control))


def test_a_dry_run_of_an_unclean_target_writes_nothing(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    _unclean(monkeypatch, DBState.IN_PRODUCTION)
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, dry_run=True)
    assert info.value.kind == "target_not_cleanly_shut_down" and "dry run never writes" in str(info.value)
    assert runner.ran == [] and pair.target_hash() == before


def test_a_rewound_never_started_target_is_not_rewound_again(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    _label(pair)
    _unclean(monkeypatch, DBState.IN_ARCHIVE_RECOVERY)
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    assert info.value.kind == "already_rewound" and info.value.state == "rewound"
    assert runner.ran == [] and pair.target_hash() == before


def test_a_full_disk_while_keeping_the_backup_is_one_line_and_changes_nothing(
        pair: Pair, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if len(data) > 1000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    before = pair.target_hash()
    monkeypatch.setattr(os, "write", full)
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    assert "No space left on device" in str(info.value) and info.value.state == "unchanged"
    assert runner.ran == [] and pair.target_hash() == before
    code = main(["rewind", "--target-pgdata", str(pair.target), "--source-pgdata", str(pair.source),
                 "--bindir", str(pair.bindir), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "No space left" in err


def test_a_lost_source_connection_is_source_unavailable() -> None:
    for line in ("could not fetch file list: server closed the connection unexpectedly",
                 "error running query (SELECT 1) in source server: no connection to the server",
                 "unexpected result while fetching remote files: SSL SYSCALL error: EOF detected",
                 "could not receive data from server: Connection reset by peer"):
        assert classify(line) == "source_unavailable", line


# -- #15, #16: passwords and line breaks ------------------------------------------------------------------


def test_pgpassword_reaches_pg_rewind_in_its_environment_only(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "fromenv")
    runner = FakeRunner(pair.bindir, [_pg_rewind_from_server(pair)])
    conninfo = "host=new-primary port=5432 user=rewinder dbname=postgres"
    rewind(pair.target, FakeServer(pair.source), bindir=pair.bindir, runner=runner, source_conninfo=conninfo)
    assert runner.envs[0]["PGPASSWORD"] == "fromenv"


def test_pgpass_reaches_pg_rewind_as_a_private_copy(pair: Pair, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _postgres()
    _as_owner(pair)
    passfile = tmp_path / "pgpass"
    passfile.write_text("new-primary:5432:*:rewinder:frompgpass\n")
    passfile.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    seen: list[tuple[str, int, int]] = []

    def looks() -> None:
        copy = Path(runner.envs[0]["PGPASSFILE"])
        info = copy.stat()
        seen.append((copy.read_text(), info.st_uid, stat.S_IMODE(info.st_mode)))
        pair.as_pg_rewind_writes()

    step = _pg_rewind_from_server(pair)
    runner = FakeRunner(pair.bindir, [attrs.evolve(step, effect=looks)])
    conninfo = "host=new-primary port=5432 user=rewinder dbname=postgres"
    rewind(pair.target, FakeServer(pair.source), bindir=pair.bindir, runner=runner, source_conninfo=conninfo)
    assert seen == [("new-primary:5432:*:rewinder:frompgpass\n", _postgres()[0], 0o600)]
    assert "PGPASSWORD" not in runner.envs[0] and not Path(runner.envs[0]["PGPASSFILE"]).exists()


def test_escaped_passwords_are_masked_whole() -> None:
    assert mask_password(r"host=h password=a\ b user=u") == "host=h password=******** user=u"
    assert mask_password(r"password='a\' b' host=h") == "password=******** host=h"
    assert parse_conninfo(r"password=a\ b host=h") == {"password": "a b", "host": "h"}


@pytest.mark.parametrize("setting", ["restore_command", "primary_slot_name", "primary_conninfo"])
def test_a_line_break_in_a_setting_is_refused(setting: str) -> None:
    value = "cp /archive/%f %p\r\n" if setting == "restore_command" else "x\ny password=secret"
    with pytest.raises(PgRewindKitError) as info:
        recovery_config(15, **{setting: value})  # type: ignore[arg-type]
    assert info.value.kind == "invalid_setting" and "secret" not in str(info.value)


def test_a_failback_with_a_crlf_restore_command_writes_nothing(pair: Pair) -> None:
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(PgRewindKitError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: FakeServer(pair.source),
                 restore_command="cp /a/%f %p\r", start_server=False)
    assert info.value.kind == "invalid_setting" and runner.ran == [] and pair.target_hash() == before
