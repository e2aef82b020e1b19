"""pg_rewind behind a typed API: the command line built by a pure function for the target's major,
the plan first, missing WAL fetched (``archive``), the target's configuration and ``pg_control``
kept aside before the point of no return and put back on failure (``backup``), progress as
events, a typed result or a typed error whose kind comes from pg_rewind's message
(``rewind_output``). Every program runs through the injectable ``CommandRunner``."""

from __future__ import annotations

import logging
import os
import shlex
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.actions import archive, backup, interlocks
from pgrewindkit.actions.lock import one_run_per_target
from pgrewindkit.actions.pgctl import (
    CommandRunner,
    child_env,
    libpq_password,
    owner_of,
    run_command,
    shielded,
    single_user_recovery,
    stop,
)
from pgrewindkit.actions.programs import find_program
from pgrewindkit.actions.rewind_output import Phase, classify, error_line, parse_progress, phase, warnings
from pgrewindkit.actions.rewind_output import ProgressEvent as ProgressEvent  # re-exported: the public name
from pgrewindkit.actions.safefs import Directory
from pgrewindkit.analysis.plan import PlanOutcome, RewindPlan, plan_rewind
from pgrewindkit.cluster.conninfo import without_password
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import LocalSource, Source
from pgrewindkit.errors import CommandError, Kind, PgRewindKitError, RewindError, TargetState
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.majors.programs import first_major_with, programs_for
from pgrewindkit.majors.rewind import parse_release, rules_for
from pgrewindkit.model import DBState

log = logging.getLogger(__name__)


@attrs.frozen
class RewindOptions:
    """What to ask of pg_rewind. Flags a major lacks are refused by ``build_command``."""

    target_pgdata: Path
    source_pgdata: Path | None = None
    source_server: str | None = None
    dry_run: bool = False
    progress: bool = True
    debug: bool = False
    no_sync: bool = False
    ensure_shutdown: bool = True  # 13+: pg_rewind recovers an uncleanly stopped target itself
    restore_target_wal: bool = False  # 13+: pg_rewind fetches WAL with the target's restore_command
    config_file: str | None = None  # 15+
    write_recovery_conf: bool = False  # 13+, only with source_server


@attrs.frozen
class Command:
    argv: tuple[str, ...]
    env: Mapping[str, str] = attrs.field(factory=dict)

    def shown(self) -> str:
        """For logs and errors: the environment's secrets are never shown."""
        return shlex.join(self.argv)


def build_command(program: Path, options: RewindOptions, major: int) -> Command:
    """pg_rewind's command line for ``major``; a password in the source conninfo goes to
    ``PGPASSWORD`` in the child's environment, never on the command line."""
    argv = [str(program), "--target-pgdata", str(options.target_pgdata)]
    env: dict[str, str] = {}
    if (options.source_pgdata is None) == (options.source_server is None):
        raise PgRewindKitError("give exactly one of source_pgdata and source_server")
    if options.source_pgdata is not None:
        argv += ["--source-pgdata", str(options.source_pgdata)]
    else:
        assert options.source_server is not None
        conninfo, password = without_password(options.source_server)
        argv += ["--source-server", conninfo]
        if password is not None:
            env["PGPASSWORD"] = password
    wanted = [(options.dry_run, "--dry-run"), (options.progress, "--progress"), (options.debug, "--debug"),
              (options.no_sync, "--no-sync"), (not options.ensure_shutdown, "--no-ensure-shutdown"),
              (options.restore_target_wal, "--restore-target-wal"),
              (options.write_recovery_conf, "--write-recovery-conf")]
    argv += [_available(flag, major) for on, flag in wanted if on]
    if options.write_recovery_conf and options.source_server is None:
        raise PgRewindKitError("--write-recovery-conf needs a source server")
    if options.config_file is not None:
        argv.append(f"{_available('--config-file', major)}={options.config_file}")
    return Command(tuple(argv), env)


def _available(flag: str, major: int) -> str:
    """``flag``, if pg_rewind of ``major`` has it."""
    if flag not in programs_for(major).pg_rewind_options:
        raise PgRewindKitError(f"pg_rewind {major} has no {flag} (it appeared in {first_major_with(flag)})")
    return flag


class RewindOutcome(Words):
    """What ``rewind()`` did."""

    REWOUND = "rewound"
    NO_REWIND_REQUIRED = "no_rewind_required"
    DRY_RUN = "dry_run"


