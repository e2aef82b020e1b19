"""rewind() and failback() orchestrated without a server: a fake runner plays pg_rewind, pg_ctl and the
restore command (and fails on any command it was not told to expect), a fake source plays the new
primary; the targets are small copies of the shipped PostgreSQL 15 failover."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from pgrewindkit.actions.archive import probe_archive, probe_plan
from pgrewindkit.actions.failback import Step, configure_standby, default_application_name, failback
from pgrewindkit.actions.interlocks import target_is_source
from pgrewindkit.actions.rewind import ProgressEvent, rewind
from pgrewindkit.analysis.plan import plan_rewind
from pgrewindkit.cli.parser import build_parser
from pgrewindkit.cluster.datadir import DataDirectory, FileEntry
from pgrewindkit.cluster.pgconf import parse_settings
from pgrewindkit.cluster.source import LocalSource, RelationName, ServerIdentity
from pgrewindkit.errors import FailbackError, PgRewindKitError, RewindError, SourceError
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal import WalRecord
from pgrewindkit.model import ControlFile
from tests.support.cluster import tree_hash
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
    effect_argv: Callable[[tuple[str, ...]], None] | None = None  # for effects on paths the test cannot know


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
        if step.effect_argv is not None:
            step.effect_argv(command)
        for line in step.lines:
            on_line(line)
        return step.code

    def finished(self) -> bool:
        return not self.expected


def restore_argv(shell: str, timeout: str = "300") -> tuple[str, ...]:
    """A restore or archive command as it runs: under ``timeout``."""
    return ("timeout", "-k", "5", timeout, "/bin/sh", "-c", shell)


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
    state: Path

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
        # pg_rewind copies data files and configuration; pg_control only at "updating control file"
        (self.target / "postgresql.conf").write_text("half copied")

    def backups(self) -> list[Path]:
        """Backups left in the state directory (never beside PGDATA)."""
        assert not list(self.target.parent.glob(f"{self.target.name}.pgrewindkit-*"))
        return sorted((self.state / "backups").glob("*")) if (self.state / "backups").exists() else []

    def target_hash(self) -> str:
        """Every file of the target (names, modes, bytes): what a refusal must leave as it was."""
        return tree_hash(self.target)


def make_pair(failover_pair: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    """A copy of the failover's old primary in ``tmp_path``, fake programs, an archive, a state directory."""
    target = tmp_path / "old-primary"
    shutil.copytree(failover_pair / "old-primary", target, copy_function=_link_or_copy, symlinks=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("pg_rewind", "pg_ctl", "postgres"):
        (bindir / name).touch(mode=0o755)
    archive = tmp_path / "archive"
    archive.mkdir()
    state = tmp_path / "state"
    monkeypatch.setenv("PGREWINDKIT_STATE_DIR", str(state))
    return Pair(failover_pair / "new-primary", target, bindir, archive, state)


@pytest.fixture
def pair(failover_pair: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    return make_pair(failover_pair, tmp_path, monkeypatch)


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
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, on_progress=events.append,
                    keep_backup=True)
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
    assert pair.snapshot() == before, "the configuration is put back, pg_control was never touched"


def test_nothing_runs_when_no_rewind_is_required(pair: Pair, tmp_path: Path) -> None:
    runner = FakeRunner(pair.bindir, [])
    twin = tmp_path / "twin"
    shutil.copytree(pair.target, twin, symlinks=True)
    result = rewind(pair.target, twin, bindir=pair.bindir, runner=runner)  # a copy of the target as its source
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
        Expect(restore_argv(f"cp {pair.archive}/{segment} {wanted}"), effect=restore),
        Expect(pair.pg_rewind("--dry-run"), (*DECISIONS, NEED, *DONE))])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, dry_run=True,
                    restore_command=command)
    assert runner.finished() and result.fetched_wal == (segment,)


