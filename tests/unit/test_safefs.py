"""The file operations actions do inside a data directory never follow what its owner planted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pgrewindkit import FormatError, UnsafePathError
from pgrewindkit.actions.safefs import Directory, private_directory


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file the attacker would like us to overwrite or read."""
    path = tmp_path / "root-owned"
    path.write_text("precious\n")
    return path


@pytest.fixture
def pgdata(tmp_path: Path) -> Path:
    path = tmp_path / "pgdata"
    path.mkdir()
    return path


def test_write_replaces_a_planted_link_instead_of_writing_through_it(pgdata: Path, victim: Path) -> None:
    (pgdata / "postgresql.auto.conf").symlink_to(victim)
    with Directory.open(pgdata) as directory:
        directory.write("postgresql.auto.conf", b"primary_conninfo = 'password=secret'\n", mode=0o600)
    assert victim.read_text() == "precious\n"
    written = pgdata / "postgresql.auto.conf"
    assert not written.is_symlink() and stat.S_IMODE(written.stat().st_mode) == 0o600
    assert [p.name for p in pgdata.iterdir()] == ["postgresql.auto.conf"]  # no temporary left behind


def test_a_planted_temporary_name_cannot_be_guessed_or_followed(pgdata: Path, victim: Path) -> None:
    (pgdata / ".postgresql.auto.conf.pgrewindkit").symlink_to(victim)  # the old, predictable name
    with Directory.open(pgdata) as directory:
        directory.write("postgresql.auto.conf", b"x\n")
    assert victim.read_text() == "precious\n"


def test_reads_refuse_links_fifos_and_huge_files_without_blocking(pgdata: Path, victim: Path) -> None:
    (pgdata / "link").symlink_to(victim)
    os.mkfifo(pgdata / "fifo")
    (pgdata / "big").write_bytes(b"x" * 100)
    with Directory.open(pgdata) as directory:
        with pytest.raises(UnsafePathError):
            directory.read("link")
        with pytest.raises(UnsafePathError, match="not a regular file"):
            directory.read("fifo")
        with pytest.raises(FormatError, match="more than the 10"):
            directory.read("big", limit=10)
        assert directory.read("big") == b"x" * 100


def test_opening_refuses_a_link_anywhere_in_the_path(tmp_path: Path, pgdata: Path) -> None:
    (tmp_path / "alias").symlink_to(pgdata)
    with pytest.raises(UnsafePathError):
        Directory.open(tmp_path / "alias")
    (pgdata / "global").symlink_to(tmp_path)
    with Directory.open(pgdata) as directory, pytest.raises(UnsafePathError):
        directory.subdir("global")
    with pytest.raises(UnsafePathError):
        Directory.open("relative/path")


def test_names_are_single_components(pgdata: Path) -> None:
    with Directory.open(pgdata) as directory:
        for name in ("../escape", "a/b", "..", ""):
            with pytest.raises(UnsafePathError):
                directory.write(name, b"")


def test_remove_removes_the_link_not_its_target(pgdata: Path, victim: Path) -> None:
    (pgdata / "link").symlink_to(victim)
    with Directory.open(pgdata) as directory:
        assert directory.remove("link") and not directory.remove("link")
    assert victim.exists()


def test_private_directories_are_ours_alone(tmp_path: Path) -> None:
    with private_directory(tmp_path / "state" / "backups") as backups:
        first = backups.make_private_subdir("main-")
        second = backups.make_private_subdir("main-")
        assert first.path != second.path and stat.S_IMODE(os.fstat(first.fd).st_mode) == 0o700
        first.close()
        second.close()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafePathError, match="writable by nobody else"):
        private_directory(shared)
    (tmp_path / "link").symlink_to(tmp_path / "state")
    with pytest.raises(UnsafePathError):
        private_directory(tmp_path / "link" / "backups")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_written_files_get_the_owner_asked_for(pgdata: Path) -> None:
    with Directory.open(pgdata) as directory:
        directory.write("standby.signal", b"", owner=(12345, 12345))
    info = (pgdata / "standby.signal").stat()
    assert (info.st_uid, info.st_gid) == (12345, 12345)


def test_a_name_no_file_system_can_spell_is_refused(tmp_path: Path) -> None:
    """A lone surrogate (not an undecodable byte) is a pgrewindkit error, never UnicodeEncodeError."""
    with pytest.raises(UnsafePathError, match="can spell"):
        Directory.open(tmp_path / "\ud800")
    with pytest.raises(UnsafePathError):
        private_directory(tmp_path / "x\ud800y")