@attrs.frozen
class RewindResult:
    outcome: RewindOutcome
    plan: RewindPlan
    divergence_lsn: LSN | None
    divergence_timeline: int | None
    checkpoint_lsn: LSN | None
    checkpoint_timeline: int | None
    bytes_copied: int
    seconds: float
    command: str
    warnings: tuple[str, ...] = ()
    fetched_wal: tuple[str, ...] = ()
    config_kept: tuple[str, ...] = ()  # the target's own files put back
    config_differences: tuple[str, ...] = ()  # how the source's copies differed
    backup: Path | None = None
    output: str = ""


# -- the rewind -------------------------------------------------------------------------------------


@one_run_per_target
def rewind(target: str | os.PathLike[str], source: Source | str | os.PathLike[str], *,
           bindir: str | os.PathLike[str] | None = None, restore_command: str | None = None,
           stop_target: bool = False, backup_dir: str | os.PathLike[str] | None = None,
           on_progress: Callable[[ProgressEvent], None] | None = None, runner: CommandRunner = run_command,
           dry_run: bool = False, source_conninfo: str | None = None,
           config_file: str | os.PathLike[str] | None = None, keep_backup: bool = False,
           ensure_shutdown: bool = True, checkpoint_source: bool = False, wait_for_checkpoint: float = 0.0,
           before_rewind: Callable[[RewindPlan, DataDirectory], None] | None = None,
           discarded: bool = False) -> RewindResult:
    """Rewind ``target`` to follow ``source`` (a data directory, or a :class:`LiveSource`), keeping
    the target's own configuration. ``source_conninfo`` overrides the live source's connection string.
    ``config_file``: the target's postgresql.conf when it lives outside the data directory
    (Debian's layout); pg_rewind 15+ needs it for crash recovery.

    Before anything is stopped or written, the target is proven not to be the source and of the same
    system (``interlocks``), and a source whose pg_control lags its timeline (just promoted) is
    refused unless ``checkpoint_source`` (run CHECKPOINT) or ``wait_for_checkpoint`` seconds settle
    it. WAL fetched for the plan is removed again when the rewind is then refused. ``before_rewind``
    runs once the plan is final, before the point of no return (a failback archives WAL there). The
    backup of pg_control and configuration is removed after a success unless ``keep_backup``.
    ``discarded``: the plan also reads what the rewind throws away (``RewindPlan.discarded``, for
    ``before_rewind``; a second pass over the target's WAL after the divergence).

    One run per target at a time (``lock``: a second is refused, ``target_locked``). A SIGINT or
    SIGTERM while pg_rewind runs is held until it is done; then the target's true state is reported
    (``interrupted``)."""
    started = time.monotonic()
    tgt = DataDirectory(Path(target).resolve())  # resolved once: actions work relative to its descriptor
    _refuse_rewound(tgt)
    major = tgt.control.major
    src = LocalSource(Path(source).absolute()) if isinstance(source, (str, os.PathLike)) else source
    interlocks.prove_target(tgt, src)
    interlocks.settle_source(src, tgt, checkpoint=checkpoint_source, wait=wait_for_checkpoint)
    bindir = Path(bindir).absolute() if bindir else None
    config_file = str(Path(config_file).absolute()) if config_file else None
    pg_rewind = find_program("pg_rewind", major, bindir, runner=runner)
    conninfo = source_conninfo if source_conninfo is not None else src.connection_string()
    _ensure_stopped(tgt, major, bindir, stop_target, runner, ensure_shutdown, dry_run=dry_run)
    # predict the pg_rewind that will run: its minor may decide differently from the major's newest
    plan, fetched = _plan_with_wal(src, tgt, restore_command or archive.target_restore_command(tgt, config_file),
                                   runner, parse_release(pg_rewind.version), discarded)
    try:
        if plan.error is not None and plan.error.kind != Kind.TARGET_NOT_CLEANLY_SHUT_DOWN:
            raise RewindError(f"pg_rewind would fail: {plan.error.message}", kind=plan.error.kind)
        if plan.truth_error is not None:  # the source was settled before planning: only a race gets here
            raise RewindError(plan.truth_error.message, kind=plan.truth_error.kind)
        if plan.outcome is PlanOutcome.NO_REWIND_REQUIRED:
            return _result(RewindOutcome.NO_REWIND_REQUIRED, plan, started, "", fetched=fetched)
        if before_rewind is not None and not dry_run:
            before_rewind(plan, tgt)
    except PgRewindKitError:
        archive.remove_fetched(tgt, fetched)
        raise
    takes_config_file = "--config-file" in programs_for(major).pg_rewind_options
    options = RewindOptions(target_pgdata=tgt.path, source_pgdata=src.pgdata,
                            source_server=conninfo if src.is_live else None, dry_run=dry_run, progress=True,
                            debug=False, config_file=config_file if takes_config_file else None,
                            ensure_shutdown=ensure_shutdown or not rules_for(major).ensures_shutdown)
    command = build_command(pg_rewind.path, options, major)
    kept_aside = None if dry_run else _keep_aside(tgt, backup_dir, fetched)
    with shielded() as shield:
        code, lines = _run_pg_rewind(command, tgt, runner, on_progress)
    if code != 0:
        raise _failed(lines, code, kept_aside, tgt, shield.received)
    if dry_run:
        return _result(RewindOutcome.DRY_RUN, plan, started, command.shown(), lines=lines, fetched=fetched)
    kept, differences = backup.restore_configuration(kept_aside)
    if shield.received is not None:
        raise RewindError(f"interrupted ({_signal_name(shield.received)}) while pg_rewind ran; it was let finish",
                          kind=Kind.INTERRUPTED, state=TargetState.REWOUND,
                          state_detail=f"pg_rewind finished and the target's configuration was put back; a start "
                          f"recovers from the source's checkpoint (configure it as a standby of the source); its "
                          f"pg_control and configuration before the rewind are kept in {kept_aside}",
                          backup=kept_aside, output="\n".join(lines))
    if not keep_backup:
        backup.remove_backup(kept_aside)
    return _result(RewindOutcome.REWOUND, plan, started, command.shown(), lines=lines, fetched=fetched,
                   backup=kept_aside if keep_backup else None, kept=kept, differences=differences,
                   output="\n".join(lines))