def test_every_missing_segment_fetched_planning_again_until_the_list_is_complete(pair: Pair) -> None:
    """0B and 0A missing: the first plan knows of 0B only (the walk back stops there, the list is not
    complete); once 0B is fetched the plan names 0A; each plan's ``wal_missing`` is fetched, nothing else."""
    names = ["00000001000000000000000B", "00000001000000000000000A"]
    for name in names:
        (pair.target / "pg_wal" / name).rename(pair.archive / name)
    first = plan_rewind(pair.source, pair.target)
    assert [s.name for s in first.wal_missing] == names[:1] and not first.wal_list_complete

    def restore(name: str) -> Expect:
        wanted = pair.target / "pg_wal" / name

        def fetch() -> None:
            shutil.copy(pair.archive / name, wanted)

        return Expect(restore_argv(f"cp {pair.archive}/{name} {wanted}"), effect=fetch)

    runner = FakeRunner(pair.bindir, [restore(names[0]), restore(names[1]),
                                      Expect(pair.pg_rewind("--dry-run"), (*DECISIONS, NEED, *DONE))])
    result = rewind(pair.target, pair.source, bindir=pair.bindir, runner=runner, dry_run=True,
                    restore_command=f"cp {pair.archive}/%f %p")
    assert runner.finished() and result.fetched_wal == tuple(names)
    assert result.plan.wal_list_complete and not result.plan.wal_missing


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
    failing = FakeRunner(pair.bindir, [Expect(restore_argv(f"false {segment}"), ("no such file",), code=1)])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.source, bindir=pair.bindir, runner=failing, restore_command="false %f")
    assert info.value.kind == "wal_missing" and "restore command failed for" in str(info.value)
    assert "no such file" in str(info.value) and info.value.state == "unchanged"


# -- failback -----------------------------------------------------------------------------------------


class FakeServer:
    """The new primary as a running server: its files are the fixture's, its answers scripted."""

    def __init__(self, datadir: Path, *, streaming_after: int | None = 0, unreachable: bool = False,
                 identity: ServerIdentity | None = None, pending_checkpoint: int | None = None,
                 wal_position: LSN | None = None, slots: dict[str, str] | None = None) -> None:
        self._files = LocalSource(datadir)
        self.description = "host=new-primary"
        self.streaming_after = streaming_after  # polls before the standby shows up; None: never
        self.unreachable = unreachable
        self.closed = False
        self.identity = identity or ServerIdentity("/srv/new-primary", 5432, "192.0.2.10", 1.0e9)
        # just promoted: pg_control on the old timeline until a CHECKPOINT, or until it was read
        # ``pending_checkpoint`` more times (0: never by itself)
        self.lagging = pending_checkpoint is not None
        self.pending_checkpoint = pending_checkpoint
        self.checkpoints = 0
        self._wal_position = wal_position
        self.slots = dict(slots or {})
        self.pg_control_bytes = b"the new primary's own pg_control"

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
        control = self._files.control
        if self.lagging:  # just promoted: pg_control still on the old timeline
            return attrs.evolve(control, checkpoint_copy=attrs.evolve(control.checkpoint_copy, timeline=1))
        return control

    def read_file(self, relative: str) -> bytes:
        if relative == "global/pg_control":
            return self.pg_control_bytes
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
        return self._wal_position if self._wal_position is not None else self._files.wal_position()

    def wal_record(self, lsn: LSN, timeline: int) -> WalRecord | None:
        return None

    def standby_streaming(self, application_name: str) -> bool:
        if self.streaming_after is None:
            return False
        self.streaming_after -= 1
        return self.streaming_after < 0

    def close(self) -> None:
        self.closed = True

    def server_identity(self) -> ServerIdentity:
        return self.identity

    def checkpoint(self) -> None:
        self.checkpoints += 1
        self.lagging = False

    def refresh(self) -> None:
        if self.lagging and self.pending_checkpoint:
            self.pending_checkpoint -= 1
            self.lagging = self.pending_checkpoint > 0  # its own checkpoint came

    def replication_slot(self, name: str) -> str | None:
        return self.slots.get(name)

    def create_physical_slot(self, name: str) -> None:
        self.slots[name] = "physical"

    def promoted_at(self, timeline: int, switchpoint: LSN) -> datetime.datetime | None:
        return self._files.promoted_at(timeline, switchpoint)

    def relation_names(self, wanted: Mapping[int, Sequence[tuple[int, int]]]) -> dict[tuple[int, int], RelationName]:
        return {}  # the fixture's catalogue files name what can be named

    def database_names(self) -> dict[int, str]:
        return {}


