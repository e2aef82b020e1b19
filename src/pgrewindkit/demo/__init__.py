"""``pgrewindkit demo``: what pgrewindkit is for, shown on a real failover.

Offline (the default) it unpacks the PostgreSQL 15 failover shipped in the package
(``demo/data/failover15``, made by ``fixtures/generate.py``) and inspects, diverges and plans it,
next to what pg_rewind itself decided on the same directories.
``--live`` plays the whole story on throwaway local servers: primary and standby, failover,
diverging writes, pre-check, failback, streaming again."""

from __future__ import annotations

import json
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pgrewindkit.actions.failback import failback
from pgrewindkit.analysis.divergence import CommonCheckpoint, Divergence
from pgrewindkit.analysis.inspection import inspect_datadir
from pgrewindkit.analysis.plan import RewindPlan, plan_rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import DataFileNotFoundError, PgRewindKitError
from pgrewindkit.majors.versions import display
from pgrewindkit.render.divergence import divergence_lines
from pgrewindkit.render.inspection import inspection_lines

Say = Callable[[str], None]
MB = 1024 * 1024
# The directory holding ``failover15/``. It is package data, so the demo runs from an installed wheel
# as from a checkout; wheels install as plain files, so a path (not a resource reader) is enough.
SHIPPED = Path(__file__).resolve().parent / "data"


def offline(fixtures: Path, say: Say) -> None:
    """The shipped failover explained; ``fixtures`` is the directory that holds ``failover15/``."""
    pair = fixtures / "failover15" / "pair.tar.gz"
    if not pair.is_file():
        raise DataFileNotFoundError("the shipped failover is not here (leave out --fixtures to use the package's)",
                                    path=pair)
    expected = json.loads((fixtures / "failover15" / "expected.json").read_text())["pg_rewind"]
    with tempfile.TemporaryDirectory(prefix="pgrewindkit-demo-") as work:
        with tarfile.open(pair) as tar:
            tar.extractall(work, filter="data")
        old, new = Path(work) / "old-primary", Path(work) / "new-primary"
        say("A real PostgreSQL 15 failover, shipped with pgrewindkit: a primary had a streaming standby;")
        say("the standby was promoted (timeline 2) while the old primary went on taking writes for a while.")
        say("Both data directories are unpacked as they were left; no server runs.\n")
        say("== pgrewindkit inspect old-primary   (what is this directory, without starting it?)")
        for line in inspection_lines(inspect_datadir(old)):
            say("   " + line)
        plan = plan_rewind(new, old)
        d, _ = _diverged(plan)
        say("\n== pgrewindkit divergence   (did they diverge, where, and from which checkpoint would a rewind start?)")
        for line in divergence_lines(d):
            say("   " + line)
        say("\n== pgrewindkit plan   (exactly what pg_rewind would do, without doing it)")
        for check in plan.checks:
            say(f"   [{'ok' if check.ok else 'FAILED'}] {check.message}")
        shown = plan.shown_files
        counts: dict[str, int] = {}
        for f in shown:
            counts[f.action.name] = counts.get(f.action.name, 0) + 1
        blocks = sum(len(f.blocks) for f in plan.files)
        say(f"   file map: {len(shown)} entries ({', '.join(f'{n} {a}' for a, n in sorted(counts.items()))}), "
            f"{blocks} blocks the old primary changed after the divergence")
        for f in [f for f in shown if f.blocks][:3]:
            say(f"     {f.path} ({f.action.name}) blocks {', '.join(map(str, f.blocks[:8]))}"
                + (" ..." if len(f.blocks) > 8 else ""))
        say(f"   to copy: {plan.bytes_to_copy // MB} MB of the source's {plan.source_total_bytes // MB} MB")
        say(f"   WAL it reads: {', '.join(s.name for s in plan.wal_segments_needed)} (all present)"
            if all(s.present for s in plan.wal_segments_needed) else "   WAL it reads: some segments MISSING")
        for change in plan.config_changes:
            say(f"   {change.path} would be replaced by the source's copy, which differs in: "
                + "; ".join(change.differences[:3]))
        ours = [[f.path, f.action.name, list(f.blocks)] for f in shown]
        same = (ours == expected["files"] and [str(d.lsn), d.timeline] == expected["diverged"]
                and d.last_common_checkpoint is not None
                and [str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline] == expected["checkpoint"])
        say("\n== and pg_rewind itself?")
        say(f"   pg_rewind --dry-run --debug, run on these same directories when they were made, decided "
            f"{'exactly the same' if same else 'DIFFERENTLY'}: diverged at {expected['diverged'][0]}, checkpoint "
            f"{expected['checkpoint'][0]}, {len(expected['files'])} file-map entries, need to copy "
            f"{expected['need_mb'][0]} MB.")
        say("\nNext: `pgrewindkit demo --live` plays the whole failover and failback on local servers "
            "(needs PostgreSQL), and docs/ shows how to do it with your own clusters.")


