"""The seed's story on real PostgreSQL 15 servers: failover, diverging writes, WAL recycled on the
old primary (so it must come from its archive), then one failback call."""

from __future__ import annotations

import time
from collections.abc import Iterator

import attrs
import pytest

from pgrewindkit.actions.failback import failback
from pgrewindkit.actions.rewind import rewind
from pgrewindkit.cluster.pgconf import parse_settings
from pgrewindkit.errors import RewindError
from tests.support import pgbinaries
from tests.support.cluster import Cluster, chown_postgres, make_workdir, new_cluster, tree_hash
from tests.support.scenarios import wait_replayed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("state_directory")]


@attrs.define
class Seed:
    old: Cluster  # server1: the old primary
    new: Cluster  # server2: the promoted standby
    old_archive: str
    new_archive: str


@pytest.fixture
def seed(pg15: pgbinaries.PgBinaries) -> Iterator[Seed]:
    archive_root = make_workdir("pgrk15-archive-")
    old_archive, new_archive = archive_root / "server1", archive_root / "server2"
    for path in (old_archive, new_archive):
        path.mkdir()
        chown_postgres(path)
    old = new_cluster(pg15)
    old.port = 54335
    old.set(port=old.port, wal_log_hints="on", archive_mode="on", archive_command=f"'cp %p {old_archive}/%f'",
            max_wal_size="'32MB'", min_wal_size="'2MB'", wal_keep_size=0)
    old.start()
    old.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text)",
                "INSERT INTO accounts SELECT g, 'before failover' FROM generate_series(1, 1000) g")
    old.stop()
    new = old.cold_copy(make_workdir("pgrk15-new-"))
    new.port = 54336
    new.set(port=new.port, archive_command=f"'cp %p {new_archive}/%f'")
    new.make_standby_of(old)
    old.start()
    new.start()
    old.execute("INSERT INTO accounts VALUES (1001, 'replicated')", "CHECKPOINT")
    wait_replayed(new, old.query_one("SELECT pg_current_wal_insert_lsn()::text"))
    new.promote()
    new.execute("INSERT INTO accounts VALUES (2001, 'on the new primary')", "CHECKPOINT")
    old.execute("INSERT INTO accounts VALUES (3001, 'lost on the old primary')",
                *(["SELECT pg_switch_wal()", "INSERT INTO accounts VALUES (-1, 'x')", "DELETE FROM accounts "
                   "WHERE id = -1", "CHECKPOINT"] * 6))
    time.sleep(1.0)  # let the archiver catch up
    old.stop()
    yield Seed(old, new, str(old_archive), str(new_archive))
    old.destroy()
    new.destroy()
    import shutil

    shutil.rmtree(archive_root, ignore_errors=True)


def test_failback_end_to_end(seed: Seed) -> None:
    old, new = seed.old, seed.new
    steps: list[str] = []
    result = failback(old.pgdata, new.conninfo(), restore_command=f"cp {seed.old_archive}/%f %p",
                      on_step=lambda s: steps.append(s.name), timeout=60)
    old.running = True
    assert result.streaming and steps == ["rewind", "recovery configuration", "start", "streaming"]
    assert result.rewind.outcome == "rewound" and result.rewind.fetched_wal, "WAL should have come from the archive"
    settings = parse_settings((old.pgdata / "postgresql.conf").read_text())
    assert settings["port"] == str(old.port)
    assert seed.old_archive in settings["archive_command"]
    assert any("port" in d for d in result.rewind.config_differences)
    assert old.query_one("SELECT pg_is_in_recovery()") is True
    owners = {r["owner"] for r in old.query("SELECT owner FROM accounts WHERE id > 1000")}
    assert "lost on the old primary" not in owners and "on the new primary" in owners
    new.execute("INSERT INTO accounts VALUES (4001, 'after the failback')")
    wait_replayed(old, new.query_one("SELECT pg_current_wal_insert_lsn()::text"))
    assert old.query_one("SELECT owner FROM accounts WHERE id = 4001") == "after the failback"


