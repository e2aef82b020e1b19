"""rewind() and failback() orchestrated without a server: a fake runner plays pg_rewind, pg_ctl and the
restore command (and fails on any command it was not told to expect), a fake source plays the new
primary; the targets are small copies of the shipped PostgreSQL 15 failover."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from pgrewindkit.actions.failback import failback
from pgrewindkit.actions.rewind import ProgressEvent, rewind
from pgrewindkit.cluster.datadir import FileEntry
from pgrewindkit.cluster.source import LocalSource
from pgrewindkit.errors import CommandError, FailbackError, RewindError, SourceError
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal import WalRecord
from pgrewindkit.model import ControlFile
from tests.support.shipped import FAILOVER, failover_expected

VERSION = "(PostgreSQL) 15.4"
ANY = "<any argument>"
CONNINFO = "host=new-primary port=5432 user=rewinder password=s3cret dbname=postgres"
# what pg_rewind 15 printed for this failover, up to its decisions; then copying and the end
DECISIONS = [line for line in (FAILOVER / "pg_rewind-dry-run-debug.txt").read_text().splitlines()
             if "servers diverged" in line or "last common checkpoint" in line]
NEED = "pg_rewind: need to copy 16 MB (total source directory size is 34 MB)"
COPYING = ["    8/16512 kB (0%) copied", "16512/16512 kB (100%) copied"]
DONE = ["pg_rewind: creating backup label and updating control file", "pg_rewind: syncing target data directory",
        "pg_rewind: Done!"]


# -- the fake runner ----------------------------------------------------------------------------------


@attrs.frozen
class Expect:
    """One command the runner expects next: its argv, what it prints, its exit status, and what it
    does to the files (run before it returns)."""

    argv: tuple[str, ...]
    lines: tuple[str, ...] = ()
    code: int = 0
    effect: Callable[[], None] | None = None


@attrs.define
class FakeRunner:
    """A ``CommandRunner`` that plays the programs in ``bindir`` and the expected commands in order."""

    bindir: Path
    expected: list[Expect]
    ran: list[tuple[str, ...]] = attrs.field(factory=list)
    envs: list[dict[str, str]] = attrs.field(factory=list)

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], user: str | None,
                 on_line: Callable[[str], None], stdin_devnull: bool = True) -> int:
        command = tuple(argv)
        if len(command) == 2 and command[1] == "--version" and Path(command[0]).parent == self.bindir:
            on_line(f"{Path(command[0]).name} {VERSION}")  # find_program asking which major it is
            return 0
        self.ran.append(command)
        assert self.expected, f"unexpected command: {command}"
        step = self.expected.pop(0)
        wanted = tuple(command[i] if arg == ANY and i < len(command) else arg for i, arg in enumerate(step.argv))
        assert command == wanted, f"unexpected command: {command}, expected {step.argv}"
        assert "s3cret" not in " ".join(command), "a password on a command line"
        self.envs.append(dict(env))
        if step.effect is not None:
            step.effect()
        for line in step.lines:
            on_line(line)
        return step.code

    def finished(self) -> bool:
        return not self.expected


# -- small copies of the failover ---------------------------------------------------------------------


def _link_or_copy(source: str, target: str) -> None:
    """Relation files and WAL segments are only read: linked; the files a rewind writes are copied,
    so that the session's fixture never changes."""
    relative = Path(source).parts[-2:]
    if relative[0] in ("base", "pg_wal") or Path(source).parent.parent.name == "base" or (
            relative[0] == "global" and relative[1] != "pg_control"):
        os.link(source, target)
    else:
        shutil.copy2(source, target)


@attrs.frozen
class Pair:
    source: Path
    target: Path
    bindir: Path
    archive: Path

    def snapshot(self) -> dict[str, bytes]:
        """What a failed rewind must leave as it was: pg_control and the configuration files."""
        names = ["global/pg_control", "postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"]
        return {name: (self.target / name).read_bytes() for name in names}

    def pg_rewind(self, *flags: str, source: tuple[str, ...] | None = None) -> tuple[str, ...]:
        where = source or ("--source-pgdata", str(self.source))
        return (str(self.bindir / "pg_rewind"), "--target-pgdata", str(self.target), *where, *flags, "--progress")

    def as_pg_rewind_writes(self) -> None:
        """What pg_rewind does to the target that matters here: the source's configuration over the
        target's, and a new control file."""
        shutil.copy2(self.source / "postgresql.conf", self.target / "postgresql.conf")
        (self.target / "global" / "pg_control").write_bytes((self.source / "global" / "pg_control").read_bytes())

    def half_written(self) -> None:
        (self.target / "postgresql.conf").write_text("half copied")
        (self.target / "global" / "pg_control").write_bytes(b"\0" * 8192)

    def backups(self) -> list[Path]:
        return sorted(self.target.parent.glob(f"{self.target.name}.pgrewindkit-*"))


