"""The whole failback: prove the target is not the source, stop the old primary, plan, fetch missing
WAL, archive what its archive lacks, rewind, keep its own configuration, configure it as a standby of
the new primary on the new primary's timeline, start it, and wait until the new primary reports it
streaming. The source is reached through ``connect`` (a ``LiveSource`` unless a caller, a test say,
gives another ``Source``) and every program runs through ``runner``.

It never starts a standby that could have diverged: only a target that was rewound, or that the
plan leaves alone and that provably is an ancestor of the source. Every refusal before the rewind
leaves the (stopped) target as it was."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.actions import archive, backup, interlocks
from pgrewindkit.actions.lock import one_run_per_target
from pgrewindkit.actions.pgctl import CommandRunner, owner_of, run_command, start
from pgrewindkit.actions.programs import find_program
from pgrewindkit.actions.recovery import read_current, recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import ProgressEvent, RewindOutcome, RewindResult, no_rewind_result, rewind
from pgrewindkit.actions.safefs import Directory
from pgrewindkit.analysis.discarded import DiscardedWork, discarded_work
from pgrewindkit.analysis.plan import RewindPlan, abandoned_history_files, plan_rewind, source_lineage
from pgrewindkit.cluster.conninfo import make_conninfo, parse_conninfo
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import parse_settings
from pgrewindkit.cluster.source import LiveSource, Source
from pgrewindkit.errors import CommandError, FailbackError, Kind, PgRewindKitError, SourceError
from pgrewindkit.majors.standby import standby_settings

log = logging.getLogger(__name__)


@attrs.frozen
class Step:
    name: str
    detail: str
    seconds: float


class FailbackOutcome(Words):
    STREAMING = "streaming"
    NOT_STARTED = "not_started"  # configured; starting it is left to the service manager
    NOTHING_TO_DO = "nothing_to_do"  # already a standby streaming from the source


@attrs.frozen
class FailbackResult:
    rewind: RewindResult
    application_name: str
    recovery_files: tuple[str, ...]
    streaming: bool
    steps: tuple[Step, ...]
    outcome: FailbackOutcome = FailbackOutcome.STREAMING
    recovery_target_timeline: str = "latest"
    archived_wal: tuple[str, ...] = ()  # .ready segments sent to the archive before the rewind
    discarded_wal: tuple[str, ...] = ()  # .ready segments left unarchived (--discard-unarchived-wal)
    abandoned_history_files: tuple[str, ...] = ()  # "pg_wal/N.history" (set aside) or "archive/N.history"
    set_aside: Path | None = None  # where abandoned history files of pg_wal went
    start_log: Path | None = None
    slot_created: bool = False


def standby_conninfo(source_conninfo: str, application_name: str) -> str:
    """``primary_conninfo`` for the old primary: the source's connection parameters, without a
    database (a replication connection has none), with an ``application_name`` to be found by."""
    params = {k: v for k, v in parse_conninfo(source_conninfo).items() if k not in ("dbname", "replication")}
    params["application_name"] = application_name
    return make_conninfo(params)


def default_application_name(tgt: DataDirectory, config_file: str | os.PathLike[str] | None = None) -> str:
    """A name that stays the same from one failback to the next (``synchronous_standby_names``
    lists it): the target's ``cluster_name``, else its host and port."""
    name = archive.target_setting(tgt, "cluster_name", config_file)
    if name:
        return name
    port = archive.target_setting(tgt, "port", config_file) or "5432"
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{socket.gethostname().split('.')[0]}_{port}")


@attrs.define
class _Options:
    restore_command: str | None
    config_file: str | None
    discard_unarchived_wal: bool
    archived: list[str] = attrs.field(factory=list)
    discarded: list[str] = attrs.field(factory=list)