def no_rewind_result(plan: RewindPlan) -> RewindResult:
    """What a rewind reports when there was nothing to do and nothing ran."""
    return _result(RewindOutcome.NO_REWIND_REQUIRED, plan, time.monotonic(), "")


def _keep_aside(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None, fetched: list[str]) -> Path:
    """The backup, or an error that says nothing was changed (a full or read-only file system)."""
    try:
        return backup.keep_aside(tgt, backup_dir)
    except PgRewindKitError as exc:
        archive.remove_fetched(tgt, fetched)
        raise RewindError(f"could not keep the target's pg_control and configuration aside: {exc.message}",
                          kind=exc.kind, state=TargetState.UNCHANGED,
                          state_detail="pg_rewind did not run; nothing in the data directory was changed") from None


def _signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def _refuse_rewound(tgt: DataDirectory) -> None:
    """A target pg_rewind rewound and nobody started since (pg_control in archive recovery, its
    backup_label there) is not to be rewound again: started as a standby, it finishes that rewind."""
    if tgt.control.state is not DBState.IN_ARCHIVE_RECOVERY:
        return
    with Directory.open(tgt.path) as root:
        if root.lstat("backup_label") is None:
            return
    raise RewindError("the target was rewound already and not started since (backup_label present, pg_control "
                      "in archive recovery): configure it as a standby of the source (recovery-config) and start "
                      "it, which finishes the rewind; nothing was changed", kind=Kind.ALREADY_REWOUND,
                      state=TargetState.REWOUND)


