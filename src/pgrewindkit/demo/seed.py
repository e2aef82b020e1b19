"""The seed's failover and failback (``../shared/seed``: a 2016 field report on PostgreSQL 9.5), played
step for step on throwaway servers of any major: ``demo --live`` and the end-to-end tests use it.

server1 is a primary with ``wal_log_hints``, archiving to its own archive and keeping WAL for its
standby; server2 is a ``pg_basebackup`` of it, a standby with the seed's recovery configuration
(``standby_mode``, ``primary_conninfo``, ``restore_command`` from server1's archive,
``recovery_target_timeline = 'latest'``, a trigger file) in the form its major reads. Touching the
trigger file promotes server2 (``pg_ctl promote`` from 16, which has no trigger file), which then
takes ``pgbench -i -s 10``; server1 is stopped. Then one ``failback`` call does what the seed's
operator did by hand: pg_rewind, a recovery configuration, server1's own port and archive_command
kept, started, streaming."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from pgrewindkit.actions.failback import FailbackResult, Step, failback
from pgrewindkit.actions.recovery import recovery_config, write_recovery_config
from pgrewindkit.cluster.pgconf import parse_settings, quote
from pgrewindkit.demo.harness import Cluster, PgBinaries, chown_postgres, run_pg
from pgrewindkit.formats.controlfile import read_control_file
from pgrewindkit.majors import for_major

Say = Callable[[str], None]


@attrs.define
class SeedServers:
    """The seed's two servers and their archives, all inside ``work``."""

    work: Path
    server1: Cluster  # the primary, then the old primary to fail back
    server2: Cluster  # its standby, then the new primary
    archive1: Path
    archive2: Path
    trigger: Path | None  # server2's trigger file (None from 16: promoted with pg_ctl)

    def stop_all(self) -> None:
        """Every server down, by data directory, whatever each one's flag says (a failed failback
        may have started server1)."""
        for cluster in (self.server1, self.server2):
            if cluster.pgdata.exists():
                cluster.stop("immediate")


def servers(bins: PgBinaries, work: Path, ports: tuple[int, int] = (5435, 5445)) -> SeedServers:
    """The seed's servers (nothing made yet); ``ports`` only name their sockets in ``work``."""
    archives = []
    for name in ("server1-archive", "server2-archive"):
        archive = work / name
        archive.mkdir()
        chown_postgres(archive)
        archives.append(archive)
    trigger = work / "trigger_file_0" if for_major(bins.major).standby.trigger_file_setting else None
    return SeedServers(work, Cluster(bins, work, "server1", port=ports[0]),
                       Cluster(bins, work, "server2", port=ports[1]), archives[0], archives[1], trigger)


def primary(seed: SeedServers) -> None:
    """Steps 1-4: server1 with the seed's postgresql.conf, taking replication connections."""
    server1 = seed.server1
    server1.initdb(wal_segsize_mb=None)  # the seed's 16 MB segments
    server1.set(**_seed_settings(server1, seed.archive1))  # the harness lets local replication in
    server1.start()


def standby(seed: SeedServers) -> None:
    """Steps 5-8: server2 from ``pg_basebackup`` of server1, with its own port and archive, and the
    seed's recovery configuration; started and streaming."""
    server1, server2 = seed.server1, seed.server2
    basebackup = server1.bins.program("pg_basebackup")
    if basebackup.exists():
        run_pg([basebackup, "-D", server2.pgdata, "-X", "stream", "-h", server1.socket_dir, "-p", str(server1.port),
                "-U", "postgres"], env=server1.bins.env)
    else:  # a server-only install (the npm servers): a cold copy is the same base backup
        server1.stop()
        port = server2.port
        server2 = seed.server2 = server1.cold_copy(seed.work, server2.name)
        server2.port = port
        server1.start()
    server2.set(**_seed_settings(server2, seed.archive2))
    config = recovery_config(server2.major, primary_conninfo=f"host={server1.socket_dir} port={server1.port} "
                             "user=postgres application_name=server2",
                             restore_command=f"cp {seed.archive1}/%f %p", target_timeline="latest",
                             trigger_file=str(seed.trigger) if seed.trigger else None,
                             current_auto_conf=_read(server2.pgdata / "postgresql.auto.conf"))
    write_recovery_config(server2.pgdata, config)
    server2.start()
    server1.wait_for(lambda: server1.query_one("SELECT count(*) FROM pg_stat_replication "
                                               "WHERE state = 'streaming'") == 1)