def _failback_steps(pair: Pair, *, start_code: int = 0, timeout: int = 120,
                    start_effect: Callable[[tuple[str, ...]], None] | None = None) -> list[Expect]:
    """pg_rewind from the server (its password not on the command line), then pg_ctl start (its log
    file in the state directory, named with the time: any)."""
    return [_pg_rewind_from_server(pair), _pg_ctl_start(pair, start_code, timeout, start_effect)]


def _pg_rewind_from_server(pair: Pair) -> Expect:
    server_side = "host=new-primary port=5432 user=rewinder dbname=postgres"
    return Expect(pair.pg_rewind(source=("--source-server", server_side)), (*DECISIONS, NEED, *COPYING, *DONE),
                  effect=pair.as_pg_rewind_writes)


def _pg_ctl_start(pair: Pair, code: int = 0, timeout: int = 120,
                  effect: Callable[[tuple[str, ...]], None] | None = None) -> Expect:
    start = (str(pair.bindir / "pg_ctl"), "-D", str(pair.target), "-l", ANY, "-w", "-t", str(timeout), "start")
    return Expect(start, ("pg_ctl: could not start server",) if code else ("server started",), code=code,
                  effect_argv=effect)


def _auto_conf(pair: Pair) -> dict[str, str]:
    return parse_settings((pair.target / "postgresql.auto.conf").read_text())


def test_failback_streams(pair: Pair) -> None:
    server = FakeServer(pair.source, streaming_after=1)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    steps: list[str] = []
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                      application_name="old", on_step=lambda s: steps.append(s.name))
    assert runner.finished() and server.closed and result.streaming and result.outcome == "streaming"
    assert runner.envs[0]["PGPASSWORD"] == "s3cret"
    log_file = Path(runner.ran[-1][4])
    assert log_file == result.start_log and log_file.parent == pair.state / "logs" and log_file.exists()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert result.rewind.backup is None and pair.backups() == [], "the backup is removed after a success"
    assert steps == ["discarded", "rewind", "recovery configuration", "start", "streaming"]
    assert result.rewind.outcome == "rewound" and (pair.target / "standby.signal").exists()
    auto = (pair.target / "postgresql.auto.conf").read_text()
    assert "application_name=old" in auto and "dbname" not in auto
    assert _auto_conf(pair)["recovery_target_timeline"] == "2" and result.recovery_target_timeline == "2"


def test_failback_tells_and_refuses_what_it_would_discard(pair: Pair) -> None:
    """The shipped old primary committed four transactions after the promotion: the failback says
    so first, and --refuse-if-discarded refuses before anything is stopped, run or written."""
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    steps: list[Step] = []
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: FakeServer(pair.source),
                 on_step=steps.append, refuse_if_discarded=True)
    assert info.value.kind == "transactions_discarded" and info.value.step == "discarded"
    assert "4 committed transactions" in str(info.value) and "729, 730, 731, 732" in str(info.value)
    assert [s.name for s in steps] == ["discarded"]
    assert steps[0].detail.startswith("4 transactions committed on the target between 2026-11-29T23:21:22.738563")
    assert runner.ran == [] and pair.target_hash() == before, "refused before anything was changed"


def test_failback_keeps_the_backup_and_follows_latest_when_asked(pair: Pair) -> None:
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source), keep_backup=True, recovery_target_timeline="latest")
    assert result.rewind.backup is not None and pair.backups() == [result.rewind.backup]
    assert _auto_conf(pair)["recovery_target_timeline"] == "latest"


