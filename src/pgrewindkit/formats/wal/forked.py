"""Tasks run by forked processes, each result sent back pickled through a pipe of its own.

What ``concurrent.futures.ProcessPoolExecutor`` does for the parallel WAL scan, without what a
scan does not need: the executor and ``multiprocessing`` cost a command about 15 ms of imports
before its first record (more than a third of pgrewindkit's start-up above the interpreter's), and
pickle every task to send it. Here the children are forked with the tasks already in memory and
take their indices from one pipe, so nothing but the results is pickled.

- **Indices.** The parent writes two per child at first, then one more for each result: never
  more than ``2 * workers`` wait in the pipe (2 KB at most, less than any pipe holds), so a write
  never blocks. Children read 4 bytes at a time, which a pipe never splits between readers.
- **A dead child** (killed, out of memory) leaves its task without a result: an error once every
  other child is done, never a wait (the index pipe is closed as soon as a child is seen to end
  early, so the others stop taking tasks).
- **Errors** a task raises are raised here, the first task's in order; once one arrives, no more
  tasks are handed out.
- **Signals.** Children ignore SIGINT (the parent, interrupted, kills them) and take SIGTERM's
  default; they do not write to the parent's wakeup fd. Both signals are blocked around each fork,
  so an interrupt cannot leave a child unrecorded or run the parent's code in a child.
- Where there is no ``fork``, or no process can be forked, the tasks run in this process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pgrewindkit.errors import Kind, PgRewindKitError

T = TypeVar("T")
R = TypeVar("R")

_INDEX = struct.Struct("<I")
_HEADER = struct.Struct("<I?Q")  # the task's index, whether it returned (else raised), the pickle's length
_READ_SIZE = 1 << 20
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class _Child:
    """The parent's end of one child: its pid, the pipe its results arrive on, what is unread."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd: int | None = fd
        self.pending = bytearray()
        self.reaped = False


class _Feed:
    """The parent's end of the index pipe: the next index to hand out, and how many there are."""

    def __init__(self, fd: int, count: int) -> None:
        self.fd: int | None = fd
        self.next = 0
        self.count = count

    def give(self, n: int) -> None:
        """Hand out ``n`` more indices (fewer when fewer are left); close the pipe after the last."""
        if self.fd is None:
            return
        n = min(n, self.count - self.next)
        if n > 0:
            try:
                os.write(self.fd, b"".join(_INDEX.pack(i) for i in range(self.next, self.next + n)))
            except BrokenPipeError:  # every child has ended: what is left is never handed out
                self.close()
                return
            self.next += n
        if self.next >= self.count:
            self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def map_forked(function: Callable[[T], R], tasks: Sequence[T], workers: int,
               on_result: Callable[[int], None] | None = None) -> list[R]:
    """``[function(task) for task in tasks]``, computed by ``workers`` forked processes.
    ``on_result(n)`` hears of each result as it arrives (``n`` of them so far). An exception a task
    raised is raised here (the first task's, in order, when several did)."""
    if not hasattr(os, "fork") or workers < 2 or len(tasks) < 2:
        return _here(function, tasks, on_result)
    feed_out, feed_in = os.pipe()
    feed = _Feed(feed_in, len(tasks))
    children: list[_Child] = []
    try:
        feed.give(2 * min(workers, len(tasks)))
        with _signals_blocked():  # each child recorded before an interrupt can be raised here
            for _ in range(min(workers, len(tasks))):
                child = _fork(function, tasks, feed_out, feed.fd, children)
                if child is None:  # no more processes: the children there are take every task
                    break
                children.append(child)
        os.close(feed_out)
        feed_out = -1
        if not children:
            feed.close()
            return _here(function, tasks, on_result)
        outcomes = _collect(children, feed, on_result)
    finally:
        if feed_out >= 0:
            os.close(feed_out)
        feed.close()
        _end(children)
    return _in_order(outcomes, len(tasks))


