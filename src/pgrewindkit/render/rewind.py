"""A rewind's result, as text and as JSON (``rewind``; ``rewind`` inside ``failback``)."""

from __future__ import annotations

from pgrewindkit.actions.rewind import RewindResult
from pgrewindkit.render.shapes import checkpoint_json, divergence_point_json, last_common_checkpoint

MB = 1024 * 1024


def rewind_json(result: RewindResult) -> dict[str, object]:
    # the divergence and checkpoint come from the plan the rewind followed, so that they are the
    # same objects ``plan --json`` and ``divergence --json`` print
    d = result.plan.divergence
    return {
        "outcome": result.outcome,
        "divergence": divergence_point_json(d),
        "last_common_checkpoint": checkpoint_json(last_common_checkpoint(d)),
        "bytes_copied": result.bytes_copied, "seconds": round(result.seconds, 3), "command": result.command,
        "fetched_wal": list(result.fetched_wal), "config_kept": list(result.config_kept),
        "config_differences": list(result.config_differences), "warnings": list(result.warnings),
        "backup": None if result.backup is None else str(result.backup),
    }


def rewind_lines(result: RewindResult) -> list[str]:
    if result.outcome == "no_rewind_required":
        return ["no rewind required"]
    lines = [f"servers diverged at WAL location {result.divergence_lsn} on timeline {result.divergence_timeline}",
             f"rewound from the last common checkpoint at {result.checkpoint_lsn} on timeline "
             f"{result.checkpoint_timeline}",
             f"{result.bytes_copied // MB} MB copied in {result.seconds:.1f} s ({result.outcome})"]
    if result.fetched_wal:
        lines.append(f"fetched from the archive: {', '.join(result.fetched_wal)}")
    if result.config_kept:
        lines.append(f"kept the target's own {', '.join(result.config_kept)}; the source's copies differed in:")
        lines += [f"  {d}" for d in result.config_differences] or ["  nothing"]
    if result.backup:
        lines.append(f"pg_control and configuration as they were: {result.backup}")
    return lines