def live(major: int, bindir: str | None, say: Say) -> None:
    """The seed's story, on throwaway servers in /var/tmp, stopped and removed at the end."""
    from pgrewindkit.demo.harness import Cluster, binaries, chown_postgres, make_workdir, remove_tree

    bins = binaries(major, bindir)
    work = make_workdir("pgrewindkit-live-")
    archive = work / "archive"
    archive.mkdir()
    chown_postgres(archive)
    primary = Cluster(bins, work, "server1", port=54401)
    standby = Cluster(bins, work, "server2", port=54402)
    started = time.monotonic()
    try:
        say(f"1. primary server1 (PostgreSQL {display(major)}) with wal_log_hints and WAL archiving, in {work}")
        primary.initdb()
        primary.set(port=primary.port, wal_log_hints="on", archive_mode="on",
                    archive_command=f"'cp %p {archive}/%f'", max_wal_size="'32MB'", min_wal_size="'2MB'")
        primary.start()
        primary.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                        "INSERT INTO orders SELECT g, 'before the failover' FROM generate_series(1, 1000) g")
        primary.stop()
        say("2. standby server2, streaming from server1")
        copy = primary.cold_copy(work, "server2")
        standby.port = 54402
        copy.set(port=standby.port)
        copy.make_standby_of(primary)
        primary.start()
        standby.start()
        _wait(lambda: primary.query_one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1)
        say("3. failover: server2 is promoted (timeline 2) and takes writes")
        standby.promote()
        standby.execute("INSERT INTO orders VALUES (2001, 'on the new primary')", "CHECKPOINT")
        # pg_rewind reads the source's pg_control: until a checkpoint after the promotion reaches it,
        # it still says timeline 1 and pg_rewind sees nothing to do (the promote-before-checkpoint trap)
        _wait(lambda: standby.query_one("SELECT timeline_id FROM pg_control_checkpoint()") == 2)
        say("4. ... but server1 did not know, and took writes of its own: the clusters have diverged")
        primary.execute("INSERT INTO orders VALUES (3001, 'lost on the old primary')", "CHECKPOINT")
        primary.stop()
        say("5. pre-check with pgrewindkit, nothing changed yet:")
        with LiveSource(standby.conninfo()) as source:
            plan = plan_rewind(source, primary.pgdata)
        d, checkpoint = _diverged(plan)
        say(f"   diverged at {d.lsn} on timeline {d.timeline}; rewind from checkpoint {checkpoint.lsn}; "
            f"{len(plan.shown_files)} files to act on, {plan.bytes_to_copy // MB} MB to copy; outcome {plan.outcome}")
        say("6. failback: pgrewindkit failback --target-pgdata server1 --source-server server2 ...")
        result = failback(primary.pgdata, standby.conninfo(), restore_command=f"cp {archive}/%f %p", timeout=60,
                          bindir=str(bins.bindir), on_step=lambda s: say(f"   {s.name}: {s.detail}"))
        say("7. server1 streams from server2 again:")
        standby.execute("INSERT INTO orders VALUES (4001, 'after the failback')")
        _wait(lambda: primary.query_one("SELECT count(*) FROM orders WHERE id = 4001") == 1)
        notes = [r["note"] for r in primary.query("SELECT note FROM orders WHERE id > 1000 ORDER BY id")]
        say(f"   server1 now holds: {notes} (its diverged write is gone)")
        say(f"   it kept its own port {primary.port} and archive_command; {result.application_name} is streaming")
        say(f"done in {time.monotonic() - started:.1f} s; stopping and removing the servers")
    finally:
        # every server down before any directory goes (both live in ``work``), whatever failed and
        # whatever each one's flag says: a failed failback may have started the old primary
        for cluster in (primary, standby):
            if cluster.pgdata.exists():
                cluster.stop("immediate")
        remove_tree(work)


def _wait(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo's servers did not get there in time")
        time.sleep(0.2)


def _diverged(plan: RewindPlan) -> tuple[Divergence, CommonCheckpoint]:
    """The divergence the demo's story needs, or an error that says why it is not there."""
    d = plan.divergence
    if d is None or d.last_common_checkpoint is None:
        why = plan.error.message if plan.error else f"the plan's outcome is {plan.outcome}"
        raise PgRewindKitError(f"the demo's clusters did not diverge as expected: {why}")
    return d, d.last_common_checkpoint