def _ensure_stopped(tgt: DataDirectory, major: int, bindir: str | os.PathLike[str] | None, stop_target: bool,
                    runner: CommandRunner, ensure_shutdown: bool = True, *, dry_run: bool = False) -> None:
    stale = tgt.foreign_postmaster()
    if stale is not None:
        raise RewindError(f"postmaster.pid names {stale}, not the target's server: the file is stale (a crash "
                          "and a reboot?); nothing was stopped or changed: check, and remove postmaster.pid",
                          kind=Kind.FOREIGN_POSTMASTER_PID)
    if tgt.server_running():
        if dry_run:
            raise RewindError("the target server is running, and a dry run stops nothing; stop it cleanly first",
                              kind=Kind.TARGET_RUNNING)
        if not stop_target:
            raise RewindError("the target server is running; stop it cleanly first (or ask for it to be stopped)",
                              kind=Kind.TARGET_RUNNING)
        stop(find_program("pg_ctl", major, bindir, runner=runner).path, tgt.path, runner=runner)
    if not tgt.control.state.is_clean_shutdown and dry_run:
        # crash recovery (postgres --single, by us up to 12, by pg_rewind from 13) writes: a dry run never does
        raise RewindError("the target was not shut down cleanly: a rewind would first run crash recovery "
                          "(postgres --single), which writes, and a dry run never writes; nothing was changed "
                          "(stop it cleanly, or start and stop it, then try again)",
                          kind=Kind.TARGET_NOT_CLEANLY_SHUT_DOWN)
    if not tgt.control.state.is_clean_shutdown and not rules_for(major).ensures_shutdown and ensure_shutdown:
        # pg_rewind 13+ does this itself; before, it just refuses
        single_user_recovery(find_program("postgres", major, bindir, runner=runner).path, tgt.path, runner=runner)
    tgt.refresh()  # the control file may have changed


def _plan_with_wal(src: Source, tgt: DataDirectory, restore_command: str | None, runner: CommandRunner,
                   release: tuple[int, int | None], discarded: bool = False) -> tuple[RewindPlan, list[str]]:
    """The plan of pg_rewind ``release``, once the WAL it reads is in ``pg_wal``: each plan's
    ``wal_missing`` is fetched, and the target planned again (a list that was not complete names
    more once the walk back gets further); the segments fetched (taken out again on a failure)."""
    plan = plan_rewind(src, tgt, pg_rewind_version=release, discarded=discarded)
    fetched: list[str] = []
    try:
        while plan.wal_missing and (plan.error is None or plan.error.kind == Kind.WAL_MISSING):
            missing = [s.name for s in plan.wal_missing]
            _check_restore_command(missing, restore_command)
            assert restore_command is not None
            if set(missing) & set(fetched):  # fetched, yet missing: the command wrote something else
                raise RewindError(f"WAL segments {', '.join(missing)} are still missing after the restore command "
                                  "fetched them", kind=Kind.WAL_MISSING)
            fetched += archive.restore_segments(tgt, missing, restore_command, runner)
            plan = plan_rewind(src, tgt, pg_rewind_version=release, discarded=discarded)
    except CommandError as exc:
        archive.remove_fetched(tgt, fetched)
        raise RewindError(exc.problem, kind=Kind.WAL_MISSING) from None
    except PgRewindKitError:
        archive.remove_fetched(tgt, fetched)
        raise
    return plan, fetched


def _check_restore_command(missing: list[str], command: str | None) -> None:
    """Refuse to fetch ``missing`` without a usable restore command."""
    if not command:
        raise RewindError(f"WAL segments {', '.join(missing)} are missing from pg_wal and there is no restore "
                          "command (give one, or set restore_command in the target)", kind=Kind.WAL_MISSING)
    problem = archive.placeholder_problem(command)
    if problem is not None:
        raise RewindError(problem, kind=Kind.RESTORE_COMMAND_INVALID)


def _run_pg_rewind(command: Command, tgt: DataDirectory, runner: CommandRunner,
                   on_progress: Callable[[ProgressEvent], None] | None) -> tuple[int, list[str]]:
    """Run pg_rewind as the target's owner; its exit status and every line it printed."""
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        log.debug("pg_rewind: %s", line)
        event = parse_progress(line)
        if event is not None and on_progress is not None:
            on_progress(event)

    owner = owner_of(tgt.path)
    password = command.env.get("PGPASSWORD") if "--source-server" in command.argv else None
    secrets: Mapping[str, str] = {}
    if "--source-server" in command.argv:
        with libpq_password(password, owner, backup.state_directory()) as secrets:
            env = child_env() | dict(command.env) | dict(secrets)
            return runner(command.argv, env=env, user=owner, on_line=on_line), lines
    return runner(command.argv, env=child_env() | dict(command.env), user=owner, on_line=on_line), lines


