"""The ``pgrewindkit`` command: a thin layer over the public API.

Exit codes: 0 success; 1 bad input (a pgrewindkit error, printed as one line); 2 wrong usage;
3 the plan says pg_rewind would fail; 70 an internal error (a bug: printed as one line too);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

import pgrewindkit
from pgrewindkit import demo
from pgrewindkit.actions.failback import Step, failback, standby_conninfo
from pgrewindkit.actions.recovery import read_current, recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import ProgressEvent, RewindResult, rewind
from pgrewindkit.analysis.divergence import find_divergence
from pgrewindkit.analysis.inspection import inspect_datadir, inspection_json, inspection_lines
from pgrewindkit.analysis.plan import plan_rewind
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import LiveSource, LocalSource, Source, mask_password
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.formats.controlfile import read_control_file
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.timeline import TimelineHistory, read_timeline_history
from pgrewindkit.formats.wal import EndOfWal, open_wal
from pgrewindkit.formats.wal.parallel import scan_stats
from pgrewindkit.formats.wal.stats import format_stats
from pgrewindkit.model import ControlFile
from pgrewindkit.render.controldata import controldata_json, controldata_lines
from pgrewindkit.render.plan import divergence_json, divergence_lines, plan_json, plan_lines
from pgrewindkit.render.waldump import record_json, record_lines

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_PLAN_ERROR = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

PROG = "pgrewindkit"
T = TypeVar("T")


class UsageError(Exception):
    """Arguments argparse accepted but that do not fit together."""


def _print_json(value: object, out: TextIO) -> None:
    json.dump(value, out, indent=2)
    out.write("\n")


def _show(out: TextIO, as_json: bool, value: T, to_json: Callable[[T], object],
          to_lines: Callable[[T], Iterable[str]]) -> None:
    """A result as one JSON object or as lines of text."""
    if as_json:
        _print_json(to_json(value), out)
    else:
        out.write("".join(line + "\n" for line in to_lines(value)))


def _brief(control: ControlFile) -> str:
    return (f"PostgreSQL {control.major}, {control.state.description}, timeline {control.timeline}, "
            f"checkpoint {control.checkpoint} (REDO {control.checkpoint_copy.redo}), "
            f"wal_log_hints {'on' if control.wal_log_hints else 'off'}, "
            f"data checksums {'on' if control.data_checksums else 'off'}")


def cmd_controldata(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.brief:
        for path in args.paths:
            out.write(f"{path}: {_brief(read_control_file(path))}\n")
        return EXIT_OK
    if len(args.paths) != 1:
        raise UsageError("controldata takes one PATH unless --brief is given")
    _show(out, args.json, read_control_file(args.paths[0]), controldata_json, controldata_lines)
    return EXIT_OK


def _history_json(history: TimelineHistory) -> dict[str, object]:
    return {
        "timeline": history.timeline,
        "entries": [
            {"timeline": e.timeline, "switchpoint": str(e.switchpoint), "reason": e.reason}
            for e in history.entries
        ],
        "spans": [
            {"timeline": s.timeline, "begin": str(s.begin), "end": None if s.end is None else str(s.end)}
            for s in history.spans
        ],
    }


def _history_lines(history: TimelineHistory) -> list[str]:
    lines = [f"Timeline {history.timeline}"]
    for span in history.spans:
        end = "(current)" if span.end is None else str(span.end)
        lines.append(f"  timeline {span.timeline}: {span.begin} - {end}")
    lines += [f"  switched from timeline {e.timeline} at {e.switchpoint}: {e.reason}" for e in history.entries]
    return lines


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _show(out, args.json, read_timeline_history(args.file, timeline=args.timeline), _history_json, _history_lines)
    return EXIT_OK


def _lsn_arg(text: str) -> LSN:
    try:
        return LSN.parse(text)
    except PgRewindKitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_waldump(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    wal = open_wal(args.path, timeline=args.timeline)
    scan = wal.scan(args.start, end=args.end)
    size = wal.directory.segment_size
    if args.start is not None and scan.start != args.start and args.start.segment_offset(size) != 0:
        skipped = scan.start - args.start
        err.write(f"{PROG}: first record is after {args.start}, at {scan.start}, skipping over {skipped} "
                         f"byte{'' if skipped == 1 else 's'}\n")
    if args.stats:
        stats = scan_stats(wal, scan, on_progress=_PartsProgress(err, not args.quiet, "reading WAL"))
        out.write("".join(line + "\n" for line in format_stats(stats, per_record=args.stats == "record")))
    else:
        for count, record in enumerate(scan, start=1):
            if args.json:
                out.write(json.dumps(record_json(record)) + "\n")
            else:
                out.write("".join(line + "\n" for line in record_lines(record)))
            if args.limit and count >= args.limit:
                break
    _report_end(scan.end_of_wal, err, json_output=args.json)
    return EXIT_OK


def _report_end(end: EndOfWal | None, err: TextIO, *, json_output: bool) -> None:
    if end is None:
        return
    if json_output:
        err.write(json.dumps({"end_of_wal": str(end.lsn), "reason": end.reason or None,
                                     "reached_end": end.reached_end,
                                     "last_record": None if end.last_record is None else str(end.last_record)})
                         + "\n")
    elif end.reached_end:
        err.write(f"{PROG}: stopped at {end.lsn}: reached the end LSN\n")
    else:
        err.write(f"{PROG}: end of WAL at {end.lsn}: {end.message}\n")


def _source(args: argparse.Namespace) -> Source:
    if args.source_server:
        return LiveSource(args.source_server)
    return LocalSource(args.source_pgdata)


def cmd_divergence(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _show(out, args.json, find_divergence(_source(args), args.target_pgdata), divergence_json, divergence_lines)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    progress = _PartsProgress(err, not (args.json or args.quiet), "reading the target's WAL")
    plan = plan_rewind(_source(args), args.target_pgdata, on_progress=progress)
    _show(out, args.json, plan, plan_json, plan_lines)
    return EXIT_OK if plan.outcome != "error" else EXIT_PLAN_ERROR


class _ProgressBar:
    """pg_rewind's copy progress as a bar on a terminal; nothing otherwise."""

    def __init__(self, err: TextIO, enabled: bool) -> None:
        self.err = err
        self.enabled = enabled and err.isatty()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * event.percent // 100
        self.err.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {event.percent:3d}% "
                       f"{event.done_kb // 1024}/{event.total_kb // 1024} MB")
        if event.percent >= 100:
            self.err.write("\n")
        self.err.flush()


