"""``inspect_datadir()``: a forensic overview of a data directory without a server, and the
findings a person should act on. Reads only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.cluster.conninfo import mask_password
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import RECOVERY_SETTINGS, mask, parse_settings
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.files import MAX_CONFIG_FILE, printable, read_optional_text
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal.reader import Tally
from pgrewindkit.formats.wal.segments import segment_gaps
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.model import ControlFile, DBState

SIGNAL_FILES = ("standby.signal", "recovery.signal")
GAPS_LISTED = 100  # missing segments named; the rest are counted


@attrs.frozen
class WalOnDisk:
    segment_size: int
    segments: dict[int, tuple[str, ...]]  # timeline -> segment file names
    gaps: tuple[str, ...]  # segments missing between the first and last of a timeline (the first 100)
    end: LSN | None  # end of valid WAL from the checkpoint's REDO on, as crash recovery would find it
    end_reason: str | None
    records_after_checkpoint: int = 0
    missing_segment: str | None = None  # the segment whose absence ended the WAL, if that is why
    gap_count: int = 0  # how many segments are missing in all (an absurd name makes trillions: counted, not listed)
    bad_segment_names: tuple[str, ...] = ()  # named like segments, but no segment of this size: skipped

    @property
    def checkpoint_readable(self) -> bool:
        """Whether the checkpoint record pg_control names could be read (else PostgreSQL PANICs on start)."""
        return self.records_after_checkpoint > 0


@attrs.frozen
class ServerStatus:
    running: bool
    pid: int | None
    stale: bool  # a postmaster.pid whose process is gone (a crash, or a copy)


class Severity(Words):
    """How much a finding matters, by what PostgreSQL will do on start."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@attrs.frozen
class Finding:
    severity: Severity
    code: str
    message: str


@attrs.frozen
class Inspection:
    path: Path
    control: ControlFile
    history: TimelineHistory | None
    history_error: str | None
    wal: WalOnDisk
    server: ServerStatus
    recovery: dict[str, str]  # recovery settings and signal files, passwords masked
    backup_label: str | None
    tablespace_map: str | None
    findings: tuple[Finding, ...]

    @property
    def major(self) -> int:
        return self.control.major


def inspect_datadir(path: str | os.PathLike[str]) -> Inspection:
    datadir = DataDirectory(path)
    control = datadir.control
    history, history_error = _history(datadir, control)
    wal = _wal(datadir, control, history)
    server = _server(datadir)
    recovery = _recovery(datadir, control)
    backup_label = _text(datadir.path / "backup_label")
    tablespace_map = _text(datadir.path / "tablespace_map")
    findings = _findings(control, wal, server, recovery, backup_label, history_error)
    return Inspection(datadir.path, control, history, history_error, wal, server, recovery, backup_label,
                      tablespace_map, findings)


def _history(datadir: DataDirectory, control: ControlFile) -> tuple[TimelineHistory | None, str | None]:
    timeline = max(control.timeline, control.min_recovery_point_tli)
    try:
        return datadir.history(timeline), None
    except PgRewindKitError as exc:
        return None, str(exc)


def _wal(datadir: DataDirectory, control: ControlFile, history: TimelineHistory | None) -> WalOnDisk:
    size = control.xlog_seg_size
    names, bad = datadir.wal_segment_names()
    by_timeline: dict[int, list[int]] = {}
    for name in names:
        segment = WalSegment.from_file_name(name, size)
        by_timeline.setdefault(segment.timeline, []).append(segment.segno)
    gaps: list[str] = []
    gap_count = 0
    for tli, numbers in by_timeline.items():
        listed, count = segment_gaps(tli, numbers, size, limit=GAPS_LISTED)
        gaps += listed
        gap_count += count
    end = _end_of_wal(datadir, control, history)
    return WalOnDisk(size, {t: tuple(WalSegment(t, n).file_name(size) for n in sorted(ns))
                            for t, ns in sorted(by_timeline.items())}, tuple(gaps[:GAPS_LISTED]), *end,
                     gap_count=gap_count, bad_segment_names=tuple(bad))


