"""Timing ``pgrewindkit plan`` against ``pg_rewind --dry-run`` on one pair, round by round."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from common import OURS, pg15, spread, timed
from tests.support.cluster import PORT, run_captured


def as_postgres(argv: Sequence[str]) -> list[str]:
    """pg_rewind refuses to run as root: run it as ``postgres`` (the data directories' owner)."""
    return ["/usr/sbin/runuser", "-u", "postgres", "--", *argv]


def compare_plans(label: str, ours: list[str], theirs: list[str], *, rounds: int) -> dict[str, object]:
    """Interleaved rounds of both; prints medians with their spread, the ratio per round and peak
    memory; returns our last plan (JSON)."""
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    peaks = {"ours": 0, "theirs": 0}
    plan: dict[str, object] = {}
    for _ in range(rounds):
        run = timed(theirs)
        if run.code != 0:
            raise SystemExit(f"pg_rewind --dry-run failed ({run.code}): {run.stdout[-2000:]}")
        times["theirs"].append(run.seconds)
        peaks["theirs"] = max(peaks["theirs"], run.peak_mb)
        run = timed(ours)
        if run.code not in (0, 3):
            raise SystemExit(f"pgrewindkit plan failed ({run.code}): {run.stdout[-2000:]}")
        times["ours"].append(run.seconds)
        peaks["ours"] = max(peaks["ours"], run.peak_mb)
        plan = json.loads(run.stdout)
    ratios = [o / t for o, t in zip(times["ours"], times["theirs"])]
    print(f"{label} pg_rewind --dry-run:   {spread(times['theirs'])} s   peak RSS {peaks['theirs']} MB")
    print(f"{label} pgrewindkit plan:      {spread(times['ours'])} s   peak RSS {peaks['ours']} MB")
    print(f"{label} ratio ours / theirs:   {spread(ratios)}x  (below 1: pgrewindkit faster by "
          f"{spread([1 / r for r in ratios])}x)", flush=True)
    return plan


def pg_rewind() -> str:
    return str(pg15().program("pg_rewind"))


def pg_ctl(source: Path, action: str, *, options: str = "", log: Path | None = None) -> list[str]:
    """pg_ctl on the cached source (as postgres): its postgresql.conf names the socket directory of
    the cluster that built it, long gone, so ``options`` name where to listen now."""
    argv = [str(pg15().program("pg_ctl")), "-D", str(source), "-w", "-t", "120", action]
    if options:
        argv += ["-o", options]
    if log is not None:
        argv += ["-l", str(log)]
    if action == "stop":
        argv += ["-m", "fast"]
    return as_postgres(argv)


def local_socket_options(source: Path) -> str:
    """Listen on a Unix socket in the pair's directory only (owned by postgres)."""
    return f"-c listen_addresses='' -c unix_socket_directories='{source.parent}' -c port={PORT}"


__all__ = ["OURS", "PORT", "as_postgres", "compare_plans", "local_socket_options", "pg_ctl", "pg_rewind",
           "run_captured"]
