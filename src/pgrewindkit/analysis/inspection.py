"""``inspect_datadir()``: a forensic overview of a data directory without a server, and the
findings a person should act on. Reads only."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from pgrewindkit._enum import Words
from pgrewindkit.cluster.conninfo import mask_password
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import RECOVERY_SETTINGS, mask, parse_settings
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.files import MAX_CONFIG_FILE, printable, read_optional_text
from pgrewindkit.formats.lsn import LSN, WalSegment, is_segment_file_name
from pgrewindkit.formats.timeline import TimelineHistory
from pgrewindkit.formats.wal import open_wal
from pgrewindkit.formats.wal.reader import Tally
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.model import ControlFile, DBState

SIGNAL_FILES = ("standby.signal", "recovery.signal")


@attrs.frozen
class WalOnDisk:
    segment_size: int
    segments: dict[int, tuple[str, ...]]  # timeline -> segment file names
    gaps: tuple[str, ...]  # segments missing between the first and last of a timeline
    end: LSN | None  # end of valid WAL from the checkpoint's REDO on, as crash recovery would find it
    end_reason: str | None
    records_after_checkpoint: int = 0
    missing_segment: str | None = None  # the segment whose absence ended the WAL, if that is why


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
    by_timeline: dict[int, list[int]] = {}
    for entry in sorted(datadir.wal_path.iterdir()):
        if is_segment_file_name(entry.name):
            segment = WalSegment.from_file_name(entry.name, size)
            by_timeline.setdefault(segment.timeline, []).append(segment.segno)
    gaps = []
    for tli, numbers in by_timeline.items():
        present = set(numbers)
        gaps += [WalSegment(tli, n).file_name(size) for n in range(min(numbers), max(numbers)) if n not in present]
    end = _end_of_wal(datadir, control, history)
    return WalOnDisk(size, {t: tuple(WalSegment(t, n).file_name(size) for n in sorted(ns))
                            for t, ns in sorted(by_timeline.items())}, tuple(gaps), *end)


def _end_of_wal(datadir: DataDirectory, control: ControlFile,
                history: TimelineHistory | None) -> tuple[LSN | None, str | None, int, str | None]:
    """Read from the checkpoint record to the end of valid WAL, counting, as crash recovery would:
    where it ends, why, how many records, and the missing segment when that is why."""
    try:
        wal = open_wal(datadir.path, history=history)
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


def _findings(control: ControlFile, wal: WalOnDisk, server: ServerStatus, recovery: dict[str, str],
              backup_label: str | None, history_error: str | None) -> tuple[Finding, ...]:
    found: list[Finding] = []

    def add(severity: Severity, code: str, message: str) -> None:
        found.append(Finding(severity, code, message))

    clean = control.state.is_clean_shutdown
    if server.running:
        add(Severity.INFO, "running",
            f"a server runs on this data directory (pid {server.pid}); what is on disk is moving")
    elif server.stale:
        add(Severity.WARNING, "stale_postmaster_pid",
            f"postmaster.pid names pid {server.pid}, which is not running: the server crashed or this is a copy")
    if not clean and not server.running:
        add(Severity.CRITICAL, "crashed",
            f"the cluster was not shut down cleanly (state: {control.state.description}) and no server runs: "
            f"crash recovery will replay WAL from REDO {control.checkpoint_copy.redo}"
            + (f" to {wal.end}" if wal.end else ""))
        add(Severity.WARNING, "needs_crash_recovery_before_rewind",
            "pg_rewind needs a clean shutdown: start and stop the server (or let pg_rewind 13+ run single-user "
            "crash recovery) before rewinding")
    if wal.end is None:
        add(Severity.CRITICAL, "wal_unreadable", f"the WAL from the latest checkpoint cannot be read: {wal.end_reason}")
    elif wal.missing_segment is not None:
        add(Severity.CRITICAL if not clean else Severity.WARNING, "wal_missing_after_checkpoint",
            f"WAL ends at {wal.end} because a segment is missing: {wal.end_reason}")
    if wal.gaps:
        add(Severity.WARNING, "wal_gaps", f"segments missing in pg_wal: {', '.join(wal.gaps[:5])}"
            + (f" and {len(wal.gaps) - 5} more" if len(wal.gaps) > 5 else ""))
    if control.state is DBState.SHUTDOWNED and wal.records_after_checkpoint > 1:
        add(Severity.WARNING, "wal_after_shutdown_checkpoint",
            f"{wal.records_after_checkpoint - 1} records follow the shutdown checkpoint: this WAL went on elsewhere")
    if not (control.wal_log_hints or control.data_checksums):
        add(Severity.WARNING, "rewind_impossible",
            "neither wal_log_hints nor data checksums: pg_rewind cannot rewind this cluster")
    if backup_label is not None:
        add(Severity.WARNING, "backup_label",
            "backup_label is present: the server will start from the backup's checkpoint (a base backup, or a "
            "rewind that has not been started yet)")
    if "standby.signal" in recovery or recovery.get("standby_mode") == "on":
        add(Severity.INFO, "standby", "configured to start as a standby"
            + (f" of {recovery['primary_conninfo']}" if "primary_conninfo" in recovery else ""))
    if history_error:
        add(Severity.WARNING, "history_missing", f"the timeline history cannot be read: {history_error}")
    if control.state is DBState.IN_ARCHIVE_RECOVERY and not server.running:
        add(Severity.INFO, "was_standby", f"last running as a standby; consistent from {control.min_recovery_point}")
    return tuple(found)
