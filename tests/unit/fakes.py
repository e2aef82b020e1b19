"""Results of the actions that need servers (rewind, failback), made without them from the
shipped failover's plan, with fixed timings: for tests of their output."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from pgrewindkit import (
    LSN,
    CommittedTransaction,
    DiscardedWork,
    FailbackOutcome,
    FailbackResult,
    PreparedTransaction,
    RelationChanges,
    RewindOutcome,
    RewindResult,
    Step,
    plan_rewind,
)


def rewind_result(pair: Path, target: str | Path) -> RewindResult:
    """What a rewind of ``target`` from the pair's new primary reports."""
    plan = plan_rewind(pair / "new-primary", target)
    d = plan.divergence
    c = d.last_common_checkpoint if d else None
    if plan.outcome == "no_rewind_required":
        return RewindResult(outcome=RewindOutcome.NO_REWIND_REQUIRED, plan=plan, divergence_lsn=None,
                            divergence_timeline=None, checkpoint_lsn=None, checkpoint_timeline=None, bytes_copied=0,
                            seconds=0.25,
                            command="", warnings=d.warnings if d else ())
    return RewindResult(
        outcome=RewindOutcome.REWOUND, plan=plan, divergence_lsn=d.lsn if d else None,
        divergence_timeline=d.timeline if d else None, checkpoint_lsn=c.lsn if c else None,
        checkpoint_timeline=c.timeline if c else None, bytes_copied=plan.bytes_to_copy, seconds=12.34567,
        command="pg_rewind --target-pgdata=old --source-pgdata=new", warnings=("a warning",),
        fetched_wal=("000000010000000000000008",), config_kept=("postgresql.conf",),
        config_differences=("port: '5433' -> '5432'",), backup=Path("/var/tmp/pgrewindkit-backup"))


STEPS = (Step("rewind", "rewound from 0/8D8D10", 12.34567), Step("start", "started", 1.5))


def failback_result(pair: Path, target: str | Path, on_step: Callable[[Step], None] | None = None) -> FailbackResult:
    for step in STEPS:
        if on_step is not None:
            on_step(step)
    return FailbackResult(rewind=rewind_result(pair, target), application_name="old_primary",
                          recovery_files=("standby.signal", "postgresql.auto.conf"), streaming=True, steps=STEPS,
                          outcome=FailbackOutcome.STREAMING, recovery_target_timeline="2",
                          archived_wal=("00000001000000000000000C",), discarded_wal=(),
                          abandoned_history_files=("pg_wal/00000003.history", "archive/00000004.history"),
                          set_aside=Path("/var/lib/pgrewindkit/set-aside/old-primary-20240101T000000-abcd"),
                          start_log=Path("/var/lib/pgrewindkit/logs/old-primary-20240101T000000-start.log"),
                          slot_created=True)


def discarded_sample() -> DiscardedWork:
    """A report with one of everything (the shipped failover has no prepared transaction, no
    message, no sequence): for the JSON shapes and the text."""
    from pgrewindkit.analysis.discarded import (
        DatabaseEvent,
        LogicalMessage,
        SequenceAdvance,
        UnnamedRelation,
    )

    at = datetime.datetime(2026, 11, 29, 12, 1, 7, 123456, tzinfo=datetime.timezone.utc)
    orders = RelationChanges(name="public.orders", relation="public.orders", kind="r", database_oid=16385,
                             database="app", relfilenode=16384, relfilenodes=(16384,), inserts=120, updates=4,
                             hot_updates=2, deletes=1)
    gone = RelationChanges(name=None, relation=None, kind=None, database_oid=16385, database="app",
                           relfilenode=16999, relfilenodes=(16999,), inserts=3, created=True, dropped=True)
    return DiscardedWork(
        from_lsn=LSN.parse("0/3000060"), to_lsn=LSN.parse("0/5A1B2C8"), timeline=1,
        source_promoted_at=at - datetime.timedelta(seconds=2),
        committed=(CommittedTransaction(741, at, LSN.parse("0/3001000"), 16385, "app", (742,), ("public.orders",)),
                   CommittedTransaction(745, at + datetime.timedelta(seconds=168), LSN.parse("0/5A1B200"), 16385,
                                        "app", (), (), gid="t0")),
        prepared=(PreparedTransaction(750, "t1", at, 16385, "app"),), aborted=3, in_progress=1,
        relations=(orders, gone), aborted_relations=(orders,),
        unnamed_relations=(UnnamedRelation(16385, 16999, 1663),),
        sequences=(SequenceAdvance("public.orders_id_seq", 16385, "app", 16390, 4),),
        logical_messages=(LogicalMessage("audit", True, 744, LSN.parse("0/3002000"), 16385, 5, "committed"),),
        databases=(DatabaseEvent("created", 16400, "reports", LSN.parse("0/3003000")),),
        names_from="source and target",
    )