def test_failback_default_application_name_is_stable(pair: Pair) -> None:
    tgt = DataDirectory(pair.target)
    assert default_application_name(tgt) == f"{socket.gethostname().split('.')[0]}_54329".replace("-", "_")
    with (pair.target / "postgresql.auto.conf").open("a") as auto:
        auto.write("cluster_name = 'pg15-east'\n")
    assert default_application_name(tgt) == "pg15-east"


def test_failback_start_fails_with_the_logs_fatal_line(pair: Pair) -> None:
    def crash(argv: tuple[str, ...]) -> None:
        Path(argv[4]).write_text("LOG:  starting PostgreSQL 15\nFATAL:  requested timeline 3 does not contain "
                                 "minimum recovery point 0/3000000 on timeline 2\n")

    server = FakeServer(pair.source)
    runner = FakeRunner(pair.bindir, _failback_steps(pair, start_code=1, start_effect=crash))
    steps: list[str] = []
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                 on_step=lambda s: steps.append(s.name))
    assert info.value.kind == "start_failed" and info.value.step == "start"
    message = str(info.value)
    assert "could not start server" in message and str(pair.state / "logs") in message
    assert "FATAL:  requested timeline 3 does not contain minimum recovery point" in message
    assert steps == ["discarded", "rewind", "recovery configuration"] and server.closed
    assert len(pair.backups()) == 1, "the backup stays when the failback fails"


def test_failback_not_streaming_in_time(pair: Pair) -> None:
    server = FakeServer(pair.source, streaming_after=None)
    runner = FakeRunner(pair.bindir, _failback_steps(pair, timeout=0))
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server, timeout=0.05)
    assert info.value.kind == "not_streaming" and info.value.step == "streaming" and runner.finished()
    assert str(pair.state / "logs") in str(info.value)


def test_failback_source_unavailable(pair: Pair) -> None:
    before = pair.target_hash()

    def refuse(conninfo: str) -> FakeServer:
        raise SourceError("could not connect to host=new-primary password=********: Connection refused")

    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=refuse)
    assert info.value.kind == "source_unavailable" and info.value.step == "connect"
    with pytest.raises(FailbackError) as lost:  # connected, then lost: nothing can be proven
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                 connect=lambda _: FakeServer(pair.source, unreachable=True))
    assert lost.value.kind == "source_unavailable"
    assert runner.ran == [] and pair.target_hash() == before and not pair.backups()


# -- the interlocks: refusals run nothing and leave the target byte-identical ---------------------------------


def test_rewind_refuses_the_source_as_its_own_target(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        rewind(pair.target, pair.target, bindir=pair.bindir, runner=runner, stop_target=True)
    assert info.value.kind == "target_is_source" and "check -D" in str(info.value)
    monkeypatch.chdir(pair.target.parent)
    with pytest.raises(RewindError) as info:  # a relative -D, the same directory
        rewind(pair.target.name, pair.target, bindir=pair.bindir, runner=runner, stop_target=True)
    assert info.value.kind == "target_is_source"
    assert runner.ran == [] and pair.target_hash() == before


def test_failback_refuses_the_source_servers_own_data_directory(pair: Pair) -> None:
    before = pair.target_hash()
    server = FakeServer(pair.source, identity=ServerIdentity(str(pair.target), 5432, None, None))
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server)
    assert info.value.kind == "target_is_source" and "data_directory" in str(info.value)
    assert runner.ran == [] and pair.target_hash() == before and not pair.backups()


def test_failback_refuses_another_system(pair: Pair) -> None:
    before = pair.target_hash()
    server = FakeServer(pair.source)
    real = server._files.control
    server._files.datadir._control = attrs.evolve(real, system_identifier=real.system_identifier + 1)
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server)
    assert info.value.kind == "different_systems"
    assert runner.ran == [] and pair.target_hash() == before


