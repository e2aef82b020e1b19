"""The harness on PostgreSQL 9.5 and 9.6: a streaming pair replicates, a failover promotes, and a
live source reads those servers (their ``xlog`` functions, ``pg_xlog``, no ``pg_stat_wal_receiver``
on 9.5)."""

from __future__ import annotations

import pytest

from pgrewindkit.cluster.source import LiveSource
from pgrewindkit.formats.lsn import LSN
from tests.fix_postgres import NINE
from tests.support import pgbinaries
from tests.support.scenarios import fail_over, streaming_pair, wait_replayed

pytestmark = pytest.mark.integration
on_nine = pytest.mark.parametrize("bins", NINE, indirect=True)


@on_nine
def test_a_streaming_pair_replicates_and_fails_over(bins: pgbinaries.PgBinaries) -> None:
    """One pair for both halves (a pair costs some 8 s on these releases): it streams, then the
    standby is promoted onto timeline 2."""
    primary, standby = streaming_pair(bins, {"wal_log_hints": "on"}, setup=("CREATE TABLE t (a int)",))
    try:
        primary.execute("INSERT INTO t SELECT generate_series(1, 100)")
        wait_replayed(standby, primary.insert_lsn())
        assert standby.query_one("SELECT count(*) FROM t") == 100  # hot_standby answers queries
        assert primary.query_one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1
        with LiveSource(primary.conninfo()) as live:
            assert live.major_row.version.name == bins.version[:3]  # type: ignore[index]
            assert not live.in_recovery() and live.current_timeline() == 1
            assert live.wal_position() >= LSN.parse(primary.insert_lsn())
        with LiveSource(standby.conninfo()) as live:
            assert live.in_recovery() and live.current_timeline() == 1
            assert live.wal_position() == LSN.parse(standby.replay_lsn() or "0/0")

        # the failover, as ``scenarios.failover`` makes it
        primary.execute("INSERT INTO t VALUES (1)")
        switchpoint = fail_over(primary, standby)
        assert not primary.running and standby.running
        assert standby.query_one("SELECT pg_is_in_recovery()") is False
        standby.execute("INSERT INTO t VALUES (2)", "CHECKPOINT")
        assert (standby.wal_path / "00000002.history").is_file()
        with LiveSource(standby.conninfo()) as live:
            assert live.current_timeline() == 2 and live.control.timeline == 2
            history = live.history(2)  # read from pg_xlog through pg_read_binary_file
            first = history.spans[0]
            assert (first.timeline, str(first.end)) == (1, switchpoint)
            assert {e.path for e in live.files()} >= {"pg_xlog/00000002.history", "global/pg_control"}
    finally:
        primary.destroy()
        standby.destroy()
