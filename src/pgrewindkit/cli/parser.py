"""The command line's arguments: one sub-command per operation, help texts included."""

from __future__ import annotations

import argparse
import math

import pgrewindkit
from pgrewindkit.cli import commands
from pgrewindkit.render import PROG


def _major(text: str) -> int:
    """``--major 9.5``: the key of a major as users write it."""
    try:
        return pgrewindkit.parse_major(text)
    except pgrewindkit.UnsupportedVersionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

FORKS = ("main", "fsm", "vm", "init")  # pg_waldump's fork names, in ForkNumber order


def _lsn_arg(text: str) -> pgrewindkit.LSN:
    try:
        return pgrewindkit.LSN.parse(text)
    except pgrewindkit.PgRewindKitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _transactions_arg(text: str) -> int | str:
    """``--transactions N`` (0 or more) or ``all``."""
    if text == "all" or (text.isascii() and text.isdigit()):
        return text if text == "all" else int(text)
    raise argparse.ArgumentTypeError(f'"{text}" is neither a number of transactions nor "all"')


def _relation_arg(text: str) -> tuple[int, int, int]:
    """``-R T/D/R``: tablespace, database and relation file number, as pg_waldump reads them."""
    parts = text.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f'invalid relation specification: "{text}"')
    return int(parts[0]), int(parts[1]), int(parts[2])


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` after the command too; SUPPRESS keeps one given before it from being reset."""
    parser.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS,
                        help="log what the library does (pg_rewind's output, each step) to stderr")


def _add_pgdata(parser: argparse.ArgumentParser) -> None:
    """A data directory as ``-D`` (as PostgreSQL's tools take it) or, as before, a positional PGDATA."""
    parser.add_argument("pgdata", metavar="PGDATA", nargs="?", help="the data directory (or give -D)")
    parser.add_argument("--pgdata", "-D", dest="pgdata_option", metavar="DIR", help="the data directory")


TARGET_HELP = "the old primary's data directory, to rewind (read only by divergence and plan)"


def _timeline_arg(text: str) -> int:
    """A timeline ID as PostgreSQL reads one: ASCII digits only, 1 to 4294967295."""
    try:
        return int(pgrewindkit.parse_timeline(text))
    except pgrewindkit.PgRewindKitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds_arg(text: str) -> float:
    """A duration in seconds: a finite number, not negative (``nan`` would wait forever)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _release_arg(text: str) -> tuple[int, int | None]:
    try:
        return pgrewindkit.parse_release(text)
    except pgrewindkit.PgRewindKitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-pgdata", "-D", required=True, metavar="DIR", help=TARGET_HELP)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--source-pgdata", metavar="DIR", help="source data directory (cleanly shut down)")
    source.add_argument("--source-server", metavar="CONNSTR",
                        help="libpq connection string of a running source (password from ~/.pgpass or PGPASSWORD)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact, safe PostgreSQL failback: read pg_control, timeline histories and WAL without a "
                    "server (9.5-18), know before a rewind what pg_rewind will do, then run it and check the result.",
        epilog="A failback, step by step: inspect the old primary; divergence and plan against the new primary "
               "(nothing changes); failback (or rewind, then recovery-config). The inspecting and planning "
               "commands, rewind and failback take --json. "
               "Exit status: 0 done; 1 bad input or a failed action (one line on stderr); 2 wrong usage; "
               "3 plan says pg_rewind would fail; 70 internal error; 130 interrupted. See docs/ for more.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {pgrewindkit.__version__}")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log what the library does (pg_rewind's output, each step) to stderr")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_commands(subcommands)
    for sub in subcommands.choices.values():
        _add_verbose(sub)
    return parser


def _add_commands(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:

    demo_cmd = subcommands.add_parser(
        "demo", help="see what pgrewindkit is for, on a real failover",
        description="Without --live: inspect, diverge and plan the PostgreSQL 15 failover shipped with pgrewindkit "
                    "(nothing runs). With --live: play a failover and a failback on throwaway local servers "
                    "(needs PostgreSQL; run as root or as a user that may start PostgreSQL).",
    )
    demo_cmd.add_argument("--live", action="store_true", help="play it on local servers")
    demo_cmd.add_argument("--major", type=_major, default=15,
                          help="PostgreSQL major for --live: 9.5, 9.6, 10 … 18 (default 15)")
    demo_cmd.add_argument("--bindir", metavar="DIR", help="its programs, if not found by themselves")
    demo_cmd.add_argument("--scale", type=int, default=10, metavar="N",
                          help="pgbench -i -s N on the new primary, as the seed did (default 10)")
    demo_cmd.add_argument("--fixtures", metavar="DIR",  # None: the demo's own (imported only for demo)
                          help="the directory holding failover15/ (default: the one shipped in the package)")
    demo_cmd.set_defaults(handler=commands.cmd_demo)

    inspect = subcommands.add_parser(
        "inspect", help="forensic overview of a data directory, no server needed",
        description="State, checkpoint, timelines, WAL on disk with its gaps and the end of valid WAL, "
                    "postmaster.pid (and whether it is stale), backup_label, recovery settings (passwords masked) "
                    "and the findings to act on. Reads only.",
    )
    _add_pgdata(inspect)
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(handler=commands.cmd_inspect)

    controldata = subcommands.add_parser(
        "controldata", help="show a control file as pg_controldata does",
        description="Show global/pg_control of a data directory (or a pg_control file) as the "
                    "pg_controldata of its major prints it; --json gives the pg_control_*() columns.",
    )
    controldata.add_argument("paths", metavar="PATH", nargs="+", help="data directory or pg_control file")
    output = controldata.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--brief", action="store_true", help="one line per PATH (several may be given)")
    controldata.set_defaults(handler=commands.cmd_controldata)

    history = subcommands.add_parser(
        "history", help="show a timeline history file",
        description="Parse a timeline history file (pg_wal/NNNNNNNN.history) as PostgreSQL does.",
    )
    history.add_argument("file", metavar="FILE", help="history file")
    history.add_argument("--timeline", type=_timeline_arg, default=None,
                         help="the file's own timeline, when its name does not say")
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.set_defaults(handler=commands.cmd_history)

    waldump = subcommands.add_parser(
        "waldump", help="decode WAL records like pg_waldump",
        usage="%(prog)s [OPTION]... [STARTSEG [ENDSEG]]",
        description="Decode WAL records as PostgreSQL's own reader does, from a data directory, its pg_wal, "
                    "or a directory of segments (a WAL archive), with pg_waldump's options. Records print like "
                    "pg_waldump -b (record types, not their descriptions); the end of valid WAL and its reason go "
                    "to stderr. STARTSEG [ENDSEG] are segment file names, as pg_waldump takes them: they give the "
                    "timeline, the start (unless -s) and the end (unless -e; the end of ENDSEG, or of STARTSEG "
                    "alone), and their directory is the path unless -p is given.",
    )
    waldump.add_argument("segments", metavar="SEG", nargs="*", help=argparse.SUPPRESS)
    waldump.add_argument("--path", "-p", metavar="DIR",
                         help="data directory, its pg_wal, or a directory of WAL segments (default: STARTSEG's "
                              "directory, else the current directory)")
    waldump.add_argument("--start", "-s", type=_lsn_arg, metavar="LSN",
                         help="first record at or after this LSN (default: STARTSEG's or the oldest segment's start)")
    waldump.add_argument("--end", "-e", type=_lsn_arg, metavar="LSN", help="stop before records that pass it")
    waldump.add_argument("--timeline", "-t", type=_timeline_arg, metavar="N",
                         help="follow timeline N's history (default: STARTSEG's, else the newest history file here)")
    waldump.add_argument("--limit", "-n", type=int, metavar="N", help="stop after N records (shown or counted)")
    waldump.add_argument("--rmgr", "-r", action="append", metavar="RMGR",
                         help="only records of resource manager RMGR (repeatable); '-r list' lists them")
    waldump.add_argument("--xid", "-x", type=int, metavar="XID", help="only records of transaction XID")
    waldump.add_argument("--relation", "-R", type=_relation_arg, metavar="T/D/R",
                         help="only records that modify blocks of relation T/D/R (tablespace/database/relfilenode)")
    waldump.add_argument("--block", "-B", type=int, metavar="N", help="with --relation, only records that modify "
                                                                      "block N")
    waldump.add_argument("--fork", "-F", choices=list(FORKS), metavar="FORK",
                         help="only records that modify blocks of fork FORK: main, fsm, vm, init")
    waldump.add_argument("--fullpage", "-w", action="store_true", help="only records with a full page image")
    waldump.add_argument("--follow", "-f", action="store_true",
                         help="at the end of valid WAL, wait for more (every second) until interrupted")
    waldump.add_argument("--bkp-details", "-b", action="store_true",
                         help="accepted for pg_waldump's sake: block references are always shown")
    waldump.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    output = waldump.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per record")
    output.add_argument("--stats", "-z", nargs="?", const="rmgr", choices=["rmgr", "record"],
                        help="per resource manager (or, --stats=record, per record type) statistics, "
                             "as pg_waldump --stats")
    waldump.set_defaults(handler=commands.cmd_waldump)

    divergence = subcommands.add_parser(
        "divergence", help="where two clusters diverged, as pg_rewind decides it",
        description="Whether the target must be rewound to follow the source, where their histories part, "
                    "and from which checkpoint a rewind starts; nothing is written.",
    )
    _add_pair_arguments(divergence)
    divergence.set_defaults(handler=commands.cmd_divergence)

    discarded = subcommands.add_parser(
        "discarded", help="what a rewind throws away: the old primary's transactions after the divergence",
        description="Every transaction the target committed after the divergence (with its commit time and "
                    "subtransactions), prepared ones, rolled-back and unfinished ones as counts, per table the rows "
                    "inserted, updated and deleted, DDL, sequences and logical messages, and when the source "
                    "took over; read from the target's WAL, named from the source's catalogue (a live source) "
                    "and the target's own catalogue files. Nothing is written.",
    )
    _add_pair_arguments(discarded)
    discarded.add_argument("--transactions", metavar="N|all", type=_transactions_arg,
                           help="list the first N committed transactions one by one (by default the first 1000), or "
                                "all of them (memory grows with them: a busy primary commits millions); the counts, "
                                "times and tables always cover every one")
    discarded.set_defaults(handler=commands.cmd_discarded)

    plan = subcommands.add_parser(
        "plan", help="what pg_rewind would do, without doing it",
        description="Every check, the divergence, the file map with every block pg_rewind would copy, the bytes, "
                    "the WAL it must read and the configuration files it would overwrite. Exit status 3 when "
                    "pg_rewind would fail.",
    )
    _add_pair_arguments(plan)
    plan.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    plan.add_argument("--discarded", choices=["auto", "always", "never"], default="auto",
                      help="read what the rewind throws away (a second pass over the target's WAL after the "
                           "divergence): auto (default) up to 64 MB of it, always, or never")
    plan.add_argument("--pg-rewind-version", metavar="X.Y", type=_release_arg,
                      help="predict this pg_rewind release (e.g. 16.2); by default the pg_rewind that rewind "
                           "would run for the target's major, else the newest minor known")
    plan.add_argument("--restore-command", metavar="CMD",
                      help="probe the archive with this restore command (%%f, %%p; run as the target's owner into "
                           "a private temporary directory, never pg_wal): whether it holds each missing segment "
                           "and history files of timelines the source does not follow")
    plan.set_defaults(handler=commands.cmd_plan)

    rewind_cmd = subcommands.add_parser(
        "rewind", help="run pg_rewind safely",
        description="Plan, fetch missing WAL with a restore command, keep pg_control and the configuration aside, run "
                    "the target major's pg_rewind (as the data directory's owner), put the target's own "
                    "configuration back. The password of --source-server never reaches a command line.",
    )
    _add_pair_arguments(rewind_cmd)
    _add_action_arguments(rewind_cmd)
    rewind_cmd.add_argument("--stop-target", action="store_true",
                            help="stop a running target cleanly first (never one that could be the source)")
    rewind_cmd.add_argument("--dry-run", "-n", action="store_true", help="pass --dry-run to pg_rewind")
    rewind_cmd.add_argument("--write-recovery-conf", "-R", action="store_true",
                            help="then configure the target as a standby of --source-server (on its current "
                                 "timeline)")
    rewind_cmd.add_argument("--restore-target-wal", "-c", action="store_true",
                            help="fetch missing WAL with the target's own restore_command (the default when no "
                                 "--restore-command is given)")
    rewind_cmd.add_argument("--no-ensure-shutdown", action="store_true",
                            help="do not recover an uncleanly stopped target first (pg_rewind then refuses it)")
    rewind_cmd.add_argument("--progress", "-P", action="store_true", help="accepted: progress is shown unless -q")
    rewind_cmd.add_argument("--checkpoint-source", action="store_true",
                            help="run CHECKPOINT on a just promoted source whose pg_control lags its timeline")
    rewind_cmd.add_argument("--wait-for-checkpoint", type=_seconds_arg, default=0.0, metavar="SECONDS",
                            help="or wait up to SECONDS for its own checkpoint (default: refuse at once)")
    rewind_cmd.set_defaults(handler=commands.cmd_rewind)

    recovery = subcommands.add_parser(
        "recovery-config", help="configure a data directory as a standby",
        description="Write recovery.conf (up to 11) or standby.signal and postgresql.auto.conf settings (12+). "
                    "The settings given replace the current ones; those not given keep their current value. "
                    "Files holding a password are readable by their owner only.",
    )
    _add_pgdata(recovery)
    recovery.add_argument("--primary-conninfo", metavar="CONNSTR", help="where to stream from")
    recovery.add_argument("--application-name", metavar="NAME",
                          help="name to stream under (added to the given or the current primary_conninfo)")
    recovery.add_argument("--slot", metavar="NAME", help="primary_slot_name")
    recovery.add_argument("--restore-command", metavar="CMD", help="how to fetch archived WAL")
    recovery.add_argument("--trigger-file", metavar="PATH",
                          help="the file whose appearance promotes the standby (trigger_file up to 11, "
                               "promote_trigger_file 12-15)")
    recovery.add_argument("--dry-run", action="store_true", help="print the files (passwords masked) instead")
    recovery.set_defaults(handler=commands.cmd_recovery_config)

    failback_cmd = subcommands.add_parser(
        "failback", help="make the old primary a streaming standby of the new one",
        description="Stop the target if it runs, plan, fetch missing WAL, rewind, keep its configuration, configure "
                    "it as a standby of the source, start it with its own pg_ctl and wait until the source shows "
                    "it streaming in pg_stat_replication.",
    )
    failback_cmd.add_argument("--target-pgdata", "-D", required=True, metavar="DIR", help=TARGET_HELP)
    failback_cmd.add_argument("--source-server", required=True, metavar="CONNSTR",
                              help="libpq connection string of the new primary (password from ~/.pgpass or "
                                   "PGPASSWORD; it never reaches a command line)")
    failback_cmd.add_argument("--application-name", metavar="NAME", help="name to stream under")
    failback_cmd.add_argument("--slot", metavar="NAME", help="primary_slot_name")
    failback_cmd.add_argument("--create-slot", action="store_true",
                              help="create the --slot on the source when it has none (else refuse)")
    failback_cmd.add_argument("--timeout", type=_seconds_arg, default=120.0, metavar="SECONDS",
                              help="how long to wait for the start and for streaming (default 120)")
    failback_cmd.add_argument("--checkpoint-source", action="store_true",
                              help="run CHECKPOINT on a just promoted source whose pg_control lags its timeline "
                                   "(as Patroni does)")
    failback_cmd.add_argument("--wait-for-checkpoint", type=_seconds_arg, default=0.0, metavar="SECONDS",
                              help="or wait up to SECONDS for its own checkpoint (default: refuse at once)")
    failback_cmd.add_argument("--discard-unarchived-wal", action="store_true",
                              help="rewind even though WAL marked .ready never reached the archive (by default it "
                                   "is archived with the target's archive_command first, or the failback stops)")
    failback_cmd.add_argument("--refuse-if-discarded", action="store_true",
                              help="refuse, before anything is changed, when the rewind would throw away a "
                                   "committed or prepared transaction of the old primary (setups that promise no "
                                   "loss: synchronous replication); what would be lost is printed either way")
    failback_cmd.add_argument("--no-start", action="store_true",
                              help="rewind and configure, leave starting to systemd, pg_ctlcluster or an orchestrator")
    failback_cmd.add_argument("--start-command", metavar="CMD",
                              help="start the standby with CMD (run by the shell as the invoking user) instead of "
                                   "pg_ctl, e.g. 'systemctl start postgresql@15-main'")
    failback_cmd.add_argument("--recovery-target-timeline", choices=["current", "latest"], default="current",
                              help="the source's current timeline (default), or 'latest' (follows any newer "
                                   "timeline's history file the archive holds, an abandoned one too)")
    failback_cmd.add_argument("--trigger-file", metavar="PATH",
                              help="trigger_file of the standby's recovery.conf (up to 11); by default the target's "
                                   "own (recovery.conf or recovery.done), else the one of the recovery.done pg_rewind "
                                   "copied from the source")
    failback_cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_action_arguments(failback_cmd)
    failback_cmd.set_defaults(handler=commands.cmd_failback)


def _add_action_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--restore-command", metavar="CMD",
                        help="fetch missing WAL with this (%%f file name, %%p path), e.g. 'cp /archive/%%f %%p'; "
                             "default: the target's own restore_command")
    parser.add_argument("--bindir", metavar="DIR", help="where the target major's PostgreSQL programs are")
    parser.add_argument("--config-file", metavar="FILE",
                        help="the target's postgresql.conf when it is outside the data directory (Debian's layout)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--backup-dir", metavar="DIR",
                        help="keep pg_control and the configuration here (default: a new private directory under "
                             "/var/lib/pgrewindkit/backups as root, ~/.local/state/pgrewindkit/backups otherwise)")
    parser.add_argument("--keep-backup", action="store_true", help="keep that backup after a success")