def _here(function: Callable[[T], R], tasks: Sequence[T], on_result: Callable[[int], None] | None) -> list[R]:
    results = []
    for task in tasks:
        results.append(function(task))
        if on_result is not None:
            on_result(len(results))
    return results


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _fork(function: Callable[[T], R], tasks: Sequence[T], feed_out: int, feed_in: int | None,
          siblings: list[_Child]) -> _Child | None:
    """A child serving tasks from ``feed_out``; None when no process can be forked. Called with
    SIGINT and SIGTERM blocked."""
    results_out, results_in = os.pipe()
    try:
        pid = os.fork()
    except BaseException as exc:  # nothing of this child to keep
        os.close(results_out)
        os.close(results_in)
        if isinstance(exc, OSError):  # EAGAIN, ENOMEM
            return None
        raise
    if pid == 0:  # the child: never returns
        _child(function, tasks, feed_out, feed_in, results_out, results_in, siblings)
    os.close(results_in)
    return _Child(pid, results_out)


def _child(function: Callable[[T], R], tasks: Sequence[T], feed_out: int, feed_in: int | None,
           results_out: int, results_in: int, siblings: list[_Child]) -> None:
    code = 1
    try:
        with contextlib.suppress(ValueError):  # not the main thread: then it was never set here
            signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        os.close(results_out)
        if feed_in is not None:  # else the index pipe never ends for this child
            os.close(feed_in)
        for sibling in siblings:  # their pipes are the parent's to read
            if sibling.fd is not None:
                os.close(sibling.fd)
        _serve(function, tasks, feed_out, results_in)
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no second flush of the parent's buffers


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
        _write_all(out, _HEADER.pack(i, returned, len(payload)))
        _write_all(out, payload)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pickled_error(exc: Exception) -> bytes:
    """``exc`` pickled, when it comes back out as it went in; else what it said, as ours."""
    try:
        payload = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
        pickle.loads(payload)
        return payload
    except Exception:
        pass
    if isinstance(exc, PgRewindKitError):
        plain: Exception = PgRewindKitError(exc.problem, kind=exc.kind, path=exc.path, offset=exc.offset,
                                            line=exc.line)
    else:
        plain = RuntimeError(f"{type(exc).__name__}: {exc}")
    return pickle.dumps(plain, pickle.HIGHEST_PROTOCOL)


def _collect(children: list[_Child], feed: _Feed,
             on_result: Callable[[int], None] | None) -> dict[int, tuple[bool, bytes]]:
    """Every message the children send, until each has closed its pipe (done, or dead); one more
    index handed out for each result, none after an error or a child's early end."""
    outcomes: dict[int, tuple[bool, bytes]] = {}
    by_fd = {child.fd: child for child in children if child.fd is not None}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    while by_fd:
        for fd, _event in poller.poll():
            child = by_fd[fd]
            data = os.read(fd, _READ_SIZE)
            if not data:  # it exited: before the last index was handed out, it died
                poller.unregister(fd)
                os.close(fd)
                child.fd = None
                del by_fd[fd]
                feed.close()
                continue
            child.pending += data
            for index, returned, payload in _messages(child.pending):
                outcomes[index] = (returned, payload)
                if returned:
                    feed.give(1)
                else:
                    feed.close()
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
    or failed) is killed first. Reaping goes on through a second interrupt, which is raised after."""
    for child in children:
        if child.fd is not None:
            os.close(child.fd)
            child.fd = None
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(child.pid, signal.SIGKILL)
    interrupted: BaseException | None = None
    for child in children:
        while not child.reaped:
            try:
                os.waitpid(child.pid, 0)
                child.reaped = True
            except ChildProcessError:  # SIGCHLD ignored here: the system reaped it
                child.reaped = True
            except KeyboardInterrupt as exc:
                interrupted = exc
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
    if interrupted is not None:
        raise interrupted


def _in_order(outcomes: dict[int, tuple[bool, bytes]], count: int) -> list[Any]:
    """The results in the tasks' order; the first error, in that order, raised."""
    failed = sorted(i for i, (returned, _payload) in outcomes.items() if not returned)
    if failed:
        raise pickle.loads(outcomes[failed[0]][1])
    if len(outcomes) < count:
        raise PgRewindKitError("a process reading WAL in parallel died before it finished (killed, or out "
                               "of memory); nothing was concluded from its part", kind=Kind.WORKER_FAILED)
    return [pickle.loads(outcomes[i][1]) for i in range(count)]
