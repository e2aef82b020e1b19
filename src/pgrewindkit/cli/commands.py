"""One function per command: call the public API, hand the result to ``render``, write it.

Each takes the parsed arguments and the two streams and returns the exit status; errors propagate
to ``main``, which reports them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO, TypeVar

import pgrewindkit
from pgrewindkit import demo, render
from pgrewindkit.cli.exits import EXIT_OK, EXIT_PLAN_ERROR, UsageError
from pgrewindkit.cli.progress import PartsProgress, ProgressBar

T = TypeVar("T")


def _show(out: TextIO, as_json: bool, value: T, to_json: Callable[[T], object],
          to_lines: Callable[[T], Iterable[str]]) -> None:
    """A result as one JSON object or as lines of text."""
    out.write(render.json_document(to_json(value)) if as_json else render.text(to_lines(value)))


def cmd_controldata(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.brief:
        for path in args.paths:
            out.write(render.text([render.controldata_brief(path, pgrewindkit.read_control_file(path))]))
        return EXIT_OK
    if len(args.paths) != 1:
        raise UsageError("controldata takes one PATH unless --brief is given")
    _show(out, args.json, pgrewindkit.read_control_file(args.paths[0]), render.controldata_json,
          render.controldata_lines)
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    history = pgrewindkit.read_timeline_history(args.file, timeline=args.timeline)
    _show(out, args.json, history, render.history_json, render.history_lines)
    return EXIT_OK


def cmd_waldump(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    wal = pgrewindkit.open_wal(args.path, timeline=args.timeline)
    scan = wal.scan(args.start, end=args.end)
    size = wal.directory.segment_size
    if args.start is not None and scan.start != args.start and args.start.segment_offset(size) != 0:
        err.write(render.text([render.skipped_line(args.start, scan.start)]))
    if args.stats:
        stats = pgrewindkit.scan_stats(wal, scan, on_progress=PartsProgress(err, not args.quiet, "reading WAL"))
        out.write(render.text(render.format_stats(stats, per_record=args.stats == "record")))
    else:
        for count, record in enumerate(scan, start=1):
            out.write(render.json_line(render.record_json(record)) if args.json
                      else render.text(render.record_lines(record)))
            if args.limit and count >= args.limit:
                break
    end = scan.end_of_wal
    if end is not None:
        err.write(render.json_line(render.end_of_wal_json(end)) if args.json
                  else render.text([render.end_of_wal_line(end)]))
    return EXIT_OK


def _source(args: argparse.Namespace) -> pgrewindkit.Source:
    if args.source_server:
        return pgrewindkit.LiveSource(args.source_server)
    return pgrewindkit.LocalSource(args.source_pgdata)


def cmd_divergence(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    divergence = pgrewindkit.find_divergence(_source(args), args.target_pgdata)
    _show(out, args.json, divergence, render.divergence_json, render.divergence_lines)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    progress = PartsProgress(err, not (args.json or args.quiet), "reading the target's WAL")
    plan = pgrewindkit.plan_rewind(_source(args), args.target_pgdata, on_progress=progress)
    _show(out, args.json, plan, render.plan_json, render.plan_lines)
    return EXIT_OK if plan.outcome != "error" else EXIT_PLAN_ERROR


def cmd_rewind(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.restore_target_wal and args.restore_command:
        raise UsageError("give --restore-target-wal (the target's own restore_command) or --restore-command, not both")
    if args.write_recovery_conf and not args.source_server:
        raise UsageError("--write-recovery-conf needs --source-server")
    source: pgrewindkit.Source | str = (pgrewindkit.LiveSource(args.source_server) if args.source_server
                                        else args.source_pgdata)
    result = pgrewindkit.rewind(args.target_pgdata, source, bindir=args.bindir, restore_command=args.restore_command,
                                stop_target=args.stop_target, dry_run=args.dry_run,
                                source_conninfo=args.source_server, config_file=args.config_file,
                                backup_dir=args.backup_dir, keep_backup=args.keep_backup,
                                ensure_shutdown=not args.no_ensure_shutdown,
                                checkpoint_source=args.checkpoint_source, wait_for_checkpoint=args.wait_for_checkpoint,
                                on_progress=ProgressBar(err, not (args.json or args.quiet)))
    _show(out, args.json, result, render.rewind_json, render.rewind_lines)
    if args.write_recovery_conf and not args.dry_run and not isinstance(source, str):
        written = pgrewindkit.configure_standby(args.target_pgdata, source, args.source_server,
                                                config_file=args.config_file)
        if not args.json:
            out.write(render.text(render.written_lines(written)))
    return EXIT_OK


def cmd_recovery_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    major = pgrewindkit.DataDirectory(args.pgdata).control.major
    conninfo = args.primary_conninfo
    if args.application_name:
        conninfo = pgrewindkit.standby_conninfo(conninfo, args.application_name) if conninfo else None
    config = pgrewindkit.recovery_config(major, primary_conninfo=conninfo, primary_slot_name=args.slot,
                                         restore_command=args.restore_command,
                                         current_auto_conf=pgrewindkit.read_current(args.pgdata, major))
    if args.dry_run:
        out.write(render.recovery_config_text(config))
        return EXIT_OK
    written = pgrewindkit.write_recovery_config(args.pgdata, config)
    out.write(render.text(render.written_lines(written)))
    return EXIT_OK


def cmd_failback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def step(done: pgrewindkit.Step) -> None:
        if not args.json:
            out.write(render.text([render.step_line(done)]))
            out.flush()

    result = pgrewindkit.failback(args.target_pgdata, args.source_server, restore_command=args.restore_command,
                                  bindir=args.bindir, application_name=args.application_name, slot_name=args.slot,
                                  create_slot=args.create_slot, timeout=args.timeout, on_step=step,
                                  on_progress=ProgressBar(err, not (args.json or args.quiet)),
                                  config_file=args.config_file, checkpoint_source=args.checkpoint_source,
                                  wait_for_checkpoint=args.wait_for_checkpoint,
                                  discard_unarchived_wal=args.discard_unarchived_wal, start_server=not args.no_start,
                                  start_command=args.start_command, backup_dir=args.backup_dir,
                                  keep_backup=args.keep_backup,
                                  recovery_target_timeline="latest" if args.recovery_target_timeline == "latest"
                                  else None)
    _show(out, args.json, result, render.failback_json, lambda r: render.failback_lines(r, args.target_pgdata))
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _show(out, args.json, pgrewindkit.inspect_datadir(args.pgdata), render.inspection_json, render.inspection_lines)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def say(line: str) -> None:
        out.write(render.text([line]))
        out.flush()

    if args.live:
        demo.live(args.major, args.bindir, say)
    else:
        demo.offline(Path(args.fixtures), say)
    return EXIT_OK
