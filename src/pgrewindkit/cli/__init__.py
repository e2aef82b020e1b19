"""The ``pgrewindkit`` command: a thin layer over the public API and ``pgrewindkit.render``.

``parser`` holds the arguments, ``commands`` one function per command, ``progress`` what is drawn
on a terminal; every character printed comes from ``render``.

Exit codes: 0 success; 1 bad input (a pgrewindkit error, printed as one line); 2 wrong usage;
3 the plan says pg_rewind would fail; 70 an internal error (a bug: printed as one line too);
130 interrupted. With ``--json`` an error is also printed on stdout as one JSON object
(``render.error_json``), so that a tool reading stdout always gets JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from pgrewindkit import PgRewindKitError, PsycopgMissingError, render
from pgrewindkit.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PLAN_ERROR,
    EXIT_USAGE,
    UsageError,
)
from pgrewindkit.cli.parser import build_parser

PROG = render.PROG

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PLAN_ERROR",
    "EXIT_USAGE",
    "PROG",
    "UsageError",
    "build_parser",
    "main",
]


def _log_to(err: TextIO) -> None:
    """The command line is the one place logging is configured (the library only creates loggers)."""
    import logging  # only with --verbose: a command that logs nothing does not pay for importing it

    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(render.LOG_FORMAT))
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
    except (UsageError, PsycopgMissingError) as exc:  # a live source without the live extra: how to get it
        return _fail(args, out, err, exc, render.error_line(exc), EXIT_USAGE)
    except PgRewindKitError as exc:  # interrupted at a safe point: the target's state is in the line
        code = EXIT_INTERRUPTED if exc.kind == "interrupted" else EXIT_BAD_INPUT
        return _fail(args, out, err, exc, render.error_line(exc), code)
    except KeyboardInterrupt:
        err.write(render.text([render.interrupted_line()]))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: still one line, never a traceback
        return _fail(args, out, err, exc, render.internal_error_line(exc), EXIT_INTERNAL)


def _fail(args: argparse.Namespace, out: TextIO, err: TextIO, exc: BaseException, line: str, code: int) -> int:
    """An error as its one line on stderr; with ``--json`` also as one JSON object on stdout, where
    a tool reads the result (``{"error": {"kind", "message", "target_state"}}``)."""
    err.write(render.text([line]))
    if getattr(args, "json", False):
        out.write(render.json_document(render.error_json(exc, usage=isinstance(exc, UsageError))))
    return code
