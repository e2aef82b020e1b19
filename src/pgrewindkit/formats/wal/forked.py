"""Tasks run by forked processes, each result sent back pickled through a pipe of its own.

What ``concurrent.futures.ProcessPoolExecutor`` does for the parallel WAL scan, without what a
scan does not need: the executor and ``multiprocessing`` cost a command about 15 ms of imports
before its first record (more than a third of pgrewindkit's start-up above the interpreter's), and
pickle every task to send it. Here the children are forked with the tasks already in memory and
take their indices from one pipe (4-byte reads, which a pipe never splits), so nothing but the
results is pickled. A child that dies (killed, out of memory) leaves its task without a result:
an error once every other child is done, never a wait. Where there is no ``fork``, the tasks run
in this process, one after the other.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Sequence
from typing import TypeVar

from pgrewindkit.errors import Kind, PgRewindKitError

T = TypeVar("T")
R = TypeVar("R")

_INDEX = struct.Struct("<I")
_HEADER = struct.Struct("<I?Q")  # the task's index, whether it returned (else raised), the pickle's length
_READ_SIZE = 1 << 20
MAX_TASKS = 4096


class _Child:
    """The parent's end of one child: its pid, the pipe its results arrive on, what is unread."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd: int | None = fd
        self.pending = bytearray()


def map_forked(function: Callable[[T], R], tasks: Sequence[T], workers: int,
               on_result: Callable[[int], None] | None = None) -> list[R]:
    """``[function(task) for task in tasks]``, computed by ``workers`` forked processes.
    ``on_result(n)`` hears of each result as it arrives (``n`` of them so far). An exception a task
    raised is raised here (the first task's, in order, when several did)."""
    if not hasattr(os, "fork") or workers < 2 or len(tasks) < 2:
        results = []
        for task in tasks:
            results.append(function(task))
            if on_result is not None:
                on_result(len(results))
        return results
    if len(tasks) > MAX_TASKS:
        raise ValueError(f"{len(tasks)} tasks: more than the {MAX_TASKS} whose indices a pipe holds")
    feed_out, feed_in = os.pipe()
    try:
        # every index before any child reads: the write cannot block (pipes hold 16 KB at least)
        os.write(feed_in, b"".join(_INDEX.pack(i) for i in range(len(tasks))))
    finally:
        os.close(feed_in)
    children: list[_Child] = []
    try:
        for _ in range(min(workers, len(tasks))):
            children.append(_fork(function, tasks, feed_out, children))
        os.close(feed_out)
        feed_out = -1
        outcomes = _collect(children, on_result)
    finally:
        if feed_out >= 0:
            os.close(feed_out)
        _end(children)
    return _in_order(outcomes, len(tasks))


def _fork(function: Callable[[T], R], tasks: Sequence[T], feed: int, siblings: list[_Child]) -> _Child:
    results_out, results_in = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no more processes: nothing of this child to keep
        os.close(results_out)
        os.close(results_in)
        raise
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(results_out)
            for sibling in siblings:  # their pipes are the parent's to read
                if sibling.fd is not None:
                    os.close(sibling.fd)
            _serve(function, tasks, feed, results_in)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no second flush of the parent's buffers
    os.close(results_in)
    return _Child(pid, results_out)


def _serve(function: Callable[[T], R], tasks: Sequence[T], feed: int, out: int) -> None:
    """The child's loop: take the next index, run its task, send what came of it."""
    while True:
        index = os.read(feed, _INDEX.size)
        if len(index) < _INDEX.size:
            return
        (i,) = _INDEX.unpack(index)
        try:
            returned, payload = True, pickle.dumps(function(tasks[i]), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # sent to the parent, which raises it
            returned, payload = False, _pickled_error(exc)
        message = memoryview(_HEADER.pack(i, returned, len(payload)) + payload)
        while message:
            message = message[os.write(out, message):]


def _pickled_error(exc: Exception) -> bytes:
    try:
        return pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its words, at least
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"), pickle.HIGHEST_PROTOCOL)


def _collect(children: list[_Child], on_result: Callable[[int], None] | None) -> dict[int, tuple[bool, bytes]]:
    """Every message the children send, until each has closed its pipe (done, or dead)."""
    outcomes: dict[int, tuple[bool, bytes]] = {}
    by_fd = {child.fd: child for child in children if child.fd is not None}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    while by_fd:
        for fd, _event in poller.poll():
            child = by_fd[fd]
            data = os.read(fd, _READ_SIZE)
            if not data:
                poller.unregister(fd)
                os.close(fd)
                child.fd = None
                del by_fd[fd]
                continue
            child.pending += data
            for index, returned, payload in _messages(child.pending):
                outcomes[index] = (returned, payload)
                if on_result is not None:
                    on_result(len(outcomes))
    return outcomes


def _messages(pending: bytearray) -> list[tuple[int, bool, bytes]]:
    """The whole messages at the start of ``pending``, taken out of it."""
    found = []
    at = 0
    while len(pending) - at >= _HEADER.size:
        index, returned, length = _HEADER.unpack_from(pending, at)
        end = at + _HEADER.size + length
        if len(pending) < end:
            break
        found.append((index, returned, bytes(pending[at + _HEADER.size:end])))
        at = end
    del pending[:at]
    return found


def _end(children: list[_Child]) -> None:
    """Close what is open and reap every child; one still running (this process was interrupted,
    or failed) is killed first."""
    for child in children:
        if child.fd is not None:
            os.close(child.fd)
            child.fd = None
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(child.pid, signal.SIGKILL)
    for child in children:
        os.waitpid(child.pid, 0)


def _in_order(outcomes: dict[int, tuple[bool, bytes]], count: int) -> list[R]:
    missing = [i for i in range(count) if i not in outcomes]
    if missing:
        raise PgRewindKitError("a process reading WAL in parallel died before it finished (killed, or out "
                               "of memory); nothing was concluded from its part", kind=Kind.WORKER_FAILED)
    results: list[R] = []
    for i in range(count):
        returned, payload = outcomes[i]
        value = pickle.loads(payload)
        if not returned:
            raise value
        results.append(value)
    return results
