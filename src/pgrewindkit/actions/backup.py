"""What a rewind keeps aside before its point of no return, and puts back: the target's
``global/pg_control`` and its configuration files (those ``postgresql.conf`` includes from inside
the data directory too), copied outside the data directory, readable by its owner only.

Where, unless a directory is given: under the state directory (``$PGREWINDKIT_STATE_DIR``, else
``/var/lib/pgrewindkit`` for root, else ``$XDG_STATE_HOME/pgrewindkit`` or
``~/.local/state/pgrewindkit``), never beside PGDATA:

* ``backups/<target>-<time>-<random>/``: pg_control and configuration, removed after a success
  unless asked to keep them;
* ``logs/<target>-<time>-start.log``: the server's log of a failback's start, kept;
* ``set-aside/<target>-<time>-<random>/``: history files of abandoned timelines taken out of pg_wal.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from pgrewindkit.actions.safefs import private_directory
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import CONFIG_FILES, parse_settings, settings_changes
from pgrewindkit.errors import UnsafePathError

LIST = "files.txt"  # in the backup directory: the original path of every file kept, one a line


def state_directory() -> Path:
    """Where backups, start logs and files set aside go (see the module's documentation)."""
    if os.environ.get("PGREWINDKIT_STATE_DIR"):
        return Path(os.environ["PGREWINDKIT_STATE_DIR"]).absolute()
    if os.geteuid() == 0:
        return Path("/var/lib/pgrewindkit")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).absolute() / "pgrewindkit"


def _stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")


def run_directory(kind: str, tgt: DataDirectory) -> Path:
    """A new private directory ``<state>/<kind>/<target>-<time>-<random>`` (0700, ours)."""
    with private_directory(state_directory() / kind) as parent, \
            parent.make_private_subdir(f"{tgt.path.name}-{_stamp()}-") as made:
        return made.path


def start_log(tgt: DataDirectory) -> Path:
    """A new, empty ``<state>/logs/<target>-<time>-start.log`` that the target's owner may append to
    (pg_ctl -l runs as the owner): the directory may be traversed, not listed, by others."""
    owner = tgt.path.stat()
    with private_directory(state_directory()) as state:
        os.fchmod(state.fd, 0o711)  # searchable on the way to the log, not listable
    _reachable(state_directory() / "logs", owner.st_uid, owner.st_gid)
    with private_directory(state_directory() / "logs") as logs:
        os.fchmod(logs.fd, 0o711)
        name = f"{tgt.path.name}-{_stamp()}-start.log"
        if logs.lstat(name) is None:
            logs.write(name, b"", mode=0o600, owner=(tgt.path.stat().st_uid, tgt.path.stat().st_gid))
        return logs.path / name


def _reachable(directory: Path, uid: int, gid: int) -> None:
    """Refuse a log directory the data directory's owner cannot reach (pg_ctl opens the log as
    that owner): every existing directory on the way must be searchable by it."""
    for parent in [directory, *directory.parents]:
        try:
            info = parent.stat()
        except FileNotFoundError:
            continue
        bit = 0o100 if info.st_uid == uid else 0o010 if info.st_gid == gid else 0o001
        if uid != 0 and not info.st_mode & bit:
            raise UnsafePathError(f"the data directory's owner cannot reach {directory} for the start log: set "
                                  "PGREWINDKIT_STATE_DIR to a directory it may reach", path=parent)


def remove_backup(backup: Path | None) -> None:
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def keep_aside(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None) -> Path:
    """Copy ``global/pg_control`` and the configuration files aside; the directory they went to."""
    where = Path(backup_dir).absolute() if backup_dir else run_directory("backups", tgt)
    files = [tgt.path / "global" / "pg_control", *(tgt.path / name for name in CONFIG_FILES),
             *_included_files(tgt)]
    copy_aside(files, where)
    (where / LIST).write_text("".join(f"{p}\n" for p in files if p.exists()))
    _give_to_owner(where, tgt.path)
    return where


def copy_aside(paths: list[Path], backup_dir: Path) -> list[tuple[Path, Path]]:
    """Copy files aside (keeping their modes); the pairs say where each went."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in paths:
        if path.exists():
            copy = backup_dir / path.name
            shutil.copy2(path, copy)
            kept.append((path, copy))
    return kept


def _kept(backup: Path) -> list[Path]:
    return [Path(line) for line in (backup / LIST).read_text().splitlines()]


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
        settings = parse_settings(tgt.read_text("postgresql.conf") or "")
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


def restore_configuration(backup: Path | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """After a rewind: put the target's own configuration back over the source's copies; the files
    put back, and how the source's copies differed."""
    if backup is None:
        return (), ()
    kept, differences = [], []
    for original in _kept(backup):
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


def put_back(backup: Path) -> None:
    """After a failed rewind: every file kept, ``pg_control`` too, back where it was."""
    for original in _kept(backup):
        shutil.copy2(backup / original.name, original)
