"""What a rewind keeps aside before its point of no return, and puts back: the target's
``global/pg_control`` and its configuration files (those ``postgresql.conf`` includes from inside
the data directory too), copied outside the data directory, readable by its owner only.

Where, unless a directory is given: under the state directory (``$PGREWINDKIT_STATE_DIR``, else
``/var/lib/pgrewindkit`` for root, else ``$XDG_STATE_HOME/pgrewindkit`` or
``~/.local/state/pgrewindkit``), never beside PGDATA. The state directory and a ``--backup-dir``
must be ours and writable by nobody else (``safefs.private_directory``); the files are read from
the data directory and written back through ``safefs`` (no link followed, created under random
names), the copies are ours (0600), and each file goes back with its own owner and mode:

* ``backups/<target>-<time>-<random>/``: pg_control and configuration, removed after a success
  unless asked to keep them;
* ``logs/<target>-<time>-start.log``: the server's log of a failback's start, kept;
* ``set-aside/<target>-<time>-<random>/``: history files of abandoned timelines taken out of pg_wal;
* ``locks/<device>-<inode>.lock``: one run at a time per target (``lock``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
from pathlib import Path, PurePosixPath

import attrs

from pgrewindkit.actions.safefs import Directory, private_directory
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import CONFIG_FILES, settings_changes, unquote
from pgrewindkit.errors import PgRewindKitError, UnsafePathError

MANIFEST = "manifest.json"  # in the backup directory: the data directory, and each file kept with owner and mode
_INCLUDE = re.compile(r"""^\s*(include_if_exists|include_dir|include)\b\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#]+)""")


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


@attrs.frozen
class KeptFile:
    """One file of the data directory kept aside: where it was, under which name it was kept, and
    the owner and mode it goes back with."""

    relative: str  # below the data directory, "/"-separated
    stored: str  # its name in the backup directory
    mode: int
    uid: int
    gid: int


@attrs.frozen
class Manifest:
    pgdata: Path  # resolved
    files: tuple[KeptFile, ...]

    def to_json(self) -> str:
        return json.dumps({"pgdata": str(self.pgdata), "files": [attrs.asdict(f) for f in self.files]}, indent=1)

    @classmethod
    def load(cls, backup: Path) -> Manifest:
        with Directory.open(backup) as where:
            data = json.loads(where.read(MANIFEST))
        return cls(Path(data["pgdata"]), tuple(KeptFile(**f) for f in data["files"]))


def keep_aside(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None) -> Path:
    """Copy ``global/pg_control`` and the configuration files (those ``postgresql.conf`` includes
    from inside the data directory too) aside; the directory they went to."""
    pgdata = tgt.path.resolve()
    with Directory.open(pgdata) as root:
        relatives = ["global/pg_control", *CONFIG_FILES, *included_files(root)]
        with _backup_place(tgt, backup_dir) as where:
            kept = _copy_out(root, where, relatives)
            where.write(MANIFEST, Manifest(pgdata, tuple(kept)).to_json().encode())
            where.fsync()
            return where.path


def _backup_place(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None) -> Directory:
    if backup_dir:
        return private_directory(Path(backup_dir).absolute())
    with private_directory(state_directory() / "backups") as parent:
        return parent.make_private_subdir(f"{tgt.path.name}-{_stamp()}-")


def _copy_out(root: Directory, where: Directory, relatives: list[str]) -> list[KeptFile]:
    kept: list[KeptFile] = []
    names: set[str] = set()
    for relative in dict.fromkeys(relatives):
        folder, _, name = relative.rpartition("/")
        try:
            with root.walk(folder) as directory:
                if directory.lstat(name) is None:
                    continue
                data, info = directory.read_entry(name)
        except UnsafePathError:
            raise
        except PgRewindKitError:
            if relative in ("global/pg_control", *CONFIG_FILES):
                raise
            continue  # an include that is gone or unreadable: PostgreSQL will say so, not us
        stored = name if name not in names else f"{len(kept)}-{name}"
        names.add(stored)
        where.write(stored, data, mode=0o600)
        kept.append(KeptFile(relative, stored, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid))
    return kept


