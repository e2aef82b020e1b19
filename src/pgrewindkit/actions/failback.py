"""The whole failback: stop the old primary, plan, fetch missing WAL, rewind, keep its own
configuration, configure it as a standby of the new primary, start it, and wait until the new
primary reports it streaming. The source is reached through ``connect`` (a ``LiveSource`` unless a
caller, a test say, gives another ``Source``) and every program runs through ``runner``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import closing

import attrs

from pgrewindkit.actions.archive import target_restore_command
from pgrewindkit.actions.pgctl import CommandRunner, run_command, start
from pgrewindkit.actions.programs import find_program
from pgrewindkit.actions.recovery import read_current, recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import ProgressEvent, RewindOutcome, RewindResult, rewind
from pgrewindkit.cluster.conninfo import make_conninfo, parse_conninfo
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import LiveSource, Source
from pgrewindkit.errors import FailbackError, Kind, SourceError

log = logging.getLogger(__name__)


@attrs.frozen
class Step:
    name: str
    detail: str
    seconds: float


@attrs.frozen
class FailbackResult:
    rewind: RewindResult
    application_name: str
    recovery_files: tuple[str, ...]
    streaming: bool
    steps: tuple[Step, ...]


def standby_conninfo(source_conninfo: str, application_name: str) -> str:
    """``primary_conninfo`` for the old primary: the source's connection parameters, without a
    database (a replication connection has none), with an ``application_name`` to be found by."""
    params = {k: v for k, v in parse_conninfo(source_conninfo).items() if k not in ("dbname", "replication")}
    params["application_name"] = application_name
    return make_conninfo(params)


def failback(target: str | os.PathLike[str], source_conninfo: str, *, restore_command: str | None = None,
             bindir: str | os.PathLike[str] | None = None, application_name: str | None = None,
             slot_name: str | None = None, timeout: float = 120.0, runner: CommandRunner = run_command,
             on_step: Callable[[Step], None] | None = None,
             on_progress: Callable[[ProgressEvent], None] | None = None,
             config_file: str | None = None, connect: Callable[[str], Source] = LiveSource) -> FailbackResult:
    tgt = DataDirectory(target)
    major = tgt.control.major
    name = application_name or f"pgrewindkit_{tgt.control.system_identifier % 100000}_{tgt.path.name}"
    steps: list[Step] = []
    clock = [time.monotonic()]

    def done(step: str, detail: str) -> None:
        now = time.monotonic()
        steps.append(Step(step, detail, now - clock[0]))
        clock[0] = now
        log.info("%s: %s", step, detail)
        if on_step is not None:
            on_step(steps[-1])

    standby_restore = restore_command or target_restore_command(tgt)
    try:
        with closing(connect(source_conninfo)) as source:
            result = rewind(tgt.path, source, bindir=bindir, restore_command=restore_command, stop_target=True,
                            runner=runner, on_progress=on_progress, source_conninfo=source_conninfo,
                            config_file=config_file)
            done("rewind", _rewind_detail(result))
            config = recovery_config(major, primary_conninfo=standby_conninfo(source_conninfo, name),
                                     primary_slot_name=slot_name, restore_command=standby_restore,
                                     current_auto_conf=read_current(tgt.path, major))
            written = write_recovery_config(tgt.path, config)
            done("recovery configuration", ", ".join(p.name for p in written))
            pg_ctl = find_program("pg_ctl", major, bindir, runner=runner).path
            log_file = (result.backup or tgt.path.parent) / f"{tgt.path.name}.pgrewindkit-startup.log"
            start(pg_ctl, tgt.path, log_file, runner=runner, timeout=int(timeout), config_file=config_file)
            done("start", f"started as a standby (log: {log_file})")
            streaming = _wait_streaming(source, name, timeout)
            done("streaming", f"{name} is streaming from the source" if streaming else
                 f"{name} did not appear in pg_stat_replication within {timeout:.0f}s")
    except SourceError as exc:
        raise FailbackError(str(exc), kind=exc.kind, step=steps[-1].name if steps else "connect") from None
    if not streaming:
        raise FailbackError(f"the old primary did not start streaming within {timeout:.0f}s; see {log_file}",
                            kind=Kind.NOT_STREAMING, step="streaming")
    return FailbackResult(result, name, tuple(str(p) for p in written), streaming, tuple(steps))


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
