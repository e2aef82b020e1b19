"""What must be proven before a rewind or a failback touches anything: that the target is not the
source (a mistyped ``-D`` must never stop the new primary), that both come from the same ``initdb``,
and that the source's pg_control tells its real timeline (right after a promotion it does not yet;
``settle_source`` runs a checkpoint or waits for one). Whether a target may start as a standby
without a rewind is the plan's to say (``RewindPlan.standby_without_rewind_is_safe``), and whether the
source's checkpoint is pending is the analysis layer's (``source_checkpoint_pending``): this module
acts on those answers and proves nothing of the kind itself.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import time
from pathlib import Path

import attrs

from pgrewindkit.analysis.divergence import source_checkpoint_pending
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.source import ServerIdentity, Source
from pgrewindkit.errors import Kind, PgRewindKitError, RewindError

log = logging.getLogger(__name__)


@attrs.frozen
class PidFile:
    """``postmaster.pid``: what the postmaster wrote of itself (its lines, in PostgreSQL's order)."""

    pid: int
    data_directory: str | None = None
    started: int | None = None  # seconds since the epoch
    port: int | None = None
    socket_directory: str | None = None
    listen_address: str | None = None


def read_pid_file(pgdata: Path) -> PidFile | None:
    """The target's ``postmaster.pid``, None when there is none or it is not one."""
    try:
        lines = (pgdata / "postmaster.pid").read_text(errors="replace").split("\n")
    except OSError:
        return None

    def number(index: int) -> int | None:
        text = lines[index].strip() if index < len(lines) else ""
        return int(text) if text.lstrip("-").isdigit() else None

    def text(index: int) -> str | None:
        value = lines[index].strip() if index < len(lines) else ""
        return value or None

    pid = number(0)
    if pid is None:
        return None
    return PidFile(pid, text(1), number(2), number(3), text(4), text(5))


def is_local_address(address: str | None) -> bool:
    """Whether the server answered on this host: a Unix socket, or an address we may bind (a
    non-local address cannot be bound)."""
    if address is None:
        return True
    host = address.split("/", 1)[0]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError as exc:
        return exc.errno != errno.EADDRNOTAVAIL
    return True


def _same_path(one: str | os.PathLike[str], other: Path) -> bool:
    try:
        return Path(one).resolve() == other.resolve() or Path(one).samefile(other)
    except OSError:
        return False


def target_is_source(tgt: DataDirectory, source: Source) -> str | None:
    """Why the target could be the source itself, or None when it provably is not."""
    if source.pgdata is not None:
        return f"the source data directory {source.pgdata} is the target" if _same_path(source.pgdata, tgt.path) \
            else None
    identity = source.server_identity()
    if identity is None:
        return None
    return _live_source_is_target(tgt, identity, source)


def _live_source_is_target(tgt: DataDirectory, identity: ServerIdentity, source: Source) -> str | None:
    local = is_local_address(identity.address)
    running = tgt.server_running()
    if local and identity.data_directory is not None:
        # decisive where it can be read: the server says which directory it runs on
        if _same_path(identity.data_directory, tgt.path):
            return f"the source server's data_directory ({identity.data_directory}) is the target"
    elif running:
        reason = _same_listener(read_pid_file(tgt.path), identity, local)
        if reason is not None:
            return reason
    if running:
        try:
            if source.read_file("global/pg_control") == tgt.read_file("global/pg_control"):
                return "the source server's pg_control is byte for byte the target's"
        except PgRewindKitError:
            pass  # not readable there: the other proofs stand
    return None


def _same_listener(pid_file: PidFile | None, identity: ServerIdentity, local: bool) -> str | None:
    """Without the source's data_directory: whether the running target listens where the source
    answered (its port on this host, and the same socket directory when we came by a socket), or
    started on that port the same second."""
    if pid_file is None or pid_file.port != identity.port:
        return None
    sockets_differ = identity.socket_directory is not None and pid_file.socket_directory is not None \
        and not _same_path(identity.socket_directory, Path(pid_file.socket_directory))
    if local and not sockets_differ:
        return (f"the target's server (postmaster.pid: port {pid_file.port}, socket {pid_file.socket_directory}) "
                "listens where the source server does, on this host")
    if identity.started is not None and pid_file.started is not None and abs(pid_file.started - identity.started) < 2:
        return "the target's server started at the same second on the same port as the source server"
    return None


def prove_target(tgt: DataDirectory, source: Source) -> None:
    """Refuse (``RewindError``, the target untouched) unless the target is another member of the
    source's cluster: the same system identifier, and not the source itself."""
    reason = target_is_source(tgt, source)
    if reason is not None:
        raise RewindError(f"the target {tgt.path} is the source ({source.description}): {reason}; "
                          "nothing was stopped or changed (check -D)", kind=Kind.TARGET_IS_SOURCE)
    ours, theirs = tgt.control.system_identifier, source.control.system_identifier
    if ours != theirs:
        raise RewindError(f"source and target clusters are from different systems (source {theirs}, target "
                          f"{ours}); nothing was stopped or changed", kind=Kind.DIFFERENT_SYSTEMS)


# -- the source's pending checkpoint ----------------------------------------------------------------------


def settle_source(source: Source, tgt: DataDirectory, *, checkpoint: bool, wait: float) -> None:
    """Make the source's pg_control tell its real timeline before the target is planned for (or
    stopped): run ``CHECKPOINT`` when asked, or wait up to ``wait`` seconds for one; refuse
    (``source_checkpoint_pending``) otherwise. Pending as the analysis says it for the pg_rewind of
    the target's major (16+ reads the promotion's minRecoveryPointTLI and needs no checkpoint)."""
    major = tgt.control.major
    pending = source_checkpoint_pending(source, major)
    if pending is None:
        return
    if checkpoint:
        log.info("the source writes timeline %d but its pg_control says %d: CHECKPOINT", pending[1], pending[0])
        source.checkpoint()
    deadline = time.monotonic() + wait
    while pending is not None and time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        source.refresh()
        pending = source_checkpoint_pending(source, major)
    source.refresh()
    pending = source_checkpoint_pending(source, major)
    if pending is not None:
        remedy = ("ask for --checkpoint-source, or wait with --wait-for-checkpoint" if source.is_live else
                  "start it and run CHECKPOINT, or stop it cleanly")
        raise RewindError(f"the source writes timeline {pending[1]} but its pg_control still says {pending[0]} (it "
                          "was promoted and has not finished a checkpoint since): pg_rewind would decide on the old "
                          f"timeline; {remedy}", kind=Kind.SOURCE_CHECKPOINT_PENDING)
