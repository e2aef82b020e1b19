"""The forked runs behind the parallel WAL scan: results in order, errors raised, children reaped."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from pgrewindkit.errors import FormatError, Kind, PgRewindKitError
from pgrewindkit.formats.wal.forked import map_forked


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _square(n: int) -> int:
    return n * n


def test_results_come_in_the_tasks_order() -> None:
    heard: list[int] = []
    assert map_forked(_square, list(range(23)), 3, heard.append) == [n * n for n in range(23)]
    assert heard == list(range(1, 24))
    assert _no_children_left()


def test_each_task_runs_once_in_a_child() -> None:
    pids = map_forked(lambda _n: os.getpid(), list(range(8)), 2)  # no pickling of the function: forked
    assert os.getpid() not in pids and 1 <= len(set(pids)) <= 2


def test_a_large_result_arrives_whole() -> None:
    big = map_forked(lambda n: bytes([n]) * (3 << 20), [1, 2, 3], 2)
    assert [len(b) for b in big] == [3 << 20] * 3 and big[2][:1] == b"\x03"


def _fails_on_odd(n: int) -> int:
    if n % 2:
        raise FormatError(f"odd {n}", path="/somewhere")
    return n


def test_the_first_failing_task_s_error_is_raised() -> None:
    with pytest.raises(FormatError, match="odd 3") as caught:
        map_forked(_fails_on_odd, [0, 2, 3, 4, 5], 2)
    assert caught.value.path == "/somewhere"
    assert _no_children_left()


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.lock = threading.Lock()


def _raise_unpicklable(_n: int) -> int:
    raise _Unpicklable


def test_an_error_that_does_not_pickle_still_says_what_it_was() -> None:
    with pytest.raises(RuntimeError, match="_Unpicklable: cannot travel"):
        map_forked(_raise_unpicklable, [1, 2], 2)


def _killed_on_two(n: int) -> int:
    if n == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_killed_child_is_an_error_not_a_wait() -> None:
    with pytest.raises(PgRewindKitError, match="died") as caught:
        map_forked(_killed_on_two, [0, 1, 2, 3, 4, 5], 2)
    assert caught.value.kind is Kind.WORKER_FAILED
    assert _no_children_left()


def test_one_worker_or_one_task_runs_here() -> None:
    assert map_forked(lambda _n: os.getpid(), [1, 2], 1) == [os.getpid()] * 2
    assert map_forked(lambda _n: os.getpid(), [1], 4) == [os.getpid()]
    assert map_forked(_square, [], 4) == []


@pytest.mark.parametrize("segments", [8, 17, 45, 1968, 1 << 44])
@pytest.mark.parametrize("workers", [2, 3, 256])
def test_runs_cover_every_segment_once_shrinking_towards_the_end(segments: int, workers: int) -> None:
    from pgrewindkit.formats.wal.parallel import _guided_bounds

    bounds = _guided_bounds(100, segments, workers)
    sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    assert bounds[0] == 100 and bounds[-1] == 100 + segments and min(sizes) >= 1
    assert all(a >= b for a, b in zip(sizes, sizes[1:-1]))  # the last one takes what is left
    assert len(sizes) <= 16 * workers + 1  # what each run costs (its start, its result) stays small


def test_many_more_tasks_than_children_are_all_handed_out() -> None:
    """Two indices per child wait in the pipe at most, one more per result: no write can block."""
    assert map_forked(_square, list(range(5000)), 3) == [n * n for n in range(5000)]


class _OnlyOneWay(Exception):
    """Pickles, but cannot be rebuilt from its pickle (a keyword-only constructor)."""

    def __init__(self, *, what: str) -> None:
        super().__init__(what)


def _raise_one_way(_n: int) -> int:
    raise _OnlyOneWay(what="lost on the way back")


def test_an_error_that_does_not_unpickle_still_says_what_it_was() -> None:
    with pytest.raises(RuntimeError, match="_OnlyOneWay: lost on the way back"):
        map_forked(_raise_one_way, [1, 2], 2)


def _raise_ours_with_a_lock(_n: int) -> int:
    exc = FormatError("bad page", path="/wal/000000010000000000000003", offset=8192)
    exc.lock = threading.Lock()  # type: ignore[attr-defined]  # what pickle cannot carry
    raise exc


def test_our_error_that_does_not_pickle_keeps_its_kind_and_place() -> None:
    with pytest.raises(PgRewindKitError, match="bad page") as caught:
        map_forked(_raise_ours_with_a_lock, [1, 2], 2)
    assert caught.value.kind is Kind.FORMAT and caught.value.path == "/wal/000000010000000000000003"
    assert caught.value.offset == 8192


def _interrupted(n: int) -> int:
    os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C reaches the whole process group
    return n


def test_children_leave_an_interrupt_to_the_parent() -> None:
    assert map_forked(_interrupted, [1, 2, 3], 2) == [1, 2, 3]


def test_when_no_process_can_be_forked_the_tasks_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert map_forked(lambda _n: os.getpid(), [1, 2, 3], 2) == [os.getpid()] * 3


def test_an_interrupt_while_waiting_kills_and_reaps_the_children() -> None:
    def interrupted(_n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_forked(_square, list(range(50)), 2, interrupted)
    assert _no_children_left()
