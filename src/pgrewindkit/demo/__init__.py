"""``pgrewindkit demo``: what pgrewindkit is for, shown on a real failover.

Offline (the default) it unpacks the PostgreSQL 15 failover shipped in the package
(``demo/data/failover15``, made by ``fixtures/generate.py``) and inspects, diverges and plans it,
says what a rewind would throw away (the old primary's transactions, its tables by name), next to
what pg_rewind itself decided on the same directories.
``--live`` plays the seed's story (``demo/seed.py``) on throwaway local servers of any major: primary
and standby, failover, pre-check, failback, streaming again."""

from __future__ import annotations

import json
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pgrewindkit.analysis.divergence import CommonCheckpoint, Divergence
from pgrewindkit.analysis.inspection import inspect_datadir
from pgrewindkit.analysis.plan import RewindPlan, plan_rewind
from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.errors import DataFileNotFoundError, PgRewindKitError
from pgrewindkit.majors import for_major
from pgrewindkit.majors.versions import display
from pgrewindkit.render.discarded import discarded_brief
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
        if plan.discarded is not None:
            say("\n== pgrewindkit discarded   (what would the rewind throw away? read from the old primary's WAL "
                "and catalogue)")
            for line in discarded_brief(plan.discarded):
                say("   " + line)
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


def live(major: int, bindir: str | None, say: Say, *, scale: int = 10) -> None:
    """The seed's story (``demo/seed.py``) on throwaway servers in /var/tmp, stopped and removed at
    the end."""
    from pgrewindkit.demo import seed as story
    from pgrewindkit.demo.harness import binaries, make_workdir, remove_tree

    bins = binaries(major, bindir)
    work = make_workdir("pgrewindkit-live-")
    seed = story.servers(bins, work)
    started = time.monotonic()
    try:
        say(f"1. primary server1 (PostgreSQL {display(major)}): wal_log_hints, archiving to its own archive, "
            f"wal_level {for_major(major).programs.replica_wal_level}, in {work}")
        story.primary(seed)
        say("2. standby server2 from pg_basebackup, with the seed's recovery configuration"
            + (f" (trigger file {seed.trigger})" if seed.trigger else ""))
        story.standby(seed)
        say("3. failover: " + ("the trigger file promotes server2" if seed.trigger else "server2 is promoted")
            + f"; pgbench -i -s {scale} on it; server1 stopped")
        story.failover(seed, scale=scale)
        say("4. pre-check with pgrewindkit, nothing changed yet:")
        with LiveSource(seed.server2.conninfo()) as source:
            plan = plan_rewind(source, seed.server1.pgdata)
        say(f"   {_plan_summary(plan)}")
        say("5. failback: pgrewindkit failback --target-pgdata server1 --source-server server2 "
            "--restore-command 'cp server2-archive/%f %p'")
        story.fail_back(seed, on_step=lambda s: say(f"   {s.name}: {s.detail}"))
        checked = story.check(seed, scale=scale)
        say(f"6. server1 is a standby (in recovery: {checked.in_recovery}) on timeline {checked.timeline} "
            f"(server2's: {checked.source_timeline}), streaming: {checked.streaming}; "
            f"it holds server2's {checked.accounts} pgbench_accounts rows")
        say(f"   it kept its own port ({checked.port_kept}) and archive_command ({checked.archive_command_kept}); "
            f"a write made on server2 afterwards arrived: {checked.new_write_arrived}")
        say("   its recovery configuration, written for it: "
            + ", ".join(f"{k} = {v}" for k, v in checked.recovery_settings.items() if k != "primary_conninfo"))
        say(f"done in {time.monotonic() - started:.1f} s; stopping and removing the servers")
    finally:
        # every server down before any directory goes (both live in ``work``)
        seed.stop_all()
        remove_tree(work)


def _plan_summary(plan: RewindPlan) -> str:
    """The pre-check in one line."""
    d, checkpoint = _diverged(plan)
    return (f"diverged at {d.lsn} on timeline {d.timeline}; rewind from checkpoint {checkpoint.lsn}; "
            f"{len(plan.shown_files)} files to act on, {plan.bytes_to_copy // MB} MB to copy; outcome {plan.outcome}")


def _diverged(plan: RewindPlan) -> tuple[Divergence, CommonCheckpoint]:
    """The divergence the demo's story needs, or an error that says why it is not there."""
    d = plan.divergence
    if d is None or d.last_common_checkpoint is None:
        why = plan.error.message if plan.error else f"the plan's outcome is {plan.outcome}"
        raise PgRewindKitError(f"the demo's clusters did not diverge as expected: {why}")
    return d, d.last_common_checkpoint