def included_files(root: Directory, relative: str = "postgresql.conf", depth: int = 0) -> list[str]:
    """Files ``postgresql.conf`` includes (``include``, ``include_if_exists``, every ``.conf`` of an
    ``include_dir``, nested up to 10 deep as PostgreSQL allows) from inside the data directory,
    relative to it: pg_rewind copies those from the source too."""
    found: list[str] = []
    if depth > 10:
        return found
    folder, _, name = relative.rpartition("/")
    try:
        with root.walk(folder) as directory:
            text = directory.read(name).decode("utf-8", "replace")
    except PgRewindKitError:
        return found
    for line in text.splitlines():
        match = _INCLUDE.match(line)
        if match is None:
            continue
        inside = _inside(folder, unquote(match[2]), root.path)
        if inside is None:
            continue
        if match[1] == "include_dir":
            found += [f"{inside}/{n}" for n in _conf_files(root, inside)]
        else:
            found.append(inside)
    for path in list(found):
        found += included_files(root, path, depth + 1)
    return found


def _inside(folder: str, value: str, pgdata: Path) -> str | None:
    """``value`` (relative to the including file's directory, or absolute) as a path relative to the
    data directory, or None when it is outside (pg_rewind does not touch it)."""
    path = PurePosixPath(value) if value.startswith("/") else PurePosixPath("/", str(pgdata), folder, value)
    parts: list[str] = []
    for part in path.parts[1:]:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    base = list(pgdata.parts[1:])
    if parts[:len(base)] != base or len(parts) == len(base):
        return None
    return "/".join(parts[len(base):])


def _conf_files(root: Directory, relative: str) -> list[str]:
    try:
        with root.walk(relative) as directory:
            return [n for n in directory.names() if n.endswith(".conf") and not n.startswith(".")
                    and (info := directory.lstat(n)) is not None and stat.S_ISREG(info.st_mode)]
    except PgRewindKitError:
        return []


def restore_configuration(backup: Path | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """After a rewind: put the target's own configuration back over the source's copies, each file
    with its own owner and mode; the files put back, and how the source's copies differed."""
    if backup is None:
        return (), ()
    manifest = Manifest.load(backup)
    kept, differences = [], []
    with Directory.open(backup) as where, Directory.open(manifest.pgdata) as root:
        for item in manifest.files:
            if item.relative == "global/pg_control":
                continue
            ours = where.read(item.stored)
            copied = _current(root, item.relative)
            if copied != ours:
                differences += _differences(item.relative, ours, copied)
            _put(root, item, ours)
            kept.append(item.relative)
    return tuple(kept), tuple(differences)


def _current(root: Directory, relative: str) -> bytes:
    """What the rewind left at ``relative`` (empty when pg_rewind removed it)."""
    folder, _, name = relative.rpartition("/")
    try:
        with root.walk(folder) as directory:
            return directory.read(name) if directory.lstat(name) is not None else b""
    except PgRewindKitError:
        return b""


def _differences(relative: str, ours: bytes, theirs: bytes) -> list[str]:
    # an included file holds settings as postgresql.conf does
    kind = relative if relative in CONFIG_FILES else "postgresql.conf" if relative.endswith(".conf") else relative
    changes = settings_changes(ours.decode("utf-8", "replace"), theirs.decode("utf-8", "replace"), kind)
    return [f"{relative}: {change}" for change in changes]


def _put(root: Directory, item: KeptFile, data: bytes) -> None:
    folder, _, name = item.relative.rpartition("/")
    with root.walk(folder, create=(0o700, root.owner())) as directory:
        directory.write(name, data, mode=item.mode, owner=(item.uid, item.gid))
        directory.fsync()

