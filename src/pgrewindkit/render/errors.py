"""Errors as the command line reports them: one line on stderr, never a traceback; and, for tools,
one JSON object (``error_json``, printed on stdout by every command given ``--json``)."""

from __future__ import annotations

from pgrewindkit.cluster.conninfo import one_line
from pgrewindkit.errors import FailbackError, Kind, PgRewindKitError, RewindError

PROG = "pgrewindkit"
LOG_FORMAT = f"{PROG}: %(name)s: %(message)s"  # --verbose: the library's log records on stderr


def error_line(exc: BaseException) -> str:
    """A pgrewindkit error, or a usage error, as its one line."""
    return f"{PROG}: error: {one_line(str(exc))}"


def internal_error_line(exc: BaseException) -> str:
    """A bug: still one line, naming the exception's type."""
    return f"{PROG}: internal error: {type(exc).__name__}: {one_line(str(exc))}"


def interrupted_line() -> str:
    return f"{PROG}: interrupted"


def error_json(exc: BaseException, *, usage: bool = False) -> dict[str, object]:
    """``{"error": {"kind", "message", "target_state"}}``.

    ``kind`` is the error's own kind (the reference lists them), ``"usage"`` for arguments that do
    not fit together (``usage``), ``"internal"`` for an exception pgrewindkit did not raise on
    purpose; ``target_state`` is what a failed rewind left the target as (``unchanged``, ...),
    else null. The message is one line.
    """
    if not isinstance(exc, PgRewindKitError):
        kind = str(Kind.USAGE) if usage else "internal"
        return {"error": {"kind": kind, "message": one_line(str(exc)), "target_state": None}}
    target_state = exc.target_state if isinstance(exc, RewindError) else None
    message = f"{exc.step}: {exc.message}" if isinstance(exc, FailbackError) else exc.message
    return {"error": {"kind": str(exc.kind), "message": one_line(message), "target_state": target_state}}