class _PartsProgress:
    """Long WAL reads, part by part, on a terminal; nothing otherwise."""

    def __init__(self, err: TextIO, enabled: bool, what: str) -> None:
        self.err = err
        self.enabled = enabled and err.isatty()
        self.what = what

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            self.err.write(f"\r  {self.what}: {done}/{total} parts" + ("\n" if done == total else ""))
            self.err.flush()


def _rewind_json(result: RewindResult) -> dict[str, object]:
    return {
        "outcome": result.outcome,
        "divergence": None if result.divergence_lsn is None else {"lsn": str(result.divergence_lsn),
                                                                  "timeline": result.divergence_timeline},
        "last_common_checkpoint": None if result.checkpoint_lsn is None else {
            "lsn": str(result.checkpoint_lsn), "timeline": result.checkpoint_timeline},
        "bytes_copied": result.bytes_copied, "seconds": round(result.seconds, 3), "command": result.command,
        "fetched_wal": list(result.fetched_wal), "config_kept": list(result.config_kept),
        "config_differences": list(result.config_differences), "warnings": list(result.warnings),
        "backup": None if result.backup is None else str(result.backup),
    }


def _rewind_lines(result: RewindResult) -> list[str]:
    if result.outcome == "no_rewind_required":
        return ["no rewind required"]
    lines = [f"servers diverged at WAL location {result.divergence_lsn} on timeline {result.divergence_timeline}",
             f"rewound from the last common checkpoint at {result.checkpoint_lsn} on timeline "
             f"{result.checkpoint_timeline}",
             f"{result.bytes_copied // (1024 * 1024)} MB copied in {result.seconds:.1f} s ({result.outcome})"]
    if result.fetched_wal:
        lines.append(f"fetched from the archive: {', '.join(result.fetched_wal)}")
    if result.config_kept:
        lines.append(f"kept the target's own {', '.join(result.config_kept)}; the source's copies differed in:")
        lines += [f"  {d}" for d in result.config_differences] or ["  nothing"]
    if result.backup:
        lines.append(f"pg_control and configuration as they were: {result.backup}")
    return lines


