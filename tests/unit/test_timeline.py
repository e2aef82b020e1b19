"""History files from real promotions, and PostgreSQL's parsing rules applied to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrewindkit import LSN, DataFileNotFoundError, HistoryParseError, TimelineHistory, read_timeline_history
from tests.support.shipped import FIXTURES, expected, history_cases


@pytest.mark.parametrize(("major", "name"), history_cases())
def test_real_history_files(major: int, name: str) -> None:
    case = expected(major)["history"][name]
    history = read_timeline_history(FIXTURES / f"pg{major}" / name)
    assert history.timeline == case["timeline"]
    assert [(e.timeline, str(e.switchpoint)) for e in history] == [tuple(e) for e in case["entries"]]
    assert all(e.reason == "no recovery target specified" for e in history)


def _tl3(major: int = 15) -> bytes:
    return (FIXTURES / f"pg{major}" / "00000003.history").read_bytes()


def test_spans_and_queries() -> None:
    history = read_timeline_history(_tl3(), timeline=3)
    first, second = (e.switchpoint for e in history)
    assert history.timelines == (1, 2, 3)
    assert history.switchpoint(1) == first
    assert history.switchpoint(3) is None
    assert history.timeline_at(LSN(0)) == 1
    assert history.timeline_at(first) == 2
    assert history.timeline_at(second) == 3
    assert history.contains(1, first)
    assert not history.contains(1, first + 8)
    assert history.contains(2, second)
    assert history.contains(3, LSN(2**63))
    assert not history.contains(4, LSN(0))
    with pytest.raises(KeyError):
        history.switchpoint(9)


def test_timeline_one_has_no_history() -> None:
    assert TimelineHistory.initial().timelines == (1,)


def test_comments_blank_lines_and_whitespace_are_skipped() -> None:
    real = _tl3().decode()
    decorated = "# made by hand\n\n   \n" + real.replace("\n", "\n  # note\n", 1) + "\n# end\n"
    assert read_timeline_history(decorated.encode(), timeline=3) == read_timeline_history(_tl3(), timeline=3)


def test_a_timeline_may_be_skipped() -> None:
    # A TL3 history that never went through TL2 (a standby that promoted after following TL1 only).
    first_line = _tl3().decode().splitlines()[0]
    history = read_timeline_history((first_line + "\n").encode(), timeline=3)
    assert history.timelines == (1, 3)


def test_timeline_from_name_or_inferred(tmp_path: Path) -> None:
    copy = tmp_path / "0000000A.history"
    copy.write_bytes(_tl3())
    assert read_timeline_history(copy).timeline == 10
    assert read_timeline_history(_tl3()).timeline == 3


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [("x\t0/1\treason\n", 1, "expected a numeric timeline ID"),
     ("1\tzz\treason\n", 1, "expected a write-ahead log switchpoint location"),
     ("1\t0/10\tr\n# c\n1\t0/20\tr\n", 3, "increasing sequence"),
     ("2\t0/10\tr\n1\t0/20\tr\n", 2, "increasing sequence")],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(HistoryParseError, match=message) as info:
        read_timeline_history(text.encode(), timeline=9)
    assert info.value.line == line


def test_child_must_be_newer() -> None:
    with pytest.raises(HistoryParseError, match="less than child"):
        read_timeline_history(_tl3(), timeline=2)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="timeline history file does not exist"):
        read_timeline_history(tmp_path / "00000002.history")