@pytest.fixture
def pair(failover_pair: Path, tmp_path: Path) -> Pair:
    target = tmp_path / "old-primary"
    shutil.copytree(failover_pair / "old-primary", target, copy_function=_link_or_copy, symlinks=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("pg_rewind", "pg_ctl", "postgres"):
        (bindir / name).touch(mode=0o755)
    archive = tmp_path / "archive"
    archive.mkdir()
    return Pair(failover_pair / "new-primary", target, bindir, archive)


# -- rewind -------------------------------------------------------------------------------------------


def test_dry_run_changes_nothing(pair: Pair) -> None:
    before = pair.snapshot()
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind("--dry-run"), (*DECISIONS, NEED, *DONE))])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, dry_run=True)
    assert runner.finished() and result.outcome == "dry_run" and result.bytes_copied == 0
    assert [str(result.divergence_lsn), result.divergence_timeline] == failover_expected()["pg_rewind"]["diverged"]
    assert result.backup is None and not pair.backups() and pair.snapshot() == before
    assert result.plan.predicts == "pg_rewind 15.4"  # the pg_rewind it runs (VERSION), not the newest 15


def test_rewound_keeps_the_targets_configuration(pair: Pair) -> None:
    before = pair.snapshot()
    events: list[ProgressEvent] = []
    lines = (*DECISIONS, NEED, *COPYING, "pg_rewind: warning: a warning worth passing on", *DONE)
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), lines, effect=pair.as_pg_rewind_writes)])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, on_progress=events.append)
    assert runner.finished() and result.outcome == "rewound" and result.bytes_copied == result.plan.bytes_to_copy
    assert events == [ProgressEvent(8, 16512, 0), ProgressEvent(16512, 16512, 100)]
    assert result.warnings[0] == "a warning worth passing on"
    assert (pair.target / "postgresql.conf").read_bytes() == before["postgresql.conf"]
    assert (pair.target / "global" / "pg_control").read_bytes() != before["global/pg_control"]
    assert set(result.config_kept) == {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"}
    assert result.config_differences and all(d.startswith("postgresql.conf: ") for d in result.config_differences)
    assert result.backup is not None and pair.backups() == [result.backup]
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o700
    assert (result.backup / "pg_control").read_bytes() == before["global/pg_control"]


def test_pg_rewind_fails_before_changing_anything(pair: Pair) -> None:
    before = pair.snapshot()
    lines = (*DECISIONS, "pg_rewind: error: could not connect to server: Connection refused")
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), lines, code=1)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    error = info.value
    assert error.kind == "source_unavailable"
    assert error.target_state.startswith("unchanged: pg_control and configuration")
    assert error.backup is not None and pair.snapshot() == before
    assert "could not connect to server" in str(error) and "Connection refused" in error.output


def test_pg_rewind_killed_after_need_to_copy(pair: Pair) -> None:
    before = pair.snapshot()
    runner = FakeRunner(pair.bindir, [Expect(pair.pg_rewind(), (*DECISIONS, NEED, COPYING[0]), code=-9,
                                             effect=pair.half_written)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner)
    error = info.value
    assert error.kind == "pg_rewind_failed" and "pg_rewind exited with status -9" in str(error)
    assert error.target_state.startswith("partially rewound: data files were being copied, so do not start it")
    assert pair.snapshot() == before, "pg_control and the configuration are put back"


def test_nothing_runs_when_no_rewind_is_required(pair: Pair) -> None:
    runner = FakeRunner(pair.bindir, [])
    result = rewind(pair.target, pair.target, bindir=pair.bindir, runner=runner)  # the target as its own source
    assert result.outcome == "no_rewind_required" and result.command == ""
    assert runner.ran == [] and not pair.backups()


def test_missing_wal_fetched_with_the_restore_command(pair: Pair) -> None:
    segment = "00000001000000000000000C"
    (pair.target / "pg_wal" / segment).rename(pair.archive / segment)
    command = f"cp {pair.archive}/%f %p"
    wanted = pair.target / "pg_wal" / segment

    def restore() -> None:
        shutil.copy(pair.archive / segment, wanted)

    runner = FakeRunner(pair.bindir, [
        Expect(("/bin/sh", "-c", f"cp {pair.archive}/{segment} {wanted}"), effect=restore),
        Expect(pair.pg_rewind("--dry-run"), (*DECISIONS, NEED, *DONE))])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, dry_run=True,
                    restore_command=command)
    assert runner.finished() and result.fetched_wal == (segment,)