def cmd_rewind(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    source: Source | str = LiveSource(args.source_server) if args.source_server else args.source_pgdata
    result = rewind(args.target_pgdata, source, bindir=args.bindir, restore_command=args.restore_command,
                    stop_target=args.stop_target, dry_run=args.dry_run, source_conninfo=args.source_server,
                    config_file=args.config_file,
                    on_progress=_ProgressBar(err, not (args.json or args.quiet)))
    _show(out, args.json, result, _rewind_json, _rewind_lines)
    return EXIT_OK


def cmd_recovery_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    major = DataDirectory(args.pgdata).control.major
    conninfo = args.primary_conninfo
    if args.application_name:
        conninfo = standby_conninfo(conninfo, args.application_name) if conninfo else None
    config = recovery_config(major, primary_conninfo=conninfo, primary_slot_name=args.slot,
                             restore_command=args.restore_command, current_auto_conf=read_current(args.pgdata, major))
    if args.dry_run:
        for item in config.files:
            out.write(f"== {item.path}\n{mask_password(item.content)}")
        return EXIT_OK
    written = write_recovery_config(args.pgdata, config)
    out.write("".join(f"wrote {path}\n" for path in written))
    return EXIT_OK


def cmd_failback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def step(done: Step) -> None:
        if not args.json:
            out.write(f"{done.name}: {done.detail} ({done.seconds:.1f} s)\n")
            out.flush()

    result = failback(args.target_pgdata, args.source_server, restore_command=args.restore_command,
                      bindir=args.bindir, application_name=args.application_name, slot_name=args.slot,
                      timeout=args.timeout, on_step=step, on_progress=_ProgressBar(err, not (args.json or args.quiet)),
                      config_file=args.config_file)
    if args.json:
        _print_json({"streaming": result.streaming, "application_name": result.application_name,
                     "recovery_files": list(result.recovery_files), "rewind": _rewind_json(result.rewind),
                     "steps": [{"name": s.name, "detail": s.detail, "seconds": round(s.seconds, 3)}
                               for s in result.steps]}, out)
    else:
        out.write(f"failback done: {args.target_pgdata} streams from the source as {result.application_name}\n")
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _show(out, args.json, inspect_datadir(args.pgdata), inspection_json, inspection_lines)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    if args.live:
        demo.live(args.major, args.bindir, say)
    else:
        demo.offline(Path(args.fixtures), say)
    return EXIT_OK


def _add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-pgdata", "-D", required=True, metavar="DIR",
                        help="the data directory to rewind (read only here)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--source-pgdata", metavar="DIR", help="source data directory (cleanly shut down)")
    source.add_argument("--source-server", metavar="CONNSTR",
                        help="libpq connection string of a running source (password from ~/.pgpass or PGPASSWORD)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact, safe PostgreSQL failback: read pg_control, timeline histories and WAL without a "
                    "server (10-18), know before a rewind what pg_rewind will do, then run it and check the result.",
        epilog="A failback, step by step: inspect the old primary; divergence and plan against the new primary "
               "(nothing changes); failback (or rewind, then recovery-config). The inspecting and planning "
               "commands, rewind and failback take --json. "
               "Exit status: 0 done; 1 bad input or a failed action (one line on stderr); 2 wrong usage; "
               "3 plan says pg_rewind would fail; 70 internal error; 130 interrupted. See docs/ for more.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {pgrewindkit.__version__}")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log what the library does (pg_rewind's output, each step) to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo_cmd = commands.add_parser(
        "demo", help="see what pgrewindkit is for, on a real failover",
        description="Without --live: inspect, diverge and plan the PostgreSQL 15 failover shipped with pgrewindkit "
                    "(nothing runs). With --live: play a failover and a failback on throwaway local servers "
                    "(needs PostgreSQL; run as root or as a user that may start PostgreSQL).",
    )
    demo_cmd.add_argument("--live", action="store_true", help="play it on local servers")
    demo_cmd.add_argument("--major", type=int, default=15, help="PostgreSQL major for --live (default 15)")
    demo_cmd.add_argument("--bindir", metavar="DIR", help="its programs, if not found by themselves")
    demo_cmd.add_argument("--fixtures", default=str(demo.SHIPPED), metavar="DIR",
                          help="the directory holding failover15/ (default: the one shipped in the package)")
    demo_cmd.set_defaults(handler=cmd_demo)

    inspect = commands.add_parser(
        "inspect", help="forensic overview of a data directory, no server needed",
        description="State, checkpoint, timelines, WAL on disk with its gaps and the end of valid WAL, "
                    "postmaster.pid (and whether it is stale), backup_label, recovery settings (passwords masked) "
                    "and the findings to act on. Reads only.",
    )
    inspect.add_argument("pgdata", metavar="PGDATA")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(handler=cmd_inspect)

    controldata = commands.add_parser(
        "controldata", help="show a control file as pg_controldata does",
        description="Show global/pg_control of a data directory (or a pg_control file) as the "
                    "pg_controldata of its major prints it; --json gives the pg_control_*() columns.",
    )
    controldata.add_argument("paths", metavar="PATH", nargs="+", help="data directory or pg_control file")
    output = controldata.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--brief", action="store_true", help="one line per PATH (several may be given)")
    controldata.set_defaults(handler=cmd_controldata)

    history = commands.add_parser(
        "history", help="show a timeline history file",
        description="Parse a timeline history file (pg_wal/NNNNNNNN.history) as PostgreSQL does.",
    )
    history.add_argument("file", metavar="FILE", help="history file")
    history.add_argument("--timeline", type=int, default=None,
                         help="the file's own timeline, when its name does not say")
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.set_defaults(handler=cmd_history)

    waldump = commands.add_parser(
        "waldump", help="decode WAL records like pg_waldump",
        description="Decode WAL records as PostgreSQL's own reader does, from a data directory, its pg_wal, "
                    "or a directory of segments (a WAL archive). Records print like pg_waldump -b (record "
                    "types, not their descriptions); the end of valid WAL and its reason go to stderr.",
    )
    waldump.add_argument("--path", default=".", metavar="DIR", help="data directory or directory of WAL segments")
    waldump.add_argument("--start", "-s", type=_lsn_arg, metavar="LSN",
                         help="first record at or after this LSN (default: the oldest segment's start)")
    waldump.add_argument("--end", "-e", type=_lsn_arg, metavar="LSN", help="stop before records that pass it")
    waldump.add_argument("--timeline", "-t", type=int, metavar="N",
                         help="follow timeline N's history (default: the newest history file here)")
    waldump.add_argument("--limit", "-n", type=int, metavar="N", help="stop after N records")
    waldump.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    output = waldump.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per record")
    output.add_argument("--stats", nargs="?", const="rmgr", choices=["rmgr", "record"],
                        help="per resource manager (or per record type) statistics, as pg_waldump --stats")
    waldump.set_defaults(handler=cmd_waldump)

    divergence = commands.add_parser(
        "divergence", help="where two clusters diverged, as pg_rewind decides it",
        description="Whether the target must be rewound to follow the source, where their histories part, "
                    "and from which checkpoint a rewind starts; nothing is written.",
    )
    _add_pair_arguments(divergence)
    divergence.set_defaults(handler=cmd_divergence)

    plan = commands.add_parser(
        "plan", help="what pg_rewind would do, without doing it",
        description="Every check, the divergence, the file map with every block pg_rewind would copy, the bytes, "
                    "the WAL it must read and the configuration files it would overwrite. Exit status 3 when "
                    "pg_rewind would fail.",
    )
    _add_pair_arguments(plan)
    plan.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    plan.set_defaults(handler=cmd_plan)

    rewind_cmd = commands.add_parser(
        "rewind", help="run pg_rewind safely",
        description="Plan, fetch missing WAL with a restore command, keep pg_control and the configuration aside, run "
                    "the target major's pg_rewind (as the data directory's owner), put the target's own "
                    "configuration back. The password of --source-server never reaches a command line.",
    )
    _add_pair_arguments(rewind_cmd)
    _add_action_arguments(rewind_cmd)
    rewind_cmd.add_argument("--stop-target", action="store_true", help="stop a running target cleanly first")
    rewind_cmd.add_argument("--dry-run", action="store_true", help="pass --dry-run to pg_rewind")
    rewind_cmd.set_defaults(handler=cmd_rewind)

    recovery = commands.add_parser(
        "recovery-config", help="configure a data directory as a standby",
        description="Write recovery.conf (up to 11) or standby.signal and postgresql.auto.conf settings (12+), "
                    "replacing stale values; files holding a password are readable by their owner only.",
    )
    recovery.add_argument("pgdata", metavar="PGDATA")
    recovery.add_argument("--primary-conninfo", metavar="CONNSTR")
    recovery.add_argument("--application-name", metavar="NAME")
    recovery.add_argument("--slot", metavar="NAME", help="primary_slot_name")
    recovery.add_argument("--restore-command", metavar="CMD")
    recovery.add_argument("--dry-run", action="store_true", help="print the files (passwords masked) instead")
    recovery.set_defaults(handler=cmd_recovery_config)

    failback_cmd = commands.add_parser(
        "failback", help="make the old primary a streaming standby of the new one",
        description="Stop the target if it runs, plan, fetch missing WAL, rewind, keep its configuration, configure "
                    "it as a standby of the source, start it with its own pg_ctl and wait until the source shows "
                    "it streaming in pg_stat_replication.",
    )
    failback_cmd.add_argument("--target-pgdata", "-D", required=True, metavar="DIR")
    failback_cmd.add_argument("--source-server", required=True, metavar="CONNSTR")
    failback_cmd.add_argument("--application-name", metavar="NAME", help="name to stream under")
    failback_cmd.add_argument("--slot", metavar="NAME", help="primary_slot_name")
    failback_cmd.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS")
    failback_cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_action_arguments(failback_cmd)
    failback_cmd.set_defaults(handler=cmd_failback)
    return parser


def _add_action_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--restore-command", metavar="CMD",
                        help="fetch missing WAL with this (%%f file name, %%p path), e.g. 'cp /archive/%%f %%p'; "
                             "default: the target's own restore_command")
    parser.add_argument("--bindir", metavar="DIR", help="where the target major's PostgreSQL programs are")
    parser.add_argument("--config-file", metavar="FILE",
                        help="the target's postgresql.conf when it is outside the data directory (Debian's layout)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _log_to(err: TextIO) -> None:
    """The command line is the one place logging is configured (the library only creates loggers)."""
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(name)s: %(message)s"))
    root = logging.getLogger("pgrewindkit")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    if args.verbose:
        _log_to(err)
    handler: Callable[[argparse.Namespace, TextIO, TextIO], int] = args.handler
    try:
        return handler(args, out, err)
    except UsageError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except PgRewindKitError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: still one line, never a traceback
        err.write(f"{PROG}: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_INTERNAL
