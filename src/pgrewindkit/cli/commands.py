"""One function per command: call the public API, hand the result to ``render``, write it.

Each takes the parsed arguments and the two streams and returns the exit status; errors propagate
to ``main``, which reports them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO, TypeVar

import pgrewindkit
from pgrewindkit import render
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
    if args.rmgr == ["list"]:
        out.write(render.text(pgrewindkit.rmgr_list(pgrewindkit.MAJORS[-1].major)))
        return EXIT_OK
    if len(args.segments) > 2:
        raise UsageError(f"too many command-line arguments (first is \"{args.segments[2]}\")")
    names = [pgrewindkit.segment_name(s) for s in args.segments]
    path = args.path or (names[0].directory if names and names[0].directory else ".")
    wal = pgrewindkit.open_wal(path, timeline=names[0].timeline if names else args.timeline)
    start, end = args.start, args.end
    if names:
        span = pgrewindkit.segment_range(wal.directory.path, names, wal.directory.size_from_segment_files(),
                                         start, end)
        start, end = span.start, span.end
    scan = wal.scan(start, end=end)
    if end is not None and scan.start >= end:  # pg_waldump's XLogFindNextRecord reads no further than the end
        raise pgrewindkit.PgRewindKitError(f"could not find a valid record after {start or scan.start}")
    if start is not None and scan.start != start and start.segment_offset(wal.directory.segment_size) != 0:
        err.write(render.text([render.skipped_line(start, scan.start)]))
    major = wal.wal_format(scan.start).major
    chosen = pgrewindkit.RecordFilter.of_options(major, rmgrs=args.rmgr, xid=args.xid, relation=args.relation,
                                                 block=args.block, fork=args.fork, fullpage=args.fullpage)
    if args.stats and not (chosen.active or args.limit or args.follow):
        stats = pgrewindkit.scan_stats(wal, scan, on_progress=PartsProgress(err, not args.quiet, "reading WAL"))
    elif args.stats:
        stats = pgrewindkit.stats_of(major, pgrewindkit.selected(scan, chosen, args.limit), scan.start)
    else:
        _dump(args, out, err, wal, scan, chosen)
        return EXIT_OK
    out.write(render.text(render.format_stats(stats, per_record=args.stats == "record")))
    _end_of_wal(args, err, scan)
    return EXIT_OK


FOLLOW_INTERVAL = 1.0  # seconds between looks for new WAL with --follow (pg_waldump waits as long)


def _dump(args: argparse.Namespace, out: TextIO, err: TextIO, wal: pgrewindkit.Wal, scan: pgrewindkit.WalScan,
          chosen: pgrewindkit.RecordFilter) -> None:
    """Records as text or JSON lines; with ``--follow``, on at the end of valid WAL as it grows,
    from the record that could not be read yet, until interrupted or the limit or end is reached."""
    left = args.limit
    while True:
        for record in pgrewindkit.selected(scan, chosen, left):
            out.write(render.json_line(render.record_json(record)) if args.json
                      else render.text(render.record_lines(record)))
            if left:
                left -= 1
        end = scan.end_of_wal
        if not args.follow or (args.limit and not left) or end is None or end.reached_end:
            break
        out.flush()
        time.sleep(FOLLOW_INTERVAL)
        wal = pgrewindkit.open_wal(wal.directory.path, timeline=args.timeline)
        scan = wal.scan(end.lsn, end=scan.end, exact=True, prev=end.last_record)
    _end_of_wal(args, err, scan)


def _end_of_wal(args: argparse.Namespace, err: TextIO, scan: pgrewindkit.WalScan) -> None:
    end = scan.end_of_wal
    if end is not None:
        err.write(render.json_line(render.end_of_wal_json(end)) if args.json
                  else render.text([render.end_of_wal_line(end)]))


def _source(args: argparse.Namespace) -> pgrewindkit.Source:
    if args.source_server:
        return pgrewindkit.LiveSource(args.source_server)
    return pgrewindkit.LocalSource(args.source_pgdata)


def cmd_divergence(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    divergence = pgrewindkit.find_divergence(_source(args), args.target_pgdata)
    _show(out, args.json, divergence, render.divergence_json, render.divergence_lines)
    return EXIT_OK


def cmd_discarded(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.transactions is None:  # the library's default
        work = pgrewindkit.discarded_work(_source(args), args.target_pgdata)
    else:
        work = pgrewindkit.discarded_work(_source(args), args.target_pgdata,
                                          listed=None if args.transactions == "all" else args.transactions)
    _show(out, args.json, work, render.discarded_json, render.discarded_lines)
    return EXIT_OK


def _pg_rewind_release(args: argparse.Namespace) -> tuple[int, int | None] | None:
    """The release asked for, else that of the pg_rewind ``rewind`` would run (None if there is none)."""
    if args.pg_rewind_version is not None:
        return args.pg_rewind_version  # type: ignore[no-any-return]
    major = pgrewindkit.DataDirectory(args.target_pgdata).control.major
    try:
        return pgrewindkit.parse_release(pgrewindkit.find_program("pg_rewind", major).version)
    except pgrewindkit.PgRewindKitError:
        return None


def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    progress = PartsProgress(err, not (args.json or args.quiet), "reading the target's WAL")
    plan = pgrewindkit.plan_rewind(_source(args), args.target_pgdata, on_progress=progress,
                                   pg_rewind_version=_pg_rewind_release(args),
                                   discarded={"auto": None, "always": True, "never": False}[args.discarded])
    if args.restore_command:  # what the archive holds, probed outside pg_wal
        plan = pgrewindkit.probe_plan(plan, args.target_pgdata, args.restore_command)
    _show(out, args.json, plan, render.plan_json, render.plan_lines)
    return EXIT_OK if plan.failure is None else EXIT_PLAN_ERROR


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


def _pgdata(args: argparse.Namespace) -> str:
    """The data directory, given as ``-D DIR`` or as the positional PGDATA (not both)."""
    if args.pgdata and args.pgdata_option and args.pgdata != args.pgdata_option:
        raise UsageError("give the data directory once: -D DIR or PGDATA")
    path: str | None = args.pgdata_option or args.pgdata
    if not path:
        raise UsageError("a data directory is needed: -D DIR (or PGDATA)")
    return path


def cmd_recovery_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    pgdata = _pgdata(args)
    major = pgrewindkit.DataDirectory(pgdata).control.major
    current = pgrewindkit.read_current(pgdata, major)
    conninfo = args.primary_conninfo
    if args.application_name:
        # the name goes into the conninfo given, else the one already configured
        conninfo = conninfo or pgrewindkit.current_recovery_settings(current).get("primary_conninfo")
        conninfo = pgrewindkit.standby_conninfo(conninfo, args.application_name) if conninfo else None
    config = pgrewindkit.recovery_config(major, primary_conninfo=conninfo, primary_slot_name=args.slot,
                                         restore_command=args.restore_command, current_auto_conf=current,
                                         keep_current=True, trigger_file=args.trigger_file)
    if args.dry_run:
        out.write(render.recovery_config_text(config))
        return EXIT_OK
    written = pgrewindkit.write_recovery_config(pgdata, config)
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
                                  keep_backup=args.keep_backup, trigger_file=args.trigger_file,
                                  refuse_if_discarded=args.refuse_if_discarded,
                                  recovery_target_timeline="latest" if args.recovery_target_timeline == "latest"
                                  else None)
    _show(out, args.json, result, render.failback_json, lambda r: render.failback_lines(r, args.target_pgdata))
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _show(out, args.json, pgrewindkit.inspect_datadir(_pgdata(args)), render.inspection_json,
          render.inspection_lines)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def say(line: str) -> None:
        out.write(render.text([line]))
        out.flush()

    from pgrewindkit import demo  # here, not above: the demo imports every layer, other commands need few

    if args.live:
        demo.live(args.major, args.bindir, say, scale=args.scale)
    else:
        demo.offline(Path(args.fixtures) if args.fixtures else demo.SHIPPED, say)
    return EXIT_OK