def test_failback_refuses_a_source_whose_checkpoint_is_pending(pair: Pair) -> None:
    before = pair.target_hash()
    server = FakeServer(pair.source, pending_checkpoint=0)
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server)
    assert info.value.kind == "source_checkpoint_pending" and "--checkpoint-source" in str(info.value)
    assert runner.ran == [] and pair.target_hash() == before and server.checkpoints == 0


def test_failback_checkpoints_the_source_when_asked(pair: Pair) -> None:
    server = FakeServer(pair.source, pending_checkpoint=0)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                      checkpoint_source=True)
    assert server.checkpoints == 1 and result.rewind.outcome == "rewound" and result.streaming


def test_failback_waits_for_the_sources_checkpoint(pair: Pair) -> None:
    server = FakeServer(pair.source, pending_checkpoint=2)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                      wait_for_checkpoint=10)
    assert server.checkpoints == 0 and result.rewind.outcome == "rewound"


def test_failback_never_starts_a_target_that_is_not_an_ancestor(pair: Pair, tmp_path: Path) -> None:
    """Same timeline, the target's WAL past the source's: pg_rewind sees nothing to do; the failback refuses."""
    twin = tmp_path / "twin"
    shutil.copytree(pair.target, twin, symlinks=True)
    before = pair.target_hash()
    server = FakeServer(twin, wal_position=LSN(0x100))
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server)
    assert info.value.kind == "target_not_ancestor" and info.value.step == "rewind"
    assert runner.ran == [] and pair.target_hash() == before


def test_failback_refuses_a_target_whose_checkpoint_record_the_source_lacks(pair: Pair, tmp_path: Path) -> None:
    """Same timeline, the source's WAL ending where the target's last checkpoint record starts: the
    source never wrote that record, so the target is not provably an ancestor (one proof, in the
    analysis: ``Divergence.target_is_ancestor``); a byte further than its end, it is."""
    twin = tmp_path / "twin"
    shutil.copytree(pair.target, twin, symlinks=True)
    before = pair.target_hash()
    checkpoint = DataDirectory(pair.target).control.checkpoint
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                 connect=lambda _: FakeServer(twin, wal_position=checkpoint))
    assert info.value.kind == "target_not_ancestor" and runner.ran == [] and pair.target_hash() == before
    plan = plan_rewind(FakeServer(twin, wal_position=LSN(0x7FFFFFFF)), pair.target)
    assert plan.outcome == "no_rewind_required" and plan.standby_without_rewind_is_safe


def test_failback_leaves_a_healthy_standby_alone(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(pair.target, twin, symlinks=True)
    (pair.target / "standby.signal").touch()
    monkeypatch.setattr(DataDirectory, "server_running", lambda self: True)
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(twin, wal_position=LSN(0x7FFFFFFF)))
    assert result.outcome == "nothing_to_do" and result.streaming and result.rewind.outcome == "no_rewind_required"
    assert runner.ran == [] and pair.target_hash() == before


# -- WAL: unarchived, fetched, abandoned timelines ---------------------------------------------------------


def _mark_ready(pair: Pair, name: str = "00000001000000000000000C") -> None:
    (pair.target / "pg_wal" / "archive_status" / f"{name}.ready").touch()


def test_failback_refuses_unarchived_wal_without_an_archive_command(pair: Pair) -> None:
    segment = "00000001000000000000000C"
    _mark_ready(pair, segment)
    (pair.target / "pg_wal" / "000000010000000000000009").rename(pair.archive / "000000010000000000000009")
    shutil.copy(pair.archive / "000000010000000000000009", pair.target.parent / "kept-09")
    before = pair.target_hash()
    wanted = pair.target / "pg_wal" / "000000010000000000000009"

    def restore() -> None:
        shutil.copy(pair.archive / "000000010000000000000009", wanted)

    runner = FakeRunner(pair.bindir, [Expect(restore_argv(f"cp {pair.archive}/000000010000000000000009 {wanted}"),
                                             effect=restore)])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: FakeServer(pair.source),
                 restore_command=f"cp {pair.archive}/%f %p")
    assert info.value.kind == "unarchived_wal" and segment in str(info.value)
    assert "--discard-unarchived-wal" in str(info.value)
    assert runner.finished() and pair.target_hash() == before, "the WAL fetched for the plan is removed again"