@one_run_per_target
def failback(target: str | os.PathLike[str], source_conninfo: str, *, restore_command: str | None = None,
             bindir: str | os.PathLike[str] | None = None, application_name: str | None = None,
             slot_name: str | None = None, timeout: float = 120.0, runner: CommandRunner = run_command,
             on_step: Callable[[Step], None] | None = None,
             on_progress: Callable[[ProgressEvent], None] | None = None,
             config_file: str | os.PathLike[str] | None = None, connect: Callable[[str], Source] = LiveSource,
             create_slot: bool = False, checkpoint_source: bool = False, wait_for_checkpoint: float = 0.0,
             discard_unarchived_wal: bool = False, start_server: bool = True, start_command: str | None = None,
             backup_dir: str | os.PathLike[str] | None = None, keep_backup: bool = False,
             recovery_target_timeline: str | None = None, trigger_file: str | None = None,
             refuse_if_discarded: bool = False) -> FailbackResult:
    """Make the old primary ``target`` a streaming standby of the server ``source_conninfo``.

    ``start_server=False`` configures it and leaves starting it to systemd or an orchestrator;
    ``start_command`` starts it another way than ``pg_ctl`` (run as ourselves, by the shell).
    ``recovery_target_timeline``: the source's current timeline unless ``"latest"`` is asked for.
    ``trigger_file`` (``recovery.conf`` majors, up to 11): by default the target's own, else the one in
    the ``recovery.done`` pg_rewind copied from the source (what the seed's operator copied by hand).
    What the rewind would throw away is told first (a ``discarded`` step); ``refuse_if_discarded``
    refuses, before anything is stopped or changed, when that is any committed or prepared
    transaction, or cannot be told (and again on the final plan, should a running target have
    committed more before it stopped).
    One run per target at a time (``target_locked``)."""
    tgt = DataDirectory(Path(target).resolve())
    config = str(Path(config_file).absolute()) if config_file else None
    bindir = Path(bindir).absolute() if bindir else None
    name = application_name or default_application_name(tgt, config)
    steps: list[Step] = []
    clock = [time.monotonic()]

    def done(step: str, detail: str) -> None:
        now = time.monotonic()
        steps.append(Step(step, detail, now - clock[0]))
        clock[0] = now
        log.info("%s: %s", step, detail)
        if on_step is not None:
            on_step(steps[-1])

    options = _Options(restore_command, config, discard_unarchived_wal)
    standby_restore = restore_command or archive.target_restore_command(tgt, config)
    # read before the rewind: pg_rewind up to 10 copies the source's recovery.done over the target's
    own_trigger = trigger_file or _own_trigger_file(tgt)
    # a setting that cannot be written (a line break) is refused before anything is stopped or rewound
    recovery_config(tgt.control.major, primary_conninfo=source_conninfo, primary_slot_name=slot_name,
                    restore_command=standby_restore, target_timeline=recovery_target_timeline or "latest",
                    trigger_file=own_trigger)
    try:
        with closing(connect(source_conninfo)) as source:
            interlocks.prove_target(tgt, source)
            already = _already_following(tgt, source, name, config)
            if already is not None:
                done("nothing to do", f"{name} already streams from the source and needs no rewind")
                return FailbackResult(no_rewind_result(already), name, (), True, tuple(steps),
                                      outcome=FailbackOutcome.NOTHING_TO_DO)
            _tell_discarded(tgt, source, refuse_if_discarded, done)
            slot_missing = _check_slot(source, slot_name, create_slot)

            def before_rewind(plan: RewindPlan, t: DataDirectory) -> None:
                if refuse_if_discarded:
                    _refuse_discarded(plan.discarded, "once the target stopped")
                _archive_unarchived(t, plan, options, runner)

            result = rewind(tgt.path, source, bindir=bindir, restore_command=restore_command, stop_target=True,
                            runner=runner, on_progress=on_progress, source_conninfo=source_conninfo,
                            config_file=config, keep_backup=True, backup_dir=backup_dir, discarded=refuse_if_discarded,
                            checkpoint_source=checkpoint_source, wait_for_checkpoint=wait_for_checkpoint,
                            before_rewind=before_rewind)
            done("rewind", _rewind_detail(result))
            if result.outcome is RewindOutcome.NO_REWIND_REQUIRED and not result.plan.standby_without_rewind_is_safe:
                archive.remove_fetched(tgt, list(result.fetched_wal))
                raise FailbackError("pg_rewind sees nothing to rewind, but the target is not provably an ancestor "
                                    "of the source (its WAL may go past the source's): not starting it as a "
                                    "standby; rewind it or take a new base backup", kind=Kind.TARGET_NOT_ANCESTOR,
                                    step="rewind")
            timeline = source.current_timeline()
            target_timeline = "latest" if recovery_target_timeline == "latest" else str(timeline)
            abandoned, set_aside = _abandoned_history(tgt, result.plan, timeline, standby_restore, runner)
            if abandoned:
                done("abandoned timelines", ", ".join(abandoned) + (f" (set aside in {set_aside})" if set_aside
                                                                    else ""))
            trigger, trigger_origin = _trigger_file(tgt, own_trigger, trigger_file)
            written = _write_standby_config(tgt, source_conninfo, name, slot_name, standby_restore, target_timeline,
                                            trigger)
            done("recovery configuration", ", ".join(p.name for p in written)
                 + f"; recovery_target_timeline = {target_timeline}"
                 + (f"; trigger_file = {trigger} ({trigger_origin})" if trigger else ""))
            if slot_missing and slot_name is not None:
                source.create_physical_slot(slot_name)
                done("slot", f"created the physical replication slot {slot_name} on the source")

            def finished(outcome: FailbackOutcome, log_file: Path | None = None) -> FailbackResult:
                if not keep_backup:
                    backup.remove_backup(result.backup)
                return FailbackResult(
                    attrs.evolve(result, backup=result.backup if keep_backup else None), name,
                    tuple(str(p) for p in written), outcome is FailbackOutcome.STREAMING, tuple(steps),
                    outcome=outcome, recovery_target_timeline=target_timeline, archived_wal=tuple(options.archived),
                    discarded_wal=tuple(options.discarded), abandoned_history_files=tuple(abandoned),
                    set_aside=set_aside, start_log=log_file, slot_created=slot_missing)

            if not start_server:
                done("start", "not started, as asked: start it with its service manager")
                return finished(FailbackOutcome.NOT_STARTED)
            log_file = _start(tgt, bindir, start_command, config, runner, timeout)
            done("start", f"started as a standby (log: {log_file})" if log_file else
                 f"started with {start_command}")
            streaming = _wait_streaming(source, name, timeout)
            done("streaming", f"{name} is streaming from the source" if streaming else
                 f"{name} did not appear in pg_stat_replication within {timeout:.0f}s")
    except SourceError as exc:
        raise FailbackError(str(exc), kind=exc.kind, step=steps[-1].name if steps else "connect") from None
    if not streaming:
        raise FailbackError(f"the old primary did not start streaming within {timeout:.0f}s"
                            + _log_excerpt(log_file), kind=Kind.NOT_STREAMING, step="streaming")
    return finished(FailbackOutcome.STREAMING, log_file)