def _failed(lines: list[str], code: int, kept_aside: Path | None, tgt: DataDirectory,
            interrupted: int | None = None) -> RewindError:
    """The error for a pg_rewind that failed, saying what the target is now. pg_rewind announces each
    phase before it acts: up to its copying the target is as it was; once it copied, its files are
    the source's and pg_control is still the target's (it looks startable and is not); once it
    wrote its backup_label and pg_control, a start recovers from the source's checkpoint, and the
    old pg_control must never come back beside them. The target's own configuration is put back."""
    message = error_line(lines) or f"pg_rewind exited with status {code}"
    if interrupted is not None:
        message = f"interrupted ({_signal_name(interrupted)}); {message}"
    reached = phase(lines)
    state, detail = TargetState.UNCHANGED, ""
    if kept_aside is not None:
        tgt.refresh()
        control_replaced = reached >= Phase.SYNCING or (reached >= Phase.CONTROL_FILE
                                                        and _control_differs(tgt, kept_aside))
        backup.restore_configuration(kept_aside)  # never pg_control: that was pg_rewind's to write
        if control_replaced:
            state = TargetState.REWOUND
            detail = _rewound_detail(tgt, reached, kept_aside)
        elif reached >= Phase.COPYING:
            state = TargetState.PARTIALLY_REWOUND
            detail = ("data files were being copied, so do not start it (pg_control still says the target's old "
                      "state, which no longer fits its files): run the rewind again or take a new base backup (its "
                      "configuration was put back; "
                      f"its pg_control and configuration before the rewind are kept in {kept_aside})")
        else:
            detail = f"pg_control and configuration kept in {kept_aside}; pg_rewind changed nothing"
    return RewindError(message, kind=Kind.INTERRUPTED if interrupted is not None else classify(message),
                       state=state, state_detail=detail, backup=kept_aside, output="\n".join(lines))


def _control_differs(tgt: DataDirectory, kept_aside: Path) -> bool:
    """Whether pg_control is no longer the one kept before pg_rewind ran (pg_rewind 13+ recovering an
    unclean target in single-user mode writes it too, before any copying)."""
    try:
        with Directory.open(kept_aside) as where, Directory.open(tgt.path / "global") as global_dir:
            return where.read("pg_control") != global_dir.read("pg_control")
    except PgRewindKitError:
        return True  # unreadable: do not pretend it is the old one


def _rewound_detail(tgt: DataDirectory, reached: Phase, kept_aside: Path) -> str:
    """What a start of a target pg_rewind wrote its backup_label and pg_control into will do."""
    label = ""
    try:
        with Directory.open(tgt.path) as root:
            text = root.read("backup_label", limit=65536).decode("utf-8", "replace")
        fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        label = (f" from the source's checkpoint at {fields.get('CHECKPOINT LOCATION', '?')} (WAL from "
                 f"{fields.get('START WAL LOCATION', '?').split(' ')[0]} on timeline "
                 f"{fields.get('START TIMELINE', '?')})")
    except PgRewindKitError:
        label = " (no backup_label: pg_control's minimum recovery point says how far)"
    sync = "" if reached >= Phase.DONE else "; the sync to disk may not have finished: run sync first"
    return (f"pg_rewind wrote its backup_label and pg_control (the old pg_control is not put back, it would make the "
            f"target unstartable): a start runs recovery{label}, and needs the source's WAL from there: configure "
            f"it as a standby of the source (primary_conninfo or restore_command) and start it{sync}; its "
            f"configuration was put back, the files before the rewind are kept in {kept_aside}")


def _result(outcome: RewindOutcome, plan: RewindPlan, started: float, command: str, *, lines: list[str] | None = None,
            fetched: list[str] | None = None, backup: Path | None = None, kept: tuple[str, ...] = (),
            differences: tuple[str, ...] = (), output: str = "") -> RewindResult:
    d = plan.divergence
    c = d.last_common_checkpoint if d else None
    return RewindResult(
        outcome=outcome, plan=plan, divergence_lsn=d.lsn if d else None, divergence_timeline=d.timeline if d else None,
        checkpoint_lsn=c.lsn if c else None, checkpoint_timeline=c.timeline if c else None,
        bytes_copied=plan.bytes_to_copy if outcome is RewindOutcome.REWOUND else 0, seconds=time.monotonic() - started,
        command=command, warnings=warnings(lines or []) + (d.warnings if d else ()),
        fetched_wal=tuple(fetched or ()), config_kept=kept, config_differences=differences, backup=backup,
        output=output,
    )