def test_failback_archives_unarchived_wal_first(pair: Pair) -> None:
    segment = "00000001000000000000000C"
    _mark_ready(pair, segment)
    with (pair.target / "postgresql.auto.conf").open("a") as auto:
        auto.write(f"archive_mode = on\narchive_command = 'cp %p {pair.archive}/%f'\n")
    path = pair.target / "pg_wal" / segment

    def archive() -> None:
        shutil.copy(path, pair.archive)

    runner = FakeRunner(pair.bindir, [
        Expect(restore_argv(f"cp {path} {pair.archive}/{segment}"), effect=archive),
        *_failback_steps(pair)])
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source))
    assert runner.finished() and result.archived_wal == (segment,) and (pair.archive / segment).exists()
    assert (pair.target / "pg_wal" / "archive_status" / f"{segment}.done").exists()
    assert not (pair.target / "pg_wal" / "archive_status" / f"{segment}.ready").exists()


def test_failback_archive_command_fails(pair: Pair) -> None:
    _mark_ready(pair)
    with (pair.target / "postgresql.auto.conf").open("a") as auto:
        auto.write("archive_mode = on\narchive_command = 'false'\n")
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [Expect(restore_argv("false"), ("archive unreachable",), code=124)])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: FakeServer(pair.source))
    assert info.value.kind == "unarchived_wal" and "timed out" in str(info.value)
    assert pair.target_hash() == before


def test_failback_discards_unarchived_wal_when_told(pair: Pair) -> None:
    _mark_ready(pair)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source), discard_unarchived_wal=True)
    assert result.discarded_wal == ("00000001000000000000000C",) and result.archived_wal == ()


def test_failback_sets_abandoned_history_files_aside(pair: Pair) -> None:
    """An abandoned timeline 3 in pg_wal is set aside; the archive's is reported; the standby is
    pinned to the source's timeline 2."""
    (pair.target / "pg_wal" / "00000003.history").write_text("1\t0/B000000\tno recovery target specified\n")
    (pair.archive / "00000003.history").write_text("1\t0/B000000\tno recovery target specified\n")

    def probe(argv: tuple[str, ...]) -> None:
        name = Path(argv[-1].split()[-1])
        if (pair.archive / name.name).exists():
            shutil.copy(pair.archive / name.name, name)

    command = f"cp {pair.archive}/%f %p"
    probes = [Expect(restore_argv(ANY, "60"), effect_argv=probe) for _ in range(2)]
    runner = FakeRunner(pair.bindir, [_pg_rewind_from_server(pair), *probes, _pg_ctl_start(pair)])
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source), restore_command=command)
    assert runner.finished()
    assert result.abandoned_history_files == ("pg_wal/00000003.history", "archive/00000003.history")
    assert not (pair.target / "pg_wal" / "00000003.history").exists()
    assert result.set_aside is not None and (result.set_aside / "00000003.history").exists()
    assert "00000003.history" in runner.ran[1][-1] and "00000004.history" in runner.ran[2][-1]
    assert _auto_conf(pair)["recovery_target_timeline"] == "2"