def _end_of_wal(datadir: DataDirectory, control: ControlFile,
                history: TimelineHistory | None) -> tuple[LSN | None, str | None, int, str | None]:
    """Read from the checkpoint record to the end of valid WAL, counting, as crash recovery would:
    where it ends, why, how many records, and the missing segment when that is why."""
    try:
        wal = datadir.wal(history)
        scan = wal.scan(control.checkpoint, exact=True)
        tally = Tally()
        scan.count_into(tally)
    except PgRewindKitError as exc:
        return None, str(exc.problem), 0, None
    end = scan.end_of_wal
    if end is None:
        return None, None, sum(tally.counts), None
    return end.lsn, end.reason, sum(tally.counts), end.missing_segment


def _server(datadir: DataDirectory) -> ServerStatus:
    pid = datadir.postmaster_pid()
    running = datadir.server_running()
    return ServerStatus(running, pid, stale=pid is not None and not running)


def _recovery(datadir: DataDirectory, control: ControlFile) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in SIGNAL_FILES:
        if (datadir.path / name).exists():
            found[name] = "present"
    sources = (("recovery.conf", "recovery.done") if programs_for(control.major).recovery_conf
               else ("postgresql.conf", "postgresql.auto.conf"))
    for source in sources:
        text = _text(datadir.path / source)
        if text is None:
            continue
        if source in ("recovery.conf", "recovery.done"):
            found[source] = "present"
        for key, value in parse_settings(text).items():
            if key in RECOVERY_SETTINGS or key in ("trigger_file", "promote_trigger_file", "archive_cleanup_command"):
                found[key] = mask_password(mask(key, value))
    return found


def _text(path: Path) -> str | None:
    text = read_optional_text(path, MAX_CONFIG_FILE, path.name)  # a regular file, capped; escaped for terminals
    return None if text is None else printable(text)


@attrs.frozen
class _StartPlan:
    """How PostgreSQL will begin on this directory (``InitWalRecovery``): from which checkpoint, in
    which mode, and where it may fetch WAL that is not in pg_wal."""

    recovery: bool  # standby.signal, recovery.signal or recovery.conf: archive recovery or standby mode
    standby: bool
    fetch_from: tuple[str, ...]  # "restore_command", "primary_conninfo" (a standby streams)


def _start_plan(recovery: dict[str, str]) -> _StartPlan:
    standby = "standby.signal" in recovery or recovery.get("standby_mode") == "on"
    requested = standby or "recovery.signal" in recovery or "recovery.conf" in recovery
    sources = [name for name in ("restore_command", "primary_conninfo")
               if recovery.get(name) and (name != "primary_conninfo" or standby)]
    return _StartPlan(requested, standby, tuple(sources) if requested else ())


def _findings(control: ControlFile, wal: WalOnDisk, server: ServerStatus, recovery: dict[str, str],
              backup_label: str | None, history_error: str | None) -> tuple[Finding, ...]:
    """What PostgreSQL will do on start, as findings: critical when it will not start (or will lose
    data), warning when it starts only if something holds (WAL it must fetch, crash recovery),
    info when it is as it should be but worth knowing. Each message says what PostgreSQL will do."""
    found: list[Finding] = []

    def add(severity: Severity, code: str, message: str) -> None:
        found.append(Finding(severity, code, message))

    plan = _start_plan(recovery)
    if server.running:
        # what is on disk is moving: a running server's pg_wal ends where it is writing (often at a
        # segment boundary, the next segment not made yet), which is normal, not missing WAL
        add(Severity.INFO, "running",
            f"a server runs on this data directory (pid {server.pid}); what is on disk is moving, so the end "
            f"of WAL here ({wal.end or 'unknown'}) is where it is writing, not a loss")
    else:
        if server.stale:
            add(Severity.WARNING, "stale_postmaster_pid",
                f"postmaster.pid names pid {server.pid}, which is not running: the server crashed or this is "
                f"a copy; PostgreSQL removes it on start when no process holds it")
        _start_findings(add, control, wal, plan, backup_label)
    if wal.gaps:
        add(Severity.WARNING, "wal_gaps", f"segments missing in pg_wal: {', '.join(wal.gaps[:5])}"
            + (f" and {wal.gap_count - 5} more" if wal.gap_count > 5 else "")
            + "; a start needs only the WAL from REDO on, but a rewind or a standby may need these")
    if wal.bad_segment_names:
        add(Severity.WARNING, "bad_segment_names",
            f"files named like WAL segments that no segment of {wal.segment_size // (1024 * 1024)} MB can be, "
            f"skipped (PostgreSQL never reads them): {', '.join(printable(n) for n in wal.bad_segment_names[:5])}"
            + (f" and {len(wal.bad_segment_names) - 5} more" if len(wal.bad_segment_names) > 5 else ""))
    if control.state is DBState.SHUTDOWNED and wal.records_after_checkpoint > 1 and not server.running:
        add(Severity.WARNING, "wal_after_shutdown_checkpoint",
            f"{wal.records_after_checkpoint - 1} records follow the shutdown checkpoint: this WAL went on "
            f"elsewhere; PostgreSQL will replay them on start")
    if not (control.wal_log_hints or control.data_checksums):
        add(Severity.WARNING, "rewind_impossible",
            "neither wal_log_hints nor data checksums: pg_rewind cannot rewind this cluster")
    if plan.standby:
        add(Severity.INFO, "standby", "configured to start as a standby"
            + (f" of {recovery['primary_conninfo']}" if "primary_conninfo" in recovery else ""))
    if history_error:
        add(Severity.WARNING, "history_missing", f"the timeline history cannot be read: {history_error}")
    if control.state is DBState.IN_ARCHIVE_RECOVERY and not server.running and backup_label is None:
        add(Severity.INFO, "was_standby", f"last running as a standby; consistent from {control.min_recovery_point}")
    return tuple(found)


