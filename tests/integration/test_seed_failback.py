"""The seed's failback end to end on the seed's own PostgreSQL (``../shared/seed``: 9.5) and on 9.6:
server1 primary archiving to its own archive, server2 a pg_basebackup standby with the seed's
recovery.conf, promoted by its trigger file, ``pgbench -i -s 10`` on it, server1 stopped, then one
``failback`` call (``demo/seed.py`` plays every step; ``demo --live --major 9.5`` shows it)."""

from __future__ import annotations

import io
import shutil

import pytest

from pgrewindkit import cli
from pgrewindkit.demo import seed as story
from tests.support import pgbinaries
from tests.support.cluster import make_workdir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("state_directory")]


@pytest.mark.parametrize("bins", ["pg9.5.25", "pg9.6.22"], indirect=True)
def test_the_seeds_failback(bins: pgbinaries.PgBinaries) -> None:
    work = make_workdir(f"pgrk{bins.major}-seed-")
    seed = story.servers(bins, work)
    try:
        story.primary(seed)
        story.standby(seed)
        story.failover(seed)
        steps: list[str] = []
        result = story.fail_back(seed, on_step=lambda s: steps.append(f"{s.name}: {s.detail}"))
        assert result.streaming and result.rewind.outcome == "rewound", steps
        checked = story.check(seed)
        assert checked.streaming and checked.in_recovery and checked.new_write_arrived
        assert checked.timeline == checked.source_timeline == 2
        assert checked.port_kept and checked.archive_command_kept
        assert checked.accounts == 1_000_000  # pgbench -i -s 10 on server2, now on server1
        # the recovery.conf the seed's operator made by hand from the synced recovery.done
        settings = checked.recovery_settings
        assert settings["standby_mode"] == "on"
        assert f"port={seed.server2.port}" in settings["primary_conninfo"]
        assert settings["restore_command"] == f"cp {seed.archive2}/%f %p"
        assert settings["recovery_target_timeline"] == "2"
        assert settings["trigger_file"] == str(seed.trigger)
        assert any("trigger_file" in step for step in steps)
    finally:
        seed.stop_all()
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("bins", ["pg9.5.25"], indirect=True)
def test_live_demo_on_95(bins: pgbinaries.PgBinaries) -> None:
    """``pgrewindkit demo --live --major 9.5`` plays the seed on 9.5 (scale 1 here: the test above
    has the seed's full size)."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["demo", "--live", "--major", "9.5", "--bindir", str(bins.bindir), "--scale", "1"],
                    out=out, err=err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "PostgreSQL 9.5" in text and "wal_level hot_standby" in text and "trigger_file" in text
    assert "streaming: True" in text and "arrived: True" in text