def failover(seed: SeedServers, *, scale: int = 10) -> None:
    """Section II.1: promote server2 by its trigger file, write on it, stop server1."""
    server2 = seed.server2
    if seed.trigger is not None:
        seed.trigger.touch()
        chown_postgres(seed.trigger)  # the startup process removes it once promoted
        server2.wait_for(lambda: server2.query_one("SELECT NOT pg_is_in_recovery()") is True)
    else:
        server2.promote()
    pgbench(server2, scale)
    seed.server1.stop()


def pgbench(cluster: Cluster, scale: int) -> None:
    """``pgbench -i -s SCALE``; where a major's programs have no pgbench (the npm servers), its
    accounts table made with SQL instead."""
    program = cluster.bins.program("pgbench")
    if program.exists():
        run_pg([program, "-i", "-q", "-s", str(scale), "-h", cluster.socket_dir, "-p", str(cluster.port),
                "-U", "postgres", "postgres"], env=cluster.bins.env)
        return
    cluster.execute("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
                    f"INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, {scale * 100000}) g")


def fail_back(seed: SeedServers, *, on_step: Callable[[Step], None] | None = None,
              timeout: float = 60) -> FailbackResult:
    """The pgrewindkit call that replaces the seed's steps II.2-5: server1 becomes a streaming
    standby of server2, fetching WAL from server2's archive if it needs any."""
    server1, server2 = seed.server1, seed.server2
    result = failback(server1.pgdata, server2.conninfo(), restore_command=f"cp {seed.archive2}/%f %p",
                      bindir=str(server1.bins.program("pg_ctl").parent), timeout=timeout, on_step=on_step,
                      wait_for_checkpoint=timeout, application_name="server1")
    server1.running = True
    return result


@attrs.frozen
class SeedCheck:
    """What the seed's section II.6 checked, and what its operator had to fix by hand."""

    streaming: bool  # server2's pg_stat_replication shows server1 streaming
    in_recovery: bool
    timeline: int  # the timeline server1 has replayed up to (pg_control's minRecoveryPointTLI) ...
    source_timeline: int  # ... and server2's
    port_kept: bool
    archive_command_kept: bool
    recovery_settings: dict[str, str]  # server1's recovery configuration as written
    new_write_arrived: bool
    accounts: int  # pgbench_accounts rows server1 now holds


def check(seed: SeedServers, *, scale: int = 10) -> SeedCheck:
    """Section II.6, checked: server1 streams from server2 on server2's timeline with its own port
    and archive_command, and a write made on server2 afterwards arrives."""
    server1, server2 = seed.server1, seed.server2
    streaming = server2.query_one("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'server1' "
                                  "AND state = 'streaming'") == 1
    server2.execute("CREATE TABLE after_failback (note text)", "INSERT INTO after_failback VALUES ('arrived')")
    arrived = True
    try:
        server1.wait_for(lambda: server1.query_one("SELECT count(*) FROM after_failback") == 1)
    except Exception:  # not there in time (a timeout, or the table never replayed)
        arrived = False
    settings = parse_settings(_read(server1.pgdata / "postgresql.conf"))
    recovery_file = "recovery.conf" if for_major(server1.major).uses_recovery_conf else "postgresql.auto.conf"
    return SeedCheck(
        streaming=streaming, in_recovery=server1.query_one("SELECT pg_is_in_recovery()") is True,
        timeline=read_control_file(server1.pgdata).min_recovery_point_tli,
        source_timeline=read_control_file(server2.pgdata).timeline,
        port_kept=settings.get("port") == str(server1.port),
        archive_command_kept=str(seed.archive1) in settings.get("archive_command", ""),
        recovery_settings=parse_settings(_read(server1.pgdata / recovery_file)),
        new_write_arrived=arrived, accounts=int(server1.query_one("SELECT count(*) FROM pgbench_accounts")))


def _seed_settings(cluster: Cluster, archive: Path) -> dict[str, object]:
    return {
        "port": cluster.port,
        "wal_level": for_major(cluster.major).programs.replica_wal_level,
        "wal_log_hints": "on",
        "archive_mode": "on",
        "archive_command": quote(f"test ! -f {archive}/%f && cp %p {archive}/%f"),
        "max_wal_senders": 3,
        **for_major(cluster.major).server.keep_wal(1024),  # the seed's wal_keep_segments = 64
        "hot_standby": "on",
    }


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""

