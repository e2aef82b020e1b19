"""The target's WAL archive, used the way the server uses it.

* Fetching (``restore_segments``): the target's own ``restore_command`` (or one given), ``%f`` the
  file name, ``%p`` the path to write, run for each segment as the target's owner into ``pg_wal``;
  ``remove_fetched`` takes them out again when the rewind is then refused.
* Probing (``probe_archive``): the same command into a private temporary directory, never
  ``pg_wal``: what the archive holds, for a plan (``probe_plan``), or the history files of
  abandoned timelines.
* Archiving (``archive_ready``): the plan's ``unarchived_wal`` (``archive_status/*.ready``) has not
  reached the archive, and a rewind removes or overwrites it; it goes there first with the
  target's ``archive_command``, and is marked ``.done`` as the archiver marks it.

Every command runs under ``timeout``: a restore or archive command that hangs (an unreachable NFS
archive) ends as a failure instead of a hung failover.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
import struct
import tempfile
from pathlib import Path

import attrs

from pgrewindkit.actions.pgctl import CommandRunner, owner_of, run_command
from pgrewindkit.actions.safefs import Directory
from pgrewindkit.analysis.plan import RewindPlan, source_lineage, with_archive
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import RECOVERY_SETTINGS, parse_settings
from pgrewindkit.errors import CommandError, Kind
from pgrewindkit.formats.files import MAX_CONFIG_FILE, read_optional_text
from pgrewindkit.formats.lsn import WalSegment, is_segment_file_name
from pgrewindkit.formats.timeline import history_file_name
from pgrewindkit.majors.programs import programs_for

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 300.0  # seconds one restore or archive command may take


def target_setting(tgt: DataDirectory, name: str, config_file: str | os.PathLike[str] | None = None) -> str | None:
    """A setting of the target as its files set it: recovery.conf/recovery.done up to 11 for
    recovery settings, then ``postgresql.auto.conf`` over ``postgresql.conf`` (or ``config_file``)."""
    names: list[Path] = []
    if name in RECOVERY_SETTINGS and programs_for(tgt.control.major).recovery_conf:
        names += [tgt.path / "recovery.conf", tgt.path / "recovery.done"]
    names += [tgt.path / "postgresql.auto.conf", Path(config_file) if config_file else tgt.path / "postgresql.conf"]
    for path in names:
        try:
            value = parse_settings(read_optional_text(path, MAX_CONFIG_FILE, "configuration file") or "").get(name)
        except OSError:
            continue
        if value:
            return value
    return None


def target_restore_command(tgt: DataDirectory, config_file: str | os.PathLike[str] | None = None) -> str | None:
    """The target's own ``restore_command`` (recovery.conf/recovery.done up to 11, the configuration from 12)."""
    return target_setting(tgt, "restore_command", config_file)


def placeholder_problem(command: str) -> str | None:
    """Why ``command`` cannot fetch WAL for a rewind: ``%r`` (the restart point) has no meaning here."""
    return "cannot use restore_command with %r placeholder" if "%r" in command else None


def shell_argv(command: str, name: str, path: Path, timeout: float = COMMAND_TIMEOUT) -> list[str]:
    """``command`` with ``%f`` and ``%p`` replaced, as a shell command killed after ``timeout`` seconds."""
    shell = command.replace("%f", name).replace("%p", str(path)).replace("%%", "%")
    return ["timeout", "-k", "5", f"{timeout:g}", "/bin/sh", "-c", shell]


