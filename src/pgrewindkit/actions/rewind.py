"""pg_rewind behind a typed API: the command line built by a pure function for the target's major,
the plan first, missing WAL fetched, the target's configuration and ``pg_control`` copied aside
before the point of no return and put back on failure, progress as events, a typed result or a
typed error whose kind comes from pg_rewind's message (in every wording it has used)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shlex
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from pgrewindkit.actions.pgctl import CommandRunner, owner_of, run_command, single_user_recovery, stop
from pgrewindkit.actions.programs import find_program
from pgrewindkit.actions.recovery import copy_aside
from pgrewindkit.analysis.plan import RewindPlan, plan_rewind
from pgrewindkit.cluster.conninfo import without_password
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import parse_settings, settings_changes
from pgrewindkit.cluster.source import LiveSource, LocalSource, Source
from pgrewindkit.errors import Kind, PgRewindKitError, RewindError, TargetState
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.majors.rewind import rules_for

log = logging.getLogger(__name__)

CONFIG_FILES = ("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf")


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
    gates = [
        (options.dry_run, "--dry-run", 9), (options.progress, "--progress", 9), (options.debug, "--debug", 9),
        (options.no_sync, "--no-sync", 12), (not options.ensure_shutdown, "--no-ensure-shutdown", 13),
        (options.restore_target_wal, "--restore-target-wal", 13),
        (options.write_recovery_conf, "--write-recovery-conf", 13),
    ]
    for wanted, flag, since in gates:
        if wanted:
            if major < since:
                raise PgRewindKitError(f"pg_rewind {major} has no {flag} (it appeared in {since})")
            argv.append(flag)
    if options.write_recovery_conf and options.source_server is None:
        raise PgRewindKitError("--write-recovery-conf needs a source server")
    valued = [(options.config_file, "--config-file", 15)]
    for value, flag, since in valued:
        if value is not None:
            if major < since:
                raise PgRewindKitError(f"pg_rewind {major} has no {flag} (it appeared in {since})")
            argv.append(f"{flag}={value}")
    return Command(tuple(argv), env)


# -- reading pg_rewind's output ------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:pg_rewind: )?(?:(error|fatal|FATAL|warning|detail|hint): +)?")
_PROGRESS = re.compile(r"^\s*(\d+)/(\d+) kB \((\d+)%\) copied")
_DIVERGED = re.compile(r"servers diverged at WAL (?:location|position) (\S+) on timeline (\d+)")
_CHECKPOINT = re.compile(r"rewinding from last common checkpoint at (\S+) on timeline (\d+)")
_NEED = re.compile(r"need to copy (\d+) MB \(total source directory size is (\d+) MB\)")

# pg_rewind's messages → error kinds; every wording 10–18 used (fatal:/error:, position/location).
ERROR_KINDS: tuple[tuple[str, str], ...] = (
    ("source and target clusters are from different systems", Kind.DIFFERENT_SYSTEMS),
    ("clusters are not compatible with this version of pg_rewind", Kind.INCOMPATIBLE_CLUSTERS),
    ("target server needs to use either data checksums or", Kind.NO_WAL_LOG_HINTS_OR_CHECKSUMS),
    ("target server must be shut down cleanly", Kind.TARGET_NOT_CLEANLY_SHUT_DOWN),
    ("source data directory must be shut down cleanly", Kind.SOURCE_NOT_CLEANLY_SHUT_DOWN),
    ("could not find common ancestor", Kind.NO_COMMON_ANCESTOR),
    ("could not find previous WAL record", Kind.WAL_MISSING),
    ("could not read WAL record", Kind.WAL_MISSING),
    ("could not open file", Kind.WAL_MISSING),
    ("record type is not recognized", Kind.UNRECOGNIZED_WAL_RECORD),
    ("full_page_writes", Kind.FULL_PAGE_WRITES_OFF),
    ("source server must not be in recovery mode", Kind.SOURCE_IN_RECOVERY),
    ("could not connect to server", Kind.SOURCE_UNAVAILABLE),
    ("connection to server", Kind.SOURCE_UNAVAILABLE),
    ("cannot be executed by \"root\"", "run_as_root"),
    ("postgres single-user mode in target cluster failed", Kind.CRASH_RECOVERY_FAILED),
    ("restore_command is not set", Kind.RESTORE_COMMAND_MISSING),
    ("permission denied", Kind.PERMISSION_DENIED),
)


def classify(message: str) -> str:
    lowered = message.lower()
    return next((kind for text, kind in ERROR_KINDS if text.lower() in lowered), Kind.PG_REWIND_FAILED)


@attrs.frozen
class ProgressEvent:
    done_kb: int
    total_kb: int
    percent: int


def parse_progress(line: str) -> ProgressEvent | None:
    match = _PROGRESS.match(line)
    return ProgressEvent(int(match[1]), int(match[2]), int(match[3])) if match else None


@attrs.frozen
class RewindResult:
    outcome: str  # "rewound" | "no_rewind_required" | "dry_run"
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


def _error_line(lines: list[str]) -> str | None:
    for line in lines:
        match = _PREFIX.match(line)
        level = match[1] if match else None
        if level and level.lower() in ("error", "fatal"):
            return line[match.end():] if match else line
    return None


# -- the rewind -------------------------------------------------------------------------------------


def rewind(target: str | os.PathLike[str], source: Source | str | os.PathLike[str], *,
           bindir: str | os.PathLike[str] | None = None, restore_command: str | None = None,
           stop_target: bool = False, backup_dir: str | os.PathLike[str] | None = None,
           on_progress: Callable[[ProgressEvent], None] | None = None, runner: CommandRunner = run_command,
           dry_run: bool = False, source_conninfo: str | None = None,
           config_file: str | None = None) -> RewindResult:
    """Rewind ``target`` to follow ``source`` (a data directory, or a :class:`LiveSource`), keeping
    the target's own configuration. ``source_conninfo`` overrides the live source's connection string.
    ``config_file``: the target's postgresql.conf when it lives outside the data directory
    (Debian's layout); pg_rewind 15+ needs it for crash recovery."""
    started = time.monotonic()
    tgt = DataDirectory(target)
    major = tgt.control.major
    pg_rewind = find_program("pg_rewind", major, bindir)
    src: Source = source if not isinstance(source, str | os.PathLike) else LocalSource(source)
    if isinstance(src, LiveSource) and source_conninfo is None:
        source_conninfo = src.connection_string()
    _ensure_stopped(tgt, major, bindir, stop_target, runner)
    plan = plan_rewind(src, tgt)
    fetched: list[str] = []
    while plan.error is not None and plan.error.kind == Kind.WAL_MISSING:
        # each plan sees further once the segments it asked for are there
        more = fetch_missing_wal(tgt, plan, restore_command, runner)
        if not more:
            break
        fetched += more
        plan = plan_rewind(src, tgt)
    if plan.error is not None and plan.error.kind != Kind.TARGET_NOT_CLEANLY_SHUT_DOWN:
        raise RewindError(f"pg_rewind would fail: {plan.error.message}", kind=plan.error.kind)
    if plan.outcome == "no_rewind_required":
        return _result("no_rewind_required", plan, started, "", fetched=fetched)
    options = RewindOptions(target_pgdata=tgt.path, source_pgdata=src.datadir.path if isinstance(src, LocalSource)
                            else None, source_server=source_conninfo if isinstance(src, LiveSource) else None,
                            dry_run=dry_run, progress=True, debug=False,
                            config_file=config_file if rules_for(major).takes_config_file else None)
    command = build_command(pg_rewind.path, options, major)
    backup = None if dry_run else _keep_aside(tgt, backup_dir)
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        log.debug("pg_rewind: %s", line)
        event = parse_progress(line.removeprefix("pg_rewind: "))
        if event is not None and on_progress is not None:
            on_progress(event)

    env = {k: v for k, v in os.environ.items() if k not in ("PGDATA", "PGPASSWORD")} | dict(command.env)
    code = runner(command.argv, env=env, user=owner_of(tgt.path), on_line=on_line)
    output = "\n".join(lines)
    if code != 0:
        raise _failed(lines, code, backup, tgt)
    if dry_run:
        return _result("dry_run", plan, started, command.shown(), lines=lines, fetched=fetched)
    kept, differences = _restore_configuration(tgt, backup)
    return _result("rewound", plan, started, command.shown(), lines=lines, fetched=fetched, backup=backup,
                   kept=kept, differences=differences, output=output)


def _ensure_stopped(tgt: DataDirectory, major: int, bindir: str | os.PathLike[str] | None, stop_target: bool,
                    runner: CommandRunner) -> None:
    if tgt.server_running():
        if not stop_target:
            raise RewindError("the target server is running; stop it cleanly first (or ask for it to be stopped)",
                              kind=Kind.TARGET_RUNNING)
        stop(find_program("pg_ctl", major, bindir).path, tgt.path, runner=runner)
    if not tgt.control.state.is_clean_shutdown and not rules_for(major).ensures_shutdown:
        # pg_rewind 13+ does this itself; before, it just refuses
        single_user_recovery(find_program("postgres", major, bindir).path, tgt.path, runner=runner)
    tgt.refresh()  # the control file may have changed


def _keep_aside(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None) -> Path:
    """Copy ``global/pg_control`` and the configuration files aside, outside the data directory."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    where = Path(backup_dir) if backup_dir else tgt.path.parent / f"{tgt.path.name}.pgrewindkit-{stamp}"
    files = [tgt.path / "global" / "pg_control", *(tgt.path / name for name in CONFIG_FILES),
             *_included_files(tgt)]
    copy_aside(files, where)
    (where / "files.txt").write_text("".join(f"{p}\n" for p in files if p.exists()))
    _give_to_owner(where, tgt.path)
    return where


def _give_to_owner(directory: Path, pgdata: Path) -> None:
    """The copies belong to the data directory's owner, and to nobody else (they may hold passwords)."""
    directory.chmod(0o700)
    if os.geteuid() != 0:
        return
    owner = pgdata.stat()
    for path in [directory, *directory.iterdir()]:
        os.chown(path, owner.st_uid, owner.st_gid)


def _included_files(tgt: DataDirectory) -> list[Path]:
    """Files ``postgresql.conf`` includes from inside the data directory (pg_rewind copies those too)."""
    try:
        settings = parse_settings((tgt.path / "postgresql.conf").read_text())
    except OSError:
        return []
    paths = []
    for key in ("include", "include_if_exists"):
        value = settings.get(key)
        if value:
            path = (tgt.path / value).resolve()
            if tgt.path.resolve() in path.parents and path.is_file():
                paths.append(path)
    return paths


def _restore_configuration(tgt: DataDirectory, backup: Path | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Put the target's own configuration back over the source's copies; say how those differed."""
    if backup is None:
        return (), ()
    kept, differences = [], []
    for line in (backup / "files.txt").read_text().splitlines():
        original = Path(line)
        if original.name == "pg_control":
            continue
        saved = backup / original.name
        copied = original.read_text(errors="replace") if original.exists() else ""
        ours = saved.read_text(errors="replace")
        if copied != ours:
            differences += [f"{original.name}: {d}" for d in settings_changes(ours, copied, original.name)]
        shutil.copy2(saved, original)
        kept.append(original.name)
    return tuple(kept), tuple(differences)


def _failed(lines: list[str], code: int, backup: Path | None, tgt: DataDirectory) -> RewindError:
    message = _error_line(lines) or f"pg_rewind exited with status {code}"
    started_copying = any(_NEED.search(line) or parse_progress(line.removeprefix("pg_rewind: ")) for line in lines)
    state, detail = TargetState.UNCHANGED, ""
    if backup is not None:
        for line in (backup / "files.txt").read_text().splitlines():
            original = Path(line)
            shutil.copy2(backup / original.name, original)
        if started_copying:
            state = TargetState.PARTIALLY_REWOUND
            detail = ("data files were being copied, so do not start it; run the rewind again or take a new base "
                      f"backup (its pg_control and configuration were put back from {backup})")
        else:
            detail = f"pg_control and configuration checked against {backup}"
    return RewindError(message, kind=classify(message), state=state, state_detail=detail, backup=backup,
                       output="\n".join(lines))


def _result(outcome: str, plan: RewindPlan, started: float, command: str, *, lines: list[str] | None = None,
            fetched: list[str] | None = None, backup: Path | None = None, kept: tuple[str, ...] = (),
            differences: tuple[str, ...] = (), output: str = "") -> RewindResult:
    lines = lines or []
    d = plan.divergence
    c = d.last_common_checkpoint if d else None
    warnings = tuple(line.split("warning: ", 1)[1] for line in lines if "warning: " in line)
    return RewindResult(
        outcome=outcome, plan=plan, divergence_lsn=d.lsn if d else None, divergence_timeline=d.timeline if d else None,
        checkpoint_lsn=c.lsn if c else None, checkpoint_timeline=c.timeline if c else None,
        bytes_copied=plan.bytes_to_copy if outcome == "rewound" else 0, seconds=time.monotonic() - started,
        command=command, warnings=warnings + (d.warnings if d else ()), fetched_wal=tuple(fetched or ()),
        config_kept=kept, config_differences=differences, backup=backup, output=output,
    )


# -- WAL from the archive ------------------------------------------------------------------------


def target_restore_command(tgt: DataDirectory) -> str | None:
    """The target's own ``restore_command`` (recovery.conf/recovery.done up to 11, the configuration from 12)."""
    names = (("recovery.conf", "recovery.done") if tgt.control.version.uses_recovery_conf
             else ("postgresql.auto.conf", "postgresql.conf"))
    for name in names:
        try:
            value = parse_settings((tgt.path / name).read_text()).get("restore_command")
        except OSError:
            continue
        if value:
            return value
    return None


def fetch_missing_wal(tgt: DataDirectory, plan: RewindPlan, restore_command: str | None,
                      runner: CommandRunner) -> list[str]:
    """Fetch the segments the plan needs and ``pg_wal`` lacks, with a restore command (``%f`` the
    file name, ``%p`` the path to write), for every major, as the target's owner."""
    command = restore_command or target_restore_command(tgt)
    missing = [s.name for s in plan.wal_segments_needed if not s.present]
    if not missing:
        if plan.error is not None:
            raise RewindError(f"pg_rewind would fail: {plan.error.message}", kind=Kind.WAL_MISSING)
        return []
    if not command:
        raise RewindError(f"WAL segments {', '.join(missing)} are missing from pg_wal and there is no restore "
                          "command (give one, or set restore_command in the target)", kind=Kind.WAL_MISSING)
    if "%r" in command:
        raise RewindError("cannot use restore_command with %r placeholder", kind=Kind.RESTORE_COMMAND_INVALID)
    fetched = []
    for name in missing:
        path = tgt.path / "pg_wal" / name
        shell = command.replace("%f", name).replace("%p", str(path)).replace("%%", "%")
        lines: list[str] = []
        code = runner(["/bin/sh", "-c", shell], env=dict(os.environ), user=owner_of(tgt.path), on_line=lines.append)
        if code != 0 or not path.exists():
            raise RewindError(f"restore command failed for {name} (exit {code}): {' | '.join(lines[-2:])}",
                              kind=Kind.WAL_MISSING)
        fetched.append(name)
    return fetched