def _already_following(tgt: DataDirectory, source: Source, name: str, config: str | None) -> RewindPlan | None:
    """The plan, when the target is already a running standby that streams from the source and
    needs no rewind: then nothing is to be done (no stop, no restart). The server itself vouches for
    the histories (a walreceiver whose timeline forked off the source's cannot stream from it); its
    pg_control must show it replaying the source's current timeline, since the plan of a running
    standby judges by its last restartpoint, which may be on an older one."""
    if not tgt.server_running():
        return None
    standby = (tgt.path / "standby.signal").exists() or (tgt.path / "recovery.conf").exists()
    names = {name, *_configured_application_names(tgt, config)}
    if not standby or not any(source.standby_streaming(n) for n in names):
        return None
    control = tgt.control
    replaying = max(control.min_recovery_point_tli, control.checkpoint_copy.timeline)
    if replaying != source.current_timeline():
        return None
    try:
        return plan_rewind(source, tgt, discarded=False)
    except PgRewindKitError:
        return None


def _configured_application_names(tgt: DataDirectory, config: str | None) -> list[str]:
    conninfo = archive.target_setting(tgt, "primary_conninfo", config)
    if conninfo is None and (tgt.path / "recovery.conf").exists():
        conninfo = parse_settings((tgt.path / "recovery.conf").read_text(errors="replace")).get("primary_conninfo")
    names = [archive.target_setting(tgt, "cluster_name", config) or "walreceiver"]
    try:
        configured = parse_conninfo(conninfo).get("application_name") if conninfo else None
    except PgRewindKitError:
        configured = None
    return [configured] if configured else names