def _start_findings(add: Callable[[Severity, str, str], None], control: ControlFile, wal: WalOnDisk,
                    plan: _StartPlan, backup_label: str | None) -> None:
    """A stopped directory: will PostgreSQL find its checkpoint, and what will it replay?"""
    fetch = " and ".join(plan.fetch_from)
    if backup_label is not None:
        # a base backup, or a rewind not yet started: the start point is the label's, not pg_control's
        add(Severity.INFO, "backup_label",
            "backup_label is present: PostgreSQL will start from the backup's checkpoint named in it and replay "
            f"WAL at least to minRecoveryPoint {control.min_recovery_point} before it is consistent (a base "
            "backup, or a rewound directory that has not been started yet)"
            + (f"; WAL not in pg_wal comes through {fetch}" if fetch else ""))
        return
    if not wal.checkpoint_readable:
        why = wal.end_reason or "it cannot be read"
        if fetch:
            add(Severity.WARNING, "checkpoint_wal_missing",
                f"the checkpoint record at {control.checkpoint} is not readable in pg_wal ({why}): PostgreSQL "
                f"will try to fetch it through {fetch}, and PANIC \"could not locate a valid checkpoint record\" "
                "if that fails")
        else:
            add(Severity.CRITICAL, "checkpoint_unreadable",
                f"the checkpoint record at {control.checkpoint} cannot be read ({why}): PostgreSQL will not "
                "start (PANIC: could not locate a valid checkpoint record)")
        return
    clean = control.state.is_clean_shutdown
    if not clean:
        add(Severity.WARNING, "crashed",
            f"the cluster was not shut down cleanly (state: {control.state.description}): on start PostgreSQL "
            f"will run {'archive' if plan.recovery else 'crash'} recovery from REDO "
            f"{control.checkpoint_copy.redo}" + (f" to {wal.end}" if wal.end and not plan.recovery else "")
            + "; pg_rewind needs a clean shutdown, so start it and stop it cleanly before rewinding "
              "(pg_rewind 13+ can run this crash recovery itself)")
    if wal.missing_segment is None:
        return
    ends = f"WAL in pg_wal ends at {wal.end}: {wal.missing_segment} is not there"
    if fetch:
        add(Severity.WARNING, "wal_missing_after_checkpoint",
            f"{ends}; as a {'standby' if plan.standby else 'recovering server'} PostgreSQL will fetch the rest "
            f"through {fetch}")
    elif wal.missing_segment in wal.gaps:
        add(Severity.CRITICAL, "wal_missing_after_checkpoint",
            f"{ends} but later segments are: PostgreSQL will end recovery at {wal.end} and the WAL after it "
            "is lost (a new timeline or new WAL overwrites it)")
    elif not clean:
        add(Severity.INFO, "wal_end", f"{ends}, the segment being written at the crash: recovery will end there")