def test_probe_archive_never_writes_into_pg_wal(pair: Pair) -> None:
    present, missing, hanging = "000000010000000000000009", "0000000100000000000000FF", "0000000100000000000000FE"
    shutil.copy(pair.target / "pg_wal" / present, pair.archive / present)
    scratch: list[Path] = []

    def restore(argv: tuple[str, ...]) -> None:
        target = Path(argv[-1].split()[-1])
        scratch.append(target.parent)
        if (pair.archive / target.name).exists():
            shutil.copy(pair.archive / target.name, target)

    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [Expect(restore_argv(ANY), effect_argv=restore),
                                      Expect(restore_argv(ANY), effect_argv=restore, code=1),
                                      Expect(restore_argv(ANY), code=124)])
    probes = probe_archive([present, missing, hanging], f"cp {pair.archive}/%f %p", "root", runner)
    assert [(p.name, p.present) for p in probes] == [(present, True), (missing, False), (hanging, False)]
    assert probes[2].detail == "timed out"
    assert pair.target.resolve() not in scratch[0].parents and not scratch[0].exists()
    assert pair.target_hash() == before


def test_plan_probed_in_the_archive_never_writes_into_pg_wal(pair: Pair) -> None:
    """``plan --restore-command``: each missing segment and abandoned history file says whether the
    archive holds it; the archive's history files after the source's timeline are added."""
    (pair.target / "pg_wal" / "00000001000000000000000B").rename(pair.archive / "00000001000000000000000B")
    (pair.target / "pg_wal" / "00000005.history").write_text("1\t0/B000000\tno recovery target specified\n")
    for timeline in (3, 4):
        (pair.archive / f"0000000{timeline}.history").write_text("1\t0/B000000\tno recovery target specified\n")

    def probe(argv: tuple[str, ...]) -> None:
        wanted = Path(argv[-1].split()[-1])
        assert pair.target.resolve() not in wanted.parents
        if (pair.archive / wanted.name).exists():
            shutil.copy(pair.archive / wanted.name, wanted)

    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [*(Expect(restore_argv(ANY, "60"), effect_argv=probe) for _ in range(3)),
                                      *(Expect(restore_argv(ANY), effect_argv=probe) for _ in range(2))])
    plan = probe_plan(plan_rewind(pair.source, pair.target), pair.target, f"cp {pair.archive}/%f %p", runner=runner)
    assert runner.finished() and pair.target_hash() == before
    assert [(s.name[-2:], s.in_archive) for s in plan.wal_segments_needed if not s.present] == [("0B", True)]
    assert [(h.name, h.in_pg_wal, h.in_archive) for h in plan.abandoned_history_files] == [
        ("00000003.history", False, True), ("00000004.history", False, True), ("00000005.history", True, False)]
    with pytest.raises(PgRewindKitError) as info:
        probe_plan(plan, pair.target, "cp /a/%f %p %r", runner=FakeRunner(pair.bindir, []))
    assert info.value.kind == "restore_command_invalid"


# -- slots and starting -----------------------------------------------------------------------------------


def test_failback_refuses_a_missing_slot(pair: Pair) -> None:
    before = pair.target_hash()
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: FakeServer(pair.source),
                 slot_name="old_primary")
    assert info.value.kind == "slot_missing" and "--create-slot" in str(info.value)
    with pytest.raises(FailbackError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                 connect=lambda _: FakeServer(pair.source, slots={"old_primary": "logical"}), slot_name="old_primary")
    assert info.value.kind == "slot_missing" and "logical" in str(info.value)
    assert runner.ran == [] and pair.target_hash() == before


def test_failback_creates_the_slot_when_asked(pair: Pair) -> None:
    server = FakeServer(pair.source)
    runner = FakeRunner(pair.bindir, _failback_steps(pair))
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server,
                      slot_name="old_primary", create_slot=True)
    assert result.slot_created and server.slots == {"old_primary": "physical"}
    assert _auto_conf(pair)["primary_slot_name"] == "old_primary"


def test_failback_without_starting(pair: Pair) -> None:
    runner = FakeRunner(pair.bindir, [_pg_rewind_from_server(pair)])
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source), start_server=False)
    assert runner.finished() and result.outcome == "not_started" and not result.streaming
    assert (pair.target / "standby.signal").exists() and not pair.backups()