def _own_trigger_file(tgt: DataDirectory) -> str | None:
    """The target's own ``trigger_file`` (its recovery.conf or recovery.done), where the major keeps
    it in ``recovery.conf``; from 12 the target's configuration, which a failback keeps, holds it."""
    if not standby_settings(tgt.control.major).trigger_file_in_recovery_conf:
        return None
    return archive.target_setting(tgt, "trigger_file")


def _trigger_file(tgt: DataDirectory, own: str | None, given: str | None) -> tuple[str | None, str]:
    """The trigger file the standby's recovery.conf names, and where it came from."""
    if given:
        return given, "as given"
    if own:
        return own, "the target's own"
    # the seed's operator made recovery.conf from the recovery.done pg_rewind had copied from the source
    copied = _own_trigger_file(tgt)
    return copied, "from the recovery.done pg_rewind copied from the source"


def _write_standby_config(tgt: DataDirectory, source_conninfo: str, name: str, slot_name: str | None,
                          restore_command: str | None, target_timeline: str,
                          trigger_file: str | None = None) -> list[Path]:
    recovery = recovery_config(tgt.control.major, primary_conninfo=standby_conninfo(source_conninfo, name),
                               primary_slot_name=slot_name, restore_command=restore_command,
                               current_auto_conf=read_current(tgt.path, tgt.control.major),
                               target_timeline=target_timeline, trigger_file=trigger_file)
    return write_recovery_config(tgt.path, recovery)


def configure_standby(target: str | os.PathLike[str], source: Source, source_conninfo: str, *,
                      application_name: str | None = None, slot_name: str | None = None,
                      restore_command: str | None = None, config_file: str | os.PathLike[str] | None = None,
                      recovery_target_timeline: str | None = None, trigger_file: str | None = None) -> list[Path]:
    """Configure ``target`` (rewound, stopped) as a standby of the server ``source`` on the source's
    current timeline (or ``"latest"``), streaming under a stable application name; the files written.
    ``trigger_file`` up to 11: by default the one its recovery.conf or recovery.done names."""
    tgt = DataDirectory(Path(target).resolve())  # resolved once, as failback() does
    config = str(Path(config_file).absolute()) if config_file else None
    timeline = "latest" if recovery_target_timeline == "latest" else str(source.current_timeline())
    return _write_standby_config(tgt, source_conninfo, application_name or default_application_name(tgt, config),
                                 slot_name, restore_command or archive.target_restore_command(tgt, config), timeline,
                                 trigger_file or _own_trigger_file(tgt))


def _tell_discarded(tgt: DataDirectory, source: Source, refuse: bool, done: Callable[[str, str], None]) -> None:
    """What the rewind would throw away, read from the target's WAL as it is now (nothing stopped
    yet), as a step; with ``refuse``, a refusal when it is anything committed or cannot be told."""
    try:
        work: DiscardedWork | None = discarded_work(source, tgt)
    except PgRewindKitError as exc:
        log.warning("what the rewind would throw away cannot be told: %s", exc)
        work = None
    if work is not None:
        done("discarded", discarded_detail(work))
    if refuse:
        _refuse_discarded(work, "")