def test_refuses_a_running_target_and_missing_wal(seed: Seed) -> None:
    old, new = seed.old, seed.new
    old.start()
    pid = (old.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
    with pytest.raises(RewindError) as info:
        rewind(old.pgdata, new.pgdata)
    assert info.value.kind == "target_running"
    assert old.query_one("SELECT 1") == 1 and (old.pgdata / "postmaster.pid").read_text().startswith(pid + "\n")
    old.stop()
    new.stop()
    before = tree_hash(old.pgdata)
    with pytest.raises(RewindError) as info:
        rewind(old.pgdata, new.pgdata, restore_command=None)
    assert info.value.kind == "wal_missing" and "no restore command" in str(info.value)
    assert info.value.state == "unchanged" and tree_hash(old.pgdata) == before
    # the archive lacks one of the segments the plan lists: those fetched before it are removed again
    with pytest.raises(RewindError) as info:
        rewind(old.pgdata, new.pgdata, restore_command=f"cp {seed.new_archive}/%f %p")
    assert info.value.kind == "wal_missing" and "restore command failed for" in str(info.value)
    assert tree_hash(old.pgdata) == before
    with pytest.raises(RewindError) as info:
        rewind(old.pgdata, new.pgdata, restore_command=f"cp {seed.old_archive}/%f %p %r")
    assert info.value.kind == "restore_command_invalid" and tree_hash(old.pgdata) == before


def test_source_unreachable(seed: Seed) -> None:
    from pgrewindkit.errors import FailbackError

    before = tree_hash(seed.old.pgdata)
    with pytest.raises(FailbackError) as info:
        failback(seed.old.pgdata, f"host={seed.new.socket_dir} port=1 user=postgres password=hunter2-pw",
                 timeout=5)
    assert "hunter2-pw" not in str(info.value) and info.value.kind == "source_unavailable"
    assert tree_hash(seed.old.pgdata) == before


def test_pg_rewind_killed_mid_run(pg15: pgbinaries.PgBinaries) -> None:
    """pg_rewind dies while copying: the error says so, and pg_control and the configuration are as before."""
    import os
    import pwd
    import signal
    import subprocess
    from collections.abc import Callable, Mapping, Sequence

    from tests.integration.test_plan_vs_pg_rewind import BASIC
    from tests.support.scenarios import diverged

    pair = diverged(pg15, setup=BASIC["setup"], common=BASIC["common"], on_target=BASIC["on_target"],
                    on_source=(*BASIC["on_source"], "CREATE TABLE filler AS SELECT repeat('f', 500) "
                               "FROM generate_series(1, 200000)"))
    control_before = (pair.target.pgdata / "global" / "pg_control").read_bytes()
    conf_before = (pair.target.pgdata / "postgresql.conf").read_text()

    def killing_runner(argv: Sequence[str], *, env: Mapping[str, str], user: str | None,
                       on_line: Callable[[str], None], stdin_devnull: bool = True) -> int:
        entry = pwd.getpwnam(user or "postgres")
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []} if os.geteuid() == 0 else {}
        proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, **as_user)  # type: ignore[call-overload]
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode().rstrip("\n")
            on_line(line)
            if "kB (" in line and "copied" in line:
                proc.send_signal(signal.SIGKILL)
                break
        return int(proc.wait())

    try:
        with pytest.raises(RewindError) as info:
            rewind(pair.target.pgdata, pair.source.pgdata, runner=killing_runner)
        assert "partially rewound" in info.value.state and info.value.backup is not None
        assert (pair.target.pgdata / "global" / "pg_control").read_bytes() == control_before
        assert (pair.target.pgdata / "postgresql.conf").read_text() == conf_before
    finally:
        pair.destroy()


def test_rewind_of_a_crashed_target(pg15: pgbinaries.PgBinaries) -> None:
    """The plan is provisional (target_not_cleanly_shut_down); pg_rewind 15 recovers the target in
    single-user mode and then rewinds it."""
    from tests.integration.test_plan_vs_pg_rewind import BASIC
    from tests.support.scenarios import diverged

    pair = diverged(pg15, stop_target="immediate", setup=BASIC["setup"], common=BASIC["common"],
                    on_source=BASIC["on_source"], on_target=BASIC["on_target"])
    try:
        result = rewind(pair.target.pgdata, pair.source.pgdata)
        assert result.outcome == "rewound" and result.plan.provisional
        from pgrewindkit import read_control_file

        assert read_control_file(pair.target.pgdata).state.description == "in archive recovery"
    finally:
        pair.destroy()
