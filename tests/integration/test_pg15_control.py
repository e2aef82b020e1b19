"""Against Debian's PostgreSQL 15: a live server's answers, pg_controldata, and a real promotion."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from pgrewindkit import DBState, controldata_json, controldata_lines, read_control_file, read_timeline_history
from tests.support import pgbinaries
from tests.support.cluster import Cluster, make_workdir

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(pg15_cluster_template: Cluster) -> Iterator[Cluster]:
    copy = pg15_cluster_template.cold_copy(make_workdir("pgrk15-"))
    yield copy
    copy.destroy()


def _server_answers(cluster: Cluster) -> dict[str, object]:
    answers: dict[str, object] = {}
    for function in ("system", "checkpoint", "recovery", "init"):
        answers.update(cluster.query(f"SELECT * FROM pg_control_{function}()")[0])
    return answers


def test_live_server_agrees(cluster: Cluster) -> None:
    cluster.start()
    cluster.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) g", "CHECKPOINT")
    for _ in range(5):  # take the file and the answers at one moment: nothing writes it in between
        before = _server_answers(cluster)
        ours = controldata_json(read_control_file(cluster.pgdata))
        if _server_answers(cluster) == before:
            break
    for column, theirs in before.items():
        value = ours[column]
        if hasattr(theirs, "isoformat"):
            theirs = theirs.isoformat()
        assert str(value) == str(theirs) if not isinstance(theirs, bool) else value is theirs, column
    assert ours["state"] == "in production"


@pytest.mark.usefixtures("utc")
def test_text_equals_pg_controldata(cluster: Cluster, pg15: pgbinaries.PgBinaries) -> None:
    cluster.start()
    cluster.stop()
    env = {"LC_ALL": "C", "LANG": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"}
    theirs = subprocess.run([str(pg15.program("pg_controldata")), str(cluster.pgdata)],
                            capture_output=True, text=True, env=env, check=True).stdout
    ours = "".join(line + "\n" for line in controldata_lines(read_control_file(cluster.pgdata)))
    assert ours == theirs
    assert read_control_file(cluster.pgdata).state is DBState.SHUTDOWNED


def test_promotion_history_and_timeline(cluster: Cluster) -> None:
    cluster.make_standby_of(None)
    cluster.start()
    replayed = cluster.query_one("SELECT pg_last_wal_replay_lsn()::text")
    cluster.promote()
    cluster.execute("CHECKPOINT")
    history = read_timeline_history(cluster.pgdata / "pg_wal" / "00000002.history")
    assert [(e.timeline, str(e.switchpoint)) for e in history] == [(1, replayed)]
    control = read_control_file(cluster.pgdata)
    assert control.timeline == 2
    assert control.checkpoint_copy.prev_timeline == 2
    assert history.contains(1, history.switchpoint(1) or control.checkpoint)