def discarded_detail(work: DiscardedWork) -> str:
    """The ``discarded`` step's words: how many commits, their window, what else."""
    first, last = work.first_commit_time, work.last_commit_time
    if first is None or last is None:
        text = "no committed transaction is thrown away"
    else:
        text = (f"{work.committed_count} transactions committed on the target between {first.isoformat()} and "
                f"{last.isoformat()} are thrown away")
        if work.source_promoted_at is not None:
            text += f" (the source took over at {work.source_promoted_at.isoformat()})"
    tables = sorted({r.name for r in work.relations if r.name and r.kind in ("r", "p", "m")
                     and not r.name.startswith("pg_catalog.")})
    if tables:
        text += "; tables: " + ", ".join(tables[:10]) + (f" and {len(tables) - 10} more" if len(tables) > 10 else "")
    if work.prepared:
        text += f"; {len(work.prepared)} prepared: " + ", ".join(repr(p.gid) for p in work.prepared)
    if work.aborted or work.in_progress:
        text += f"; {work.aborted} rolled back, {work.in_progress} in progress"
    return text


def _refuse_discarded(work: DiscardedWork | None, when: str) -> None:
    """``--refuse-if-discarded``: committed or prepared work would be lost, or it cannot be told."""
    later = f" {when}" if when else ""
    if work is None:
        raise FailbackError(f"what the rewind would throw away cannot be told{later} (the target's WAL could not be "
                            "read), and --refuse-if-discarded promises nothing is lost: nothing was changed",
                            kind=Kind.TRANSACTIONS_DISCARDED, step="discarded")
    if work.anything_lost:
        prepared = f" and {len(work.prepared)} prepared" if work.prepared else ""
        raise FailbackError(f"the rewind would throw away {work.committed_count} committed transactions{prepared}"
                            f"{later} (xids {', '.join(str(t.xid) for t in work.committed[:10])}"
                            f"{' ...' if work.committed_count > 10 else ''}): refused by --refuse-if-discarded; "
                            "see pgrewindkit discarded", kind=Kind.TRANSACTIONS_DISCARDED, step="discarded")


def _check_slot(source: Source, slot_name: str | None, create: bool) -> bool:
    """Whether the slot must be created (asked for and missing); refuses a missing slot not to be
    created, and a logical one."""
    if slot_name is None:
        return False
    kind = source.replication_slot(slot_name)
    if kind == "physical":
        return False
    if kind is not None:
        raise FailbackError(f"the replication slot {slot_name} on the source is {kind}, not physical",
                            kind=Kind.SLOT_MISSING, step="slot")
    if not create:
        raise FailbackError(f"the source has no replication slot {slot_name}; create it (SELECT "
                            f"pg_create_physical_replication_slot('{slot_name}')) or ask for --create-slot",
                            kind=Kind.SLOT_MISSING, step="slot")
    return True


def _archive_unarchived(tgt: DataDirectory, plan: RewindPlan, options: _Options, runner: CommandRunner) -> None:
    """The plan's unarchived WAL (``.ready``) goes to the archive with the target's
    ``archive_command`` before the rewind removes or overwrites it, or the failback stops (unless
    told to discard it). All of it: a standby does not archive (``archive_mode = on``), so what the
    rewind keeps would wait too; history files first, as the archiver sends them."""
    ready = sorted((u.name for u in plan.unarchived_wal if (tgt.wal_path / u.name).is_file()),
                   key=lambda n: (not n.endswith(".history"), n))
    if not ready:
        return
    if options.discard_unarchived_wal:
        log.warning("leaving %d unarchived WAL files out of the archive, as asked: %s", len(ready), ", ".join(ready))
        options.discarded += ready
        return
    command = archive.target_setting(tgt, "archive_command", options.config_file)
    if not command or archive.target_setting(tgt, "archive_mode", options.config_file) in (None, "off"):
        raise FailbackError(f"{len(ready)} WAL files of the target never reached its archive ({', '.join(ready)}) "
                            "and it has no archive_command to send them with; archive them, or ask for "
                            "--discard-unarchived-wal", kind=Kind.UNARCHIVED_WAL, step="archive")
    try:
        options.archived += archive.archive_ready(tgt, ready, command, runner)
    except CommandError as exc:
        raise FailbackError(f"{exc.problem}; the rewind would lose it: archive it, or ask for "
                            "--discard-unarchived-wal", kind=Kind.UNARCHIVED_WAL, step="archive") from None


