"""The ``pgrewindkit`` command: a thin layer over the public API.

Exit codes: 0 success; 1 bad input (a pgrewindkit error, printed as one line); 2 wrong usage;
70 an internal error (a bug: printed as one line too); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import pgrewindkit
from pgrewindkit.controlfile import read_control_file
from pgrewindkit.controlreport import controldata_json, controldata_lines
from pgrewindkit.errors import PgRewindKitError
from pgrewindkit.model import ControlFile
from pgrewindkit.timeline import TimelineHistory, read_timeline_history

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

PROG = "pgrewindkit"


class UsageError(Exception):
    """Arguments argparse accepted but that do not fit together."""


def _print_json(value: object, out: TextIO) -> None:
    json.dump(value, out, indent=2)
    out.write("\n")


def _brief(control: ControlFile) -> str:
    return (f"PostgreSQL {control.major}, {control.state.description}, timeline {control.timeline}, "
            f"checkpoint {control.checkpoint} (REDO {control.checkpoint_copy.redo}), "
            f"wal_log_hints {'on' if control.wal_log_hints else 'off'}, "
            f"data checksums {'on' if control.data_checksums else 'off'}")


def cmd_controldata(args: argparse.Namespace, out: TextIO) -> int:
    if args.brief:
        for path in args.paths:
            out.write(f"{path}: {_brief(read_control_file(path))}\n")
        return EXIT_OK
    if len(args.paths) != 1:
        raise UsageError("controldata takes one PATH unless --brief is given")
    control = read_control_file(args.paths[0])
    if args.json:
        _print_json(controldata_json(control), out)
    else:
        out.write("".join(line + "\n" for line in controldata_lines(control)))
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


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    history = read_timeline_history(args.file, timeline=args.timeline)
    if args.json:
        _print_json(_history_json(history), out)
        return EXIT_OK
    out.write(f"Timeline {history.timeline}\n")
    for span in history.spans:
        end = "(current)" if span.end is None else str(span.end)
        out.write(f"  timeline {span.timeline}: {span.begin} - {end}\n")
    for entry in history.entries:
        out.write(f"  switched from timeline {entry.timeline} at {entry.switchpoint}: {entry.reason}\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect PostgreSQL data directories and plan failbacks with pg_rewind, exactly.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {pgrewindkit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, TextIO], int] = args.handler
    try:
        return handler(args, out)
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
