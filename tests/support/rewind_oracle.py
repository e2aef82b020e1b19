"""``pg_rewind --dry-run --debug -P`` as the oracle for plans: run it and read what it decided."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from tests.support.cluster import run_captured
from tests.support.pgbinaries import PgBinaries

_DIVERGED = re.compile(r"servers diverged at WAL location (\S+) on timeline (\d+)")
_CHECKPOINT = re.compile(r"rewinding from last common checkpoint at (\S+) on timeline (\d+)")
_FILE = re.compile(r"^(\S.*) \((CREATE|COPY|COPY_TAIL|NONE|TRUNCATE|REMOVE)\)$")
_BLOCK = re.compile(r"^block (\d+)$")
_NEED = re.compile(r"need to copy (\d+) MB \(total source directory size is (\d+) MB\)")


@attrs.define
class RewindDecision:
    returncode: int
    output: str
    diverged: tuple[str, int] | None = None
    checkpoint: tuple[str, int] | None = None
    no_rewind: bool = False
    same_timeline: bool = False
    files: list[tuple[str, str, list[int]]] = attrs.field(factory=list)
    need_mb: tuple[int, int] | None = None
    error: str | None = None
    errors: list[str] = attrs.field(factory=list)


def pg_rewind_dry_run(bins: PgBinaries, target: Path, *, source_pgdata: Path | None = None,
                      source_server: str | None = None) -> RewindDecision:
    argv: list[str | Path] = [bins.program("pg_rewind"), "--dry-run", "--debug", "--progress",
                              "--target-pgdata", target]
    if source_pgdata is not None:
        argv += ["--source-pgdata", source_pgdata]
    if source_server is not None:
        argv += ["--source-server", source_server]
    result = run_captured(argv, env=bins.env, check=False, timeout=600)
    decision = RewindDecision(result.returncode, result.stderr)
    for raw in result.stderr.splitlines():
        line = raw.removeprefix("pg_rewind: ")
        if m := _DIVERGED.search(line):
            decision.diverged = (m[1], int(m[2]))
        elif m := _CHECKPOINT.search(line):
            decision.checkpoint = (m[1], int(m[2]))
        elif m := _NEED.search(line):
            decision.need_mb = (int(m[1]), int(m[2]))
        elif line == "no rewind required":
            decision.no_rewind = True
        elif line == "source and target cluster are on the same timeline":
            decision.same_timeline = True
        elif line.startswith(("error: ", "fatal: ")):  # pg_fatal() says "fatal:" up to 14, "error:" from 15
            decision.errors.append(line.split(": ", 1)[1])
            decision.error = decision.error or decision.errors[-1]
        elif m := _FILE.match(line):
            decision.files.append((m[1], m[2], []))
        elif (m := _BLOCK.match(line)) and decision.files:
            decision.files[-1][2].append(int(m[1]))
    return decision
