"""Real failovers to test against: a primary, a standby made from a cold copy, a promotion."""

from __future__ import annotations

import time
from collections.abc import Mapping

import attrs

from pgrewindkit.majors.server import server_sql
from tests.support.cluster import Cluster, make_workdir, new_cluster
from tests.support.pgbinaries import PgBinaries


@attrs.define
class Failover:
    """``old`` was the primary; ``new`` was its standby and is now promoted (timeline + 1)."""

    old: Cluster
    new: Cluster
    switchpoint: str

    def destroy(self) -> None:
        self.old.destroy()
        self.new.destroy()


def wait_replayed(standby: Cluster, target: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not standby.replayed(target):
        if time.monotonic() > deadline:
            raise TimeoutError(f"standby did not replay up to {target}")
        time.sleep(0.05)


def streaming_pair(bins: PgBinaries, settings: Mapping[str, object], *, setup: tuple[str, ...] = (),
                   checksums: bool = False, prefix: str = "standby") -> tuple[Cluster, Cluster]:
    """A primary with ``setup`` run and ``settings`` set, and a standby made from a cold copy of it,
    both started and streaming. Both are destroyed if anything fails on the way."""
    primary = new_cluster(bins, checksums=checksums)
    standby: Cluster | None = None
    try:
        primary.set(**settings)
        primary.start()
        if setup:
            primary.execute(*setup)
        primary.stop()
        standby = primary.cold_copy(make_workdir(f"pgrk{bins.major}-{prefix}-"))
        standby.make_standby_of(primary)
        primary.start()
        standby.start()
    except BaseException:
        primary.destroy()
        if standby is not None:
            standby.destroy()
        raise
    return primary, standby


def failover(bins: PgBinaries, *, setup: tuple[str, ...] = (), before: tuple[str, ...] = (),
             **settings: object) -> Failover:
    """Primary with ``setup`` run, a streaming standby, ``before`` run and replayed, the primary
    stopped, the standby promoted. Both left running only when they are the new primary."""
    old, new = streaming_pair(bins, {"wal_log_hints": "on", **settings}, setup=setup)
    try:
        if before:
            old.execute(*before)
        replayed = fail_over(old, new)
    except BaseException:
        old.destroy()
        new.destroy()
        raise
    return Failover(old, new, replayed)


def fail_over(old: Cluster, new: Cluster) -> str:
    """The primary ``old`` stopped, its standby ``new`` promoted once it has replayed all of it;
    returns where ``new`` left ``old``'s timeline (its switchpoint)."""
    old.stop()
    wait_replayed(new, old_checkpoint_end(old))
    replayed = new.replay_lsn() or "0/0"
    new.promote()
    return replayed


def old_checkpoint_end(cluster: Cluster) -> str:
    """Where the stopped cluster's WAL ends: just after its shutdown checkpoint record."""
    from pgrewindkit import open_wal, read_control_file

    control = read_control_file(cluster.pgdata)
    record = open_wal(cluster.pgdata).read_record(control.checkpoint)
    return str(record.end)


@attrs.define
class Diverged:
    """``target`` was the primary and wrote on after ``source`` (its standby) was promoted."""

    target: Cluster
    source: Cluster

    def destroy(self) -> None:
        self.target.destroy()
        self.source.destroy()

    def copy(self) -> Diverged:
        """Cold copies of both (stopped) clusters, each in a work directory of its own."""
        major = self.target.major
        target = self.target.cold_copy(make_workdir(f"pgrk{major}-"), self.target.name)
        try:
            source = self.source.cold_copy(make_workdir(f"pgrk{major}-source-"), self.source.name)
        except BaseException:
            target.destroy()
            raise
        return Diverged(target, source)


def keep_wal(major: int) -> dict[str, object]:
    """Settings keeping WAL for standbys: wal_keep_size 1 GB from 13, wal_keep_segments 1024 before."""
    return server_sql(major).keep_wal(1024, segment_mb=1)


def diverged(bins: PgBinaries, *, setup: tuple[str, ...] = (), common: tuple[str, ...] = (),
             on_source: tuple[str, ...] = (), on_target: tuple[str, ...] = (), checksums: bool = False,
             wal_log_hints: bool = True, stop_target: str = "fast", **settings: object) -> Diverged:
    """pg_rewind's TAP-test shape: primary and streaming standby share ``setup`` and ``common``;
    the standby is promoted and runs ``on_source``; the old primary runs on with ``on_target``.
    Both are stopped (the target with ``stop_target``)."""
    target, source = streaming_pair(
        bins, {"wal_log_hints": "on" if wal_log_hints else "off", **keep_wal(bins.major), **settings},
        setup=setup, checksums=checksums, prefix="source")
    try:
        if common:
            target.execute(*common)
        wait_replayed(source, target.insert_lsn())
        source.promote()
        if on_source:
            source.execute(*on_source)
        source.execute("CHECKPOINT")
        if on_target:
            target.execute(*on_target)
        target.stop(stop_target)
        source.stop()
    except BaseException:
        target.destroy()
        source.destroy()
        raise
    return Diverged(target, source)
