"""``pg_rewind --dry-run --debug -P`` as the oracle for plans: run it, read what it decided (from a
run, or from a recording of one), and compare a plan with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from tests.support.cluster import run_captured
from tests.support.pgbinaries import PgBinaries

if TYPE_CHECKING:
    from pgrewindkit.analysis.plan import RewindPlan

MB = 1024 * 1024

# "WAL position" in 9.5 and 9.6, "WAL location" from 10
_DIVERGED = re.compile(r"servers diverged at WAL (?:location|position) (\S+) on timeline (\d+)")
_CHECKPOINT = re.compile(r"rewinding from last common checkpoint at (\S+) on timeline (\d+)")
_FILE = re.compile(r"^(\S.*) \((CREATE|COPY|COPY_TAIL|NONE|TRUNCATE|REMOVE)\)$")
# 9.5 prints "  blk N", 9.6 to 11 "  block N" (indented by two spaces), 12+ "block N"
_BLOCK = re.compile(r"^\s*(?:block|blk) (\d+)$")
_NEED = re.compile(r"need to copy (\d+) MB \(total source directory size is (\d+) MB\)")
# pg_fatal() of 9.5 to 11 prints the message on a line of its own (after an empty one), then this one
_FAILURE_10 = "Failure, exiting"


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

    def _add_error(self, message: str) -> None:
        self.errors.append(message)
        self.error = self.error or message


def pg_rewind_dry_run(bins: PgBinaries, target: Path, *, source_pgdata: Path | None = None,
                      source_server: str | None = None) -> RewindDecision:
    argv: list[str | Path] = [bins.program("pg_rewind"), "--dry-run", "--debug", "--progress",
                              "--target-pgdata", target]
    if source_pgdata is not None:
        argv += ["--source-pgdata", source_pgdata]
    if source_server is not None:
        argv += ["--source-server", source_server]
    result = run_captured(argv, env=bins.env, check=False, timeout=600)
    # 9.5 to 11 print everything on stdout, 12+ on stderr: one of the two is empty
    return parse_pg_rewind(result.returncode, result.stdout + result.stderr)


def parse_pg_rewind(returncode: int, output: str) -> RewindDecision:
    """What ``pg_rewind --dry-run --debug --progress`` of any major 9.5–18 decided, from what it printed
    (9.6 to 11 print the timeline histories with --debug; nothing here needs them)."""
    decision = RewindDecision(returncode, output)
    previous = ""
    for raw in output.splitlines():
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
        elif line.startswith(("error: ", "fatal: ")):  # pg_fatal() says "fatal:" in 12–14, "error:" from 15
            decision._add_error(line.split(": ", 1)[1])
        elif line == _FAILURE_10 and previous:
            decision._add_error(previous)
        elif m := _FILE.match(line):
            decision.files.append((m[1], m[2], []))
        elif (m := _BLOCK.match(line)) and decision.files:
            decision.files[-1][2].append(int(m[1]))
        if line.strip():
            previous = line
    return decision


def assert_same_decisions(plan: RewindPlan, theirs: RewindDecision) -> None:
    """The plan decides what pg_rewind did: outcome (and its error wording), divergence, checkpoint,
    every file action and block in pg_rewind's order, and the MB totals."""
    if theirs.returncode != 0:
        assert plan.outcome == "error", theirs.output
        assert plan.error is not None and theirs.errors
        # pg_rewind may print a cause first ("could not open file ...") and the failure after it
        assert all(e in plan.error.message or plan.error.message.startswith(e) for e in theirs.errors), (
            plan.error, theirs.errors)
    elif theirs.no_rewind:
        assert plan.outcome == "no_rewind_required", theirs.output
    else:
        assert plan.outcome == "rewind_needed", (plan.error, theirs.output)
    d = plan.divergence
    if theirs.diverged is not None:
        assert d is not None and (str(d.lsn), d.timeline) == theirs.diverged
    if theirs.checkpoint is not None:
        assert d is not None and d.last_common_checkpoint is not None
        assert (str(d.last_common_checkpoint.lsn), d.last_common_checkpoint.timeline) == theirs.checkpoint
    if theirs.same_timeline:
        assert d is not None and d.reason == "source and target cluster are on the same timeline"
    if theirs.returncode == 0:
        ours = [(f.path, f.action.name, list(f.blocks)) for f in plan.shown_files]
        assert ours == theirs.files
    if theirs.need_mb is not None:
        assert (plan.bytes_to_copy // MB, plan.source_total_bytes // MB) == theirs.need_mb
