"""A real failback on each major's own programs (14-18; 15's full story is in test_failback.py): the
old primary is rewound by its major's pg_rewind, configured as a standby, started, and streams."""

from __future__ import annotations

import pytest

from pgrewindkit.actions.failback import failback
from tests.fix_postgres import EVERY_MAJOR, release_of
from tests.support import pgbinaries
from tests.support.scenarios import diverged, wait_replayed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("bins", [name for name in EVERY_MAJOR if name != "pg15-debian"], indirect=True)
def test_failback_ends_streaming(bins: pgbinaries.PgBinaries, monkeypatch: pytest.MonkeyPatch) -> None:
    # pgrewindkit runs programs in its own environment: give these trees their libpq, as an install would
    for key, value in bins.env.items():
        monkeypatch.setenv(key, value)
    pair = diverged(bins, setup=("CREATE TABLE t (id int, v text)", "INSERT INTO t VALUES (1, 'before')",
                                 "CHECKPOINT"),
                    on_source=("INSERT INTO t VALUES (2, 'on the new primary')",),
                    on_target=("INSERT INTO t VALUES (3, 'lost on the old primary')", "CHECKPOINT"))
    old, new = pair.target, pair.source
    try:
        new.start()
        result = failback(old.pgdata, new.conninfo(), bindir=bins.bindir, timeout=60)
        old.running = True
        assert result.streaming and result.rewind.outcome == "rewound"
        assert result.rewind.plan.predicts == "pg_rewind {}.{}".format(*release_of(bins))
        assert old.query_one("SELECT pg_is_in_recovery()") is True
        new.execute("INSERT INTO t VALUES (4, 'after the failback')")
        wait_replayed(old, new.query_one("SELECT pg_current_wal_insert_lsn()::text"))
        assert [r["v"] for r in old.query("SELECT v FROM t ORDER BY id")] == [
            "before", "on the new primary", "after the failback"]
    finally:
        pair.destroy()
