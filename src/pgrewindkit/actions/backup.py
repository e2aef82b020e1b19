"""What a rewind keeps aside before its point of no return, and puts back: the target's
``global/pg_control`` and its configuration files (those ``postgresql.conf`` includes from inside
the data directory too), copied outside the data directory, readable by its owner only."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import CONFIG_FILES, parse_settings, settings_changes

LIST = "files.txt"  # in the backup directory: the original path of every file kept, one a line


def keep_aside(tgt: DataDirectory, backup_dir: str | os.PathLike[str] | None) -> Path:
    """Copy ``global/pg_control`` and the configuration files aside; the directory they went to."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    where = Path(backup_dir) if backup_dir else tgt.path.parent / f"{tgt.path.name}.pgrewindkit-{stamp}"
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
