"""The command's exit statuses, and the one error the command line raises itself."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # a pgrewindkit error: bad input or a failed action
EXIT_USAGE = 2
EXIT_PLAN_ERROR = 3  # the plan says pg_rewind would fail
EXIT_INTERNAL = 70  # a bug
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Arguments argparse accepted but that do not fit together."""
