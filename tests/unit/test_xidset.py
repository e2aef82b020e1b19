"""The discarded-work pass's set of ended transactions, kept as bits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgrewindkit.analysis.xidset import XidSet

XIDS = st.integers(min_value=0, max_value=(1 << 32) - 1)


@given(st.lists(XIDS, max_size=200), st.lists(XIDS, max_size=50))
def test_it_is_a_set_of_ints(added: list[int], asked: list[int]) -> None:
    xids = XidSet()
    for xid in added:
        xids.add(xid)
    assert len(xids) == len(set(added))
    assert all(xid in xids for xid in added)
    assert all((xid in xids) == (xid in set(added)) for xid in asked)


def test_neighbours_and_edges() -> None:
    xids = XidSet()
    for xid in (0, 7, 8, 65535, 65536, (1 << 32) - 1):
        xids.add(xid)
    xids.add(8)  # counted once
    assert len(xids) == 6
    assert [x for x in (0, 1, 6, 7, 8, 9, 65534, 65535, 65536, 65537, (1 << 32) - 2, (1 << 32) - 1) if x in xids] == [
        0, 7, 8, 65535, 65536, (1 << 32) - 1]
    assert -1 not in xids and "7" not in xids and None not in xids and 1 << 32 not in xids


@pytest.mark.parametrize("xid", [-1, 1 << 32])
def test_what_is_not_a_transaction_id_is_refused(xid: int) -> None:
    with pytest.raises(ValueError, match="not a transaction id"):
        XidSet().add(xid)


def test_a_million_consecutive_xids_take_little_room() -> None:
    xids = XidSet()
    for xid in range(3_000_000, 4_000_000):
        xids.add(xid)
    assert len(xids) == 1_000_000 and 3_500_000 in xids and 2_999_999 not in xids
    assert len(xids._chunks) <= 17  # 16 chunks of 65536, and the one it starts in
