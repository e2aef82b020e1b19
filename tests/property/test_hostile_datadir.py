"""A fuzz run over the inputs of the read side (issue 11): the shipped failover pair with one of its
files replaced by something hostile (mutated bytes, a FIFO, ``/dev/zero``, a huge sparse file, a
bad name, a dangling ``pg_wal``). ``read_control_file``, ``open_wal().scan``, ``inspect_datadir``
and ``plan_rewind`` return, within a time limit, or raise a pgrewindkit error; and nothing in either
directory is written."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pgrewindkit import PgRewindKitError, inspect_datadir, plan_rewind, read_control_file
from pgrewindkit.cluster.source import LocalSource
from pgrewindkit.formats.crc import crc32c
from pgrewindkit.formats.wal import open_wal
from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS
from tests.support import limits

SECONDS = 20  # per call; a healthy one takes well under a second

# The files (and directories) of the target and of the source that a test puts in a hostile shape
TARGETS = ["global/pg_control", "pg_wal/00000001000000000000000A", "pg_wal/00000001000000000000000C",
           "backup_label", "tablespace_map", "postgresql.auto.conf", "postmaster.pid", "pg_wal", "global"]
SOURCE_TARGETS = ["global/pg_control", "pg_wal/00000002.history", "pg_wal/00000002000000000000000B"]
SHAPES = ["flip", "flip_crc", "random", "fifo", "dev_zero", "sparse", "empty", "directory", "dangling"]


def time_limit(seconds: int = SECONDS) -> AbstractContextManager[None]:
    return limits.time_limit(seconds)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry's type, size, modification time and link target, not following links."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            target = str(path.readlink()) if path.is_symlink() else ""
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns, target)
    return found


def _fix_crc(data: bytearray) -> None:
    layout = CONTROL_LAYOUTS.get(int.from_bytes(data[8:12], "little"))
    if layout is not None:
        at = layout.crc_offset
        data[at:at + 4] = crc32c(bytes(data[:at])).to_bytes(4, "little")


def _make_hostile(path: Path, shape: str, flips: list[tuple[int, int]], noise: bytes) -> None:
    """Replace ``path`` (never write through it: the copies are hard links to the pristine files)."""
    original = path.read_bytes() if path.is_file() else b""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if shape in ("flip", "flip_crc"):
        data = bytearray(original or noise)
        for offset, mask in flips:
            if data:
                data[offset % len(data)] ^= mask
        if shape == "flip_crc" and len(data) == 8192:
            _fix_crc(data)
        path.write_bytes(bytes(data))
    elif shape == "random":
        path.write_bytes(noise)
    elif shape == "fifo":
        os.mkfifo(path)
    elif shape == "dev_zero":
        path.symlink_to("/dev/zero")
    elif shape == "sparse":
        with path.open("wb") as file:
            file.truncate(1 << 40)
    elif shape == "empty":
        path.write_bytes(b"")
    elif shape == "directory":
        path.mkdir()
    elif shape == "dangling":
        path.symlink_to(path.parent / "nowhere")


def _copy(pristine: Path, work: Path) -> tuple[Path, Path]:
    if work.exists():
        shutil.rmtree(work)
    for name in ("old-primary", "new-primary"):
        shutil.copytree(pristine / name, work / name, copy_function=os.link, symlinks=True)
    return work / "new-primary", work / "old-primary"


def _call(what: object, *args: object) -> None:
    with time_limit():
        try:
            result = what(*args)  # type: ignore[operator]
            if hasattr(result, "__iter__") and not isinstance(result, (bytes, str)):
                for _ in result:
                    pass
        except PgRewindKitError:
            pass


def _scan(path: Path) -> Iterator[object]:
    control = read_control_file(path)
    yield from open_wal(path).scan(control.checkpoint_copy.redo)


# no shrinking: an example takes a second, and the failing one is printed as generated
@settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(in_source=st.booleans(), index=st.integers(0, 100), shape=st.sampled_from(SHAPES),
       flips=st.lists(st.tuples(st.integers(0, 1 << 24), st.integers(1, 255)), min_size=1, max_size=6),
       noise=st.binary(max_size=300), bad_name=st.booleans())
def test_nothing_but_pgrewindkit_errors_escape(failover_pair: Path, tmp_path: Path, in_source: bool, index: int,
                                               shape: str, flips: list[tuple[int, int]], noise: bytes,
                                               bad_name: bool) -> None:
    source, target = _copy(failover_pair, tmp_path / "work")
    hostile = source if in_source else target
    names = SOURCE_TARGETS if in_source else TARGETS
    _make_hostile(hostile / names[index % len(names)], shape, flips, noise)
    if bad_name and (hostile / "pg_wal").is_dir():
        (hostile / "pg_wal" / "0000000100000000FFFFFFFF").write_bytes(noise)
        (hostile / "pg_wal" / os.fsdecode(b"\xff\x1b[2J.history")).write_bytes(noise)
    before = (_snapshot(source), _snapshot(target))
    _call(read_control_file, hostile)
    _call(_scan, hostile)
    _call(inspect_datadir, hostile)
    _call(plan_rewind, LocalSource(source) if not in_source else source, target)
    assert (_snapshot(source), _snapshot(target)) == before