def test_missing_wal_without_a_way_to_fetch_it(pair: Pair) -> None:
    segment = "00000001000000000000000C"
    (pair.target / "pg_wal" / segment).rename(pair.archive / segment)
    nothing = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=nothing)
    assert info.value.kind == "wal_missing" and "no restore command" in str(info.value)
    assert nothing.ran == [] and not pair.backups()
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=FakeRunner(pair.bindir, []),
               restore_command="cp /a/%f %p %r")
    assert info.value.kind == "restore_command_invalid"
    failing = FakeRunner(pair.bindir, [Expect(("/bin/sh", "-c", f"false {segment}"), ("no such file",), code=1)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=failing, restore_command="false %f")
    assert info.value.kind == "wal_missing" and "restore command failed for" in str(info.value)
    assert "no such file" in str(info.value) and info.value.state == "unchanged"


# -- failback -----------------------------------------------------------------------------------------


class FakeServer:
    """The new primary as a running server: its files are the fixture's, its answers scripted."""

    def __init__(self, datadir: Path, *, streaming_after: int | None = 0, unreachable: bool = False) -> None:
        self._files = LocalSource(datadir)
        self.description = "host=new-primary"
        self.streaming_after = streaming_after  # polls before the standby shows up; None: never
        self.unreachable = unreachable
        self.closed = False

    @property
    def is_live(self) -> bool:
        return True

    @property
    def pgdata(self) -> None:
        return None

    def connection_string(self) -> str:
        return CONNINFO

    @property
    def control(self) -> ControlFile:
        if self.unreachable:
            raise SourceError("could not connect to host=new-primary: Connection refused")
        return self._files.control

    def read_file(self, relative: str) -> bytes:
        return self._files.read_file(relative)

    def files(self) -> list[FileEntry]:
        return self._files.files()

    def history(self, timeline: int) -> TimelineHistory:
        return self._files.history(timeline)

    def setting(self, name: str) -> str:
        return {"full_page_writes": "on"}[name]

    def in_recovery(self) -> bool:
        return False

    def current_timeline(self) -> int:
        return self._files.current_timeline()

    def wal_position(self) -> LSN:
        return self._files.wal_position()

    def wal_record(self, lsn: LSN, timeline: int) -> WalRecord | None:
        return None

    def standby_streaming(self, application_name: str) -> bool:
        if self.streaming_after is None:
            return False
        self.streaming_after -= 1
        return self.streaming_after < 0

    def close(self) -> None:
        self.closed = True


def _failback_steps(pair: Pair, *, start_code: int = 0, timeout: int = 120) -> list[Expect]:
    """pg_rewind from the server (its password not on the command line), then pg_ctl start (its log
    file named after the backup directory, whose name holds the time: any)."""
    server_side = "host=new-primary port=5432 user=rewinder dbname=postgres"
    start = (str(pair.bindir / "pg_ctl"), "-D", str(pair.target), "-l", ANY, "-w", "-t", str(timeout), "start")
    return [Expect(pair.pg_rewind(source=("--source-server", server_side)), (*DECISIONS, NEED, *COPYING, *DONE),
                   effect=pair.as_pg_rewind_writes),
            Expect(start, ("pg_ctl: could not start server",) if start_code else ("server started",), code=start_code)]


def test_failback_streams(pair: Pair) -> None:
    server = FakeServer(pair.source, streaming_after=1)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    steps: list[str] = []
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                      application_name="old", on_step=lambda s: steps.append(s.name))
    assert runner.finished() and server.closed and result.streaming
    assert runner.envs[0]["PGPASSWORD"] == "s3cret"
    log_file = Path(runner.ran[-1][4])
    assert result.rewind.backup is not None and log_file.parent == result.rewind.backup
    assert steps == ["rewind", "recovery configuration", "start", "streaming"]
    assert result.rewind.outcome == "rewound" and (pair.target / "standby.signal").exists()
    auto = (pair.target / "postgresql.auto.conf").read_text()
    assert "application_name=old" in auto and "dbname" not in auto


def test_failback_start_fails(pair: Pair) -> None:
    server = FakeServer(pair.source)
    runner = FakeRunner(pair.bindir, _failback_steps(pair, start_code=1))
    steps: list[str] = []
    with pytest.raises(CommandError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                 on_step=lambda s: steps.append(s.name))
    assert info.value.kind == "command_failed" and "could not start server" in str(info.value)
    assert steps == ["rewind", "recovery configuration"] and server.closed


def test_failback_not_streaming_in_time(pair: Pair) -> None:
    server = FakeServer(pair.source, streaming_after=None)
    runner = FakeRunner(pair.bindir, _failback_steps(pair, timeout=0))
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server, timeout=0.05)
    assert info.value.kind == "not_streaming" and info.value.step == "streaming" and runner.finished()


def test_failback_source_unavailable(pair: Pair) -> None:
    before = pair.snapshot()

    def refuse(conninfo: str) -> FakeServer:
        raise SourceError("could not connect to host=new-primary password=********: Connection refused")

    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=refuse)
    assert info.value.kind == "source_unavailable" and info.value.step == "connect"
    with pytest.raises(RewindError) as rewind_info:  # connected, then lost: the plan cannot be made
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                 connect=lambda _: FakeServer(pair.source, unreachable=True))
    assert rewind_info.value.kind == "source_unavailable" and rewind_info.value.state == "unchanged"
    assert runner.ran == [] and pair.snapshot() == before and not pair.backups()