def _abandoned_history(tgt: DataDirectory, plan: RewindPlan, timeline: int, restore_command: str | None,
                       runner: CommandRunner) -> tuple[list[str], Path | None]:
    """History files of timelines the source did not follow: the plan's, in ``pg_wal``, are set
    aside (moved to a private directory) unless the rewind removed them; those the archive holds
    after the source's ``timeline`` (what ``recovery_target_timeline = 'latest'`` would follow) are
    reported."""
    stray = [h.name for h in plan.abandoned_history_files if (tgt.wal_path / h.name).is_file()]
    found: list[str] = []
    set_aside = None
    if stray:
        set_aside = backup.run_directory("set-aside", tgt)
        with Directory.open(tgt.wal_path.resolve()) as wal, Directory.open(set_aside) as aside:
            for name in stray:
                aside.write(name, wal.read(name))
                wal.remove(name)
        found += [f"pg_wal/{name}" for name in stray]
    if restore_command and not archive.placeholder_problem(restore_command):
        newer = archive.newer_history_files(timeline, restore_command, owner_of(tgt.path), runner)
        lineage = source_lineage(plan)
        timelines = (lineage[0] if lineage is not None else frozenset()) | {timeline}
        found += [f"archive/{h.name}" for h in abandoned_history_files(newer, timelines, timeline)]
    return found, set_aside


def _start(tgt: DataDirectory, bindir: Path | None, start_command: str | None, config: str | None,
           runner: CommandRunner, timeout: float) -> Path | None:
    """Start the standby: ``pg_ctl`` with its log in the state directory, or the given command; a
    failure names the log and its FATAL and PANIC lines."""
    if start_command:
        lines: list[str] = []
        code = runner(["/bin/sh", "-c", start_command], env=dict(os.environ), user=None, on_line=lines.append)
        if code != 0:
            raise FailbackError(f"{start_command} failed (exit {code}): {' | '.join(lines[-3:])}",
                                kind=Kind.START_FAILED, step="start")
        return None
    pg_ctl = find_program("pg_ctl", tgt.control.major, bindir, runner=runner).path
    log_file = backup.start_log(tgt)
    try:
        start(pg_ctl, tgt.path, log_file, runner=runner, timeout=int(timeout), config_file=config)
    except CommandError as exc:
        raise FailbackError(f"{exc.problem}{_log_excerpt(log_file)}", kind=Kind.START_FAILED, step="start") from None
    return log_file


def _log_excerpt(log_file: Path | None) -> str:
    """"; see LOG: FATAL: ... | PANIC: ..." (the last few), for an error message."""
    if log_file is None:
        return ""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    serious = [line.strip() for line in lines if "FATAL:" in line or "PANIC:" in line][-3:]
    return f"; see {log_file}" + (f": {' | '.join(serious)}" if serious else "")


def _rewind_detail(result: RewindResult) -> str:
    if result.outcome is RewindOutcome.NO_REWIND_REQUIRED:
        return "no rewind required"
    return (f"diverged at {result.divergence_lsn} on timeline {result.divergence_timeline}; rewound from "
            f"{result.checkpoint_lsn}; {result.bytes_copied // (1024 * 1024)} MB copied in {result.seconds:.1f}s"
            + (f"; fetched {len(result.fetched_wal)} WAL segments" if result.fetched_wal else ""))


def _wait_streaming(source: Source, application_name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while (now := time.monotonic()) < deadline:
        if source.standby_streaming(application_name):
            return True
        time.sleep(min(0.2, deadline - now))
    return False