def _run(runner: CommandRunner, argv: list[str], owner: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = runner(argv, env=dict(os.environ), user=owner, on_line=lines.append)
    return code, lines


def _why(code: int, lines: list[str]) -> str:
    if code == 124:
        return "timed out"
    return f"exit {code}" + (f": {' | '.join(lines[-2:])}" if lines else "")


def restore_segments(tgt: DataDirectory, names: list[str], command: str, runner: CommandRunner, *,
                     timeout: float = COMMAND_TIMEOUT) -> list[str]:
    """Fetch each segment into ``pg_wal``; the first that fails raises ``CommandError`` (those
    fetched before it are removed again)."""
    fetched: list[str] = []
    owner = owner_of(tgt.path)
    for name in names:
        path = tgt.wal_path / name
        code, lines = _run(runner, shell_argv(command, name, path, timeout), owner)
        problem = _why(code, lines) if code != 0 else segment_problem(tgt, name)
        if problem is not None:
            # whatever it left (a short copy, another segment) would break every rerun: take it out
            remove_fetched(tgt, [*fetched, name] if os.path.lexists(path) else fetched)
            raise CommandError(f"restore command failed for {name} ({problem})", output="\n".join(lines))
        fetched.append(name)
    return fetched


def segment_problem(tgt: DataDirectory, name: str) -> str | None:
    """Why what the restore command left at ``pg_wal/name`` is not that WAL segment of this cluster
    (None when it is, or when ``name`` is not a segment): a regular file of the segment size, whose
    first page header names the segment's start, this system and this segment size."""
    path = tgt.wal_path / name
    control = tgt.control
    try:
        info = path.lstat()
    except OSError:
        return "it left no file"
    if not is_segment_file_name(name):
        return None
    if not stat.S_ISREG(info.st_mode):
        return "it left something that is not a regular file"
    if info.st_size != control.xlog_seg_size:
        return f"it left {info.st_size} bytes, not a segment of {control.xlog_seg_size}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            header = os.read(fd, 40)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"it left a file that cannot be read ({exc.strerror})"
    if len(header) < 40:
        return "it left a file too short for a page header"
    pageaddr, = struct.unpack_from("<Q", header, 8)
    sysid, seg_size = struct.unpack_from("<QI", header, 24)
    start = int(WalSegment.from_file_name(name, control.xlog_seg_size).start(control.xlog_seg_size))
    if pageaddr != start or sysid != control.system_identifier or seg_size != control.xlog_seg_size:
        return "it left a file that is not this segment of this cluster (its first page header differs)"
    return None


def remove_fetched(tgt: DataDirectory, names: list[str]) -> None:
    """Take the segments a refused rewind had fetched out of ``pg_wal`` again."""
    if not names:
        return
    with Directory.open(tgt.wal_path.resolve()) as wal:  # pg_wal may be a link (initdb -X)
        for name in names:
            wal.remove(name)


@attrs.frozen
class ArchiveProbe:
    name: str
    present: bool
    detail: str = ""  # why not, when the command failed in another way than a missing file


def probe_archive(names: list[str], command: str, owner: str, runner: CommandRunner, *,
                  timeout: float = COMMAND_TIMEOUT) -> list[ArchiveProbe]:
    """Whether the archive holds each file: ``command`` restores it into a private temporary
    directory (the owner's alone), which is removed afterwards; nothing reaches ``pg_wal``."""
    scratch = Path(tempfile.mkdtemp(prefix="pgrewindkit-probe-"))
    try:
        if os.geteuid() == 0:  # the command runs as the owner, who must write there
            user = pwd.getpwnam(owner)
            os.chown(scratch, user.pw_uid, user.pw_gid)
        probes = []
        for name in names:
            path = scratch / name
            code, lines = _run(runner, shell_argv(command, name, path, timeout), owner)
            info = path.lstat() if code == 0 and os.path.lexists(path) else None
            present = info is not None and stat.S_ISREG(info.st_mode)  # a link the command left is no file
            probes.append(ArchiveProbe(name, present, "" if present else _why(code, lines)))
            path.unlink(missing_ok=True)
        return probes
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def newer_history_files(after: int, command: str, owner: str, runner: CommandRunner, *,
                        limit: int = 32) -> list[str]:
    """History files of timelines after ``after`` the archive holds, probed one by one as
    ``recovery_target_timeline = 'latest'`` looks for them (up to the first missing)."""
    found = []
    for timeline in range(after + 1, after + 1 + limit):
        name = history_file_name(timeline)
        if not probe_archive([name], command, owner, runner, timeout=60)[0].present:
            break
        found.append(name)
    return found


def probe_plan(plan: RewindPlan, target: str | os.PathLike[str], command: str, *,
               runner: CommandRunner = run_command, timeout: float = COMMAND_TIMEOUT) -> RewindPlan:
    """The plan of ``target`` with what the archive holds (``with_archive``), probed with the restore
    ``command`` as the target's owner, never writing into ``pg_wal``: each segment it misses, each
    abandoned history file of its ``pg_wal``, and the history files after the source's timeline
    (what ``recovery_target_timeline = 'latest'`` would follow)."""
    owner = owner_of(Path(target).absolute())
    problem = placeholder_problem(command)
    if problem is not None:
        raise CommandError(problem, kind=Kind.RESTORE_COMMAND_INVALID)
    lineage = source_lineage(plan)
    newer = newer_history_files(lineage[1], command, owner, runner) if lineage is not None else []
    names = [s.name for s in plan.wal_missing] + [h.name for h in plan.abandoned_history_files if h.name not in newer]
    found = {p.name for p in probe_archive(names, command, owner, runner, timeout=timeout) if p.present}
    return with_archive(plan, [*names, *newer], found | set(newer))


# -- WAL that has not reached the archive -----------------------------------------------------------------


def archive_ready(tgt: DataDirectory, names: list[str], command: str, runner: CommandRunner, *,
                  timeout: float = COMMAND_TIMEOUT) -> list[str]:
    """Archive each file with the target's ``archive_command`` and mark it ``.done``; the first
    failure raises ``CommandError`` (those archived before it stay archived and marked)."""
    owner = owner_of(tgt.path)
    done = []
    with Directory.open((tgt.wal_path / "archive_status").resolve()) as status:
        for name in names:
            code, lines = _run(runner, shell_argv(command, name, tgt.wal_path / name, timeout), owner)
            if code != 0:
                raise CommandError(f"archive_command failed for {name} ({_why(code, lines)})",
                                   output="\n".join(lines))
            status.rename(f"{name}.ready", f"{name}.done")
            done.append(name)
            log.info("archived %s", name)
    return done