def test_failback_with_a_start_command(pair: Pair) -> None:
    runner = FakeRunner(pair.bindir, [_pg_rewind_from_server(pair),
                                      Expect(("/bin/sh", "-c", "systemctl start postgresql@15-main"))])
    result = failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner,
                      connect=lambda _: FakeServer(pair.source), start_command="systemctl start postgresql@15-main")
    assert runner.finished() and result.streaming and result.start_log is None


def test_a_running_target_on_the_source_servers_port_is_the_source(pair: Pair,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the privilege to read data_directory: the target's postmaster.pid names the port the
    source answers on, over a Unix socket of this host: never stopped."""
    (pair.target / "postmaster.pid").write_text(f"4242\n{pair.target}\n1700000000\n5432\n/run/postgresql\n*\n")
    monkeypatch.setattr(DataDirectory, "server_running", lambda self: True)
    before = pair.target_hash()
    server = FakeServer(pair.source, identity=ServerIdentity(None, 5432, None, 1.8e9))
    runner = FakeRunner(pair.bindir, [])
    with pytest.raises(RewindError) as info:
        failback(pair.target, CONNINFO, bindir=pair.bindir, runner=runner, connect=lambda _: server)
    assert info.value.kind == "target_is_source" and "postmaster.pid: port 5432" in str(info.value)
    assert runner.ran == [] and pair.target_hash() == before
    by_socket = FakeServer(pair.source, identity=ServerIdentity(None, 5432, None, 1.8e9, "/run/postgresql"))
    assert target_is_source(DataDirectory(pair.target), by_socket) is not None
    other_socket = FakeServer(pair.source, identity=ServerIdentity(None, 5432, None, 1.8e9, "/var/run/other"))
    assert target_is_source(DataDirectory(pair.target), other_socket) is None, "another socket directory"
    elsewhere = FakeServer(pair.source, identity=ServerIdentity(None, 5432, "192.0.2.10", 1.8e9))
    assert target_is_source(DataDirectory(pair.target), elsewhere) is None, "another host's server on that port"
    elsewhere.pg_control_bytes = (pair.target / "global" / "pg_control").read_bytes()
    assert "byte for byte" in (target_is_source(DataDirectory(pair.target), elsewhere) or "")


def test_configure_standby_pins_the_sources_timeline(pair: Pair) -> None:
    written = configure_standby(pair.target, FakeServer(pair.source), CONNINFO, slot_name="old")
    assert {p.name for p in written} == {"standby.signal", "postgresql.auto.conf"}
    settings = _auto_conf(pair)
    assert settings["recovery_target_timeline"] == "2" and settings["primary_slot_name"] == "old"
    assert f"application_name={default_application_name(DataDirectory(pair.target))}" in settings["primary_conninfo"]


def test_command_line_spellings() -> None:
    parser = build_parser()
    args = parser.parse_args(["rewind", "-D", "old", "--source-server", "host=new", "-n", "-R", "-c", "-P",
                              "--no-ensure-shutdown", "--checkpoint-source", "--backup-dir", "/b", "--keep-backup"])
    assert (args.dry_run, args.write_recovery_conf, args.restore_target_wal, args.progress) == (True,) * 4
    assert args.no_ensure_shutdown and args.checkpoint_source and args.backup_dir == "/b" and args.keep_backup
    assert parser.parse_args(["rewind", "--target-pgdata", "old", "--source-pgdata", "new", "--dry-run",
                              "--stop-target"]).stop_target
    args = parser.parse_args(["failback", "-D", "old", "--source-server", "host=new", "--no-start",
                              "--start-command", "systemctl start pg", "--slot", "s", "--create-slot",
                              "--checkpoint-source", "--wait-for-checkpoint", "30", "--discard-unarchived-wal",
                              "--recovery-target-timeline", "latest", "--backup-dir", "/b", "--keep-backup"])
    assert args.no_start and args.start_command == "systemctl start pg" and args.create_slot
    assert args.wait_for_checkpoint == 30 and args.discard_unarchived_wal and args.recovery_target_timeline == "latest"
