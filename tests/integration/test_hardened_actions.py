"""Issue 11 on real servers (Debian's 15): the actions run as root while the ``postgres`` user plants
links; pg_rewind killed at its phases through a wrapper program; two runs at once and a SIGINT to a
running ``pgrewindkit rewind``; a stale ``postmaster.pid`` naming a live unrelated postmaster."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit.actions.failback import failback
from pgrewindkit.actions.rewind import rewind
from pgrewindkit.errors import PgRewindKitError, RewindError
from tests.support import pgbinaries
from tests.support.cluster import Cluster, make_workdir, new_cluster, remove_tree, run_captured
from tests.support.scenarios import Diverged, diverged

pytestmark = pytest.mark.integration

WRAPPER = """#!{python}
# pg_rewind, as the test wants it: the real one, killed when it prints PHASE, or started after a pause
import os, signal, subprocess, sys, time
real, phase, pause, marker = {real!r}, {phase!r}, {pause!r}, {marker!r}
if sys.argv[1:] == ["--version"]:
    os.execv(real, [real, "--version"])
if marker:
    open(marker, "w").close()
time.sleep(pause)
child = subprocess.Popen([real, *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in child.stdout:
    print(line, end="", flush=True)
    if phase and phase in line:
        child.send_signal(signal.SIGKILL)
        break
sys.exit(child.wait() or 0)
"""


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)} {info.st_mode} {info.st_uid}\n".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def bins(monkeypatch: pytest.MonkeyPatch) -> Iterator[pgbinaries.PgBinaries]:
    found = pgbinaries.debian(15)
    if found is None or os.geteuid() != 0:
        pytest.skip("needs root and Debian's postgresql-15")
    assert found is not None
    state = make_workdir("pgrk-state-")
    monkeypatch.setenv("PGREWINDKIT_STATE_DIR", str(state / "state"))
    yield found
    remove_tree(state)


@pytest.fixture
def pair(bins: pgbinaries.PgBinaries) -> Iterator[Diverged]:
    made = diverged(bins, on_source=("CREATE TABLE s AS SELECT 1 AS a",),
                    on_target=("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g",))
    yield made
    made.destroy()


_MADE: list[Path] = []  # work directories the tests made outside a cluster's, removed after each test


@pytest.fixture(autouse=True)
def _remove_made() -> Iterator[None]:
    yield
    while _MADE:
        remove_tree(_MADE.pop())


def _wrapper(bins: pgbinaries.PgBinaries, *, phase: str = "", pause: float = 0.0, marker: str = "") -> Path:
    """A bindir whose pg_rewind is the wrapper (run as postgres: the directory is theirs to read)."""
    bindir = make_workdir("pgrk-bin-")
    _MADE.append(bindir)
    script = bindir / "pg_rewind"
    script.write_text(WRAPPER.format(python="/usr/bin/python3", real=str(bins.program("pg_rewind")), phase=phase,
                                     pause=pause, marker=marker))
    script.chmod(0o755)
    return bindir


def _as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True)


def _starts(cluster: Cluster) -> None:
    """The target starts (and is stopped again): what a DBA would do next."""
    cluster.start()
    cluster.stop()


def test_links_the_owner_plants_while_pg_rewind_runs_are_never_followed(pair: Diverged, bins: pgbinaries.PgBinaries,
                                                                         tmp_path: Path) -> None:
    victim = tmp_path / "root-file"
    victim.write_text("precious\n")
    victim_dir = make_workdir("pgrk-victim-")
    _MADE.append(victim_dir)
    os.chown(victim_dir, 0, 0)
    (pair.source.pgdata / "pg_ident.conf").unlink()  # absent on the source: pg_rewind removes the target's
    hba = pair.target.pgdata / "pg_hba.conf"
    hba.chmod(0o640)
    before = hba.read_bytes()
    # the owner swaps pg_hba.conf for a link to a root file as soon as pg_rewind has copied it
    bindir = _wrapper(bins)
    script = bindir / "pg_rewind"
    script.write_text(script.read_text().replace(
        "sys.exit(child.wait() or 0)",
        f"code = child.wait()\nos.unlink({str(hba)!r})\nos.symlink({str(victim)!r}, {str(hba)!r})\nsys.exit(code)"))
    # and a --backup-dir that is theirs is refused
    hostile = pair.target.workdir / "backup"
    _as_postgres("mkdir", str(hostile))
    with pytest.raises(PgRewindKitError) as info:
        rewind(pair.target.pgdata, pair.source.pgdata, bindir=bindir, backup_dir=hostile)
    assert info.value.kind == "unsafe_path"
    _as_postgres("ln", "-s", str(victim_dir), str(hostile / "inner"))
    with pytest.raises(PgRewindKitError):
        rewind(pair.target.pgdata, pair.source.pgdata, bindir=bindir, backup_dir=hostile / "inner" / "b")
    assert list(victim_dir.iterdir()) == [] and victim_dir.stat().st_uid == 0

    result = rewind(pair.target.pgdata, pair.source.pgdata, bindir=bindir)
    assert result.outcome == "rewound"
    assert victim.read_text() == "precious\n" and victim.stat().st_uid == 0
    assert not hba.is_symlink() and hba.read_bytes() == before and oct(hba.stat().st_mode & 0o777) == "0o640"
    ident = pair.target.pgdata / "pg_ident.conf"
    assert ident.stat().st_uid == hba.stat().st_uid != 0, "recreated with its owner, not root's"
    _starts(pair.target)
    remove_tree(bindir)


@pytest.mark.parametrize("phase", ["syncing target data directory", "need to copy"])
def test_pg_rewind_killed_at_a_phase(pair: Diverged, bins: pgbinaries.PgBinaries, phase: str) -> None:
    control = (pair.target.pgdata / "global" / "pg_control").read_bytes()
    bindir = _wrapper(bins, phase=phase)
    with pytest.raises(RewindError) as info:
        rewind(pair.target.pgdata, pair.source.pgdata, bindir=bindir)
    error = info.value
    now = (pair.target.pgdata / "global" / "pg_control").read_bytes()
    if phase.startswith("syncing"):
        assert error.state == "rewound" and now != control, "pg_rewind's new pg_control stays"
        assert ((pair.target.pgdata / "backup_label").exists() and "recovers" in error.target_state) or \
            "recovery" in error.target_state
        assert "run the rewind again" not in error.target_state
        _starts(pair.target)  # it does start: what the report says
    else:
        assert error.state == "partially rewound" and now == control and "do not start it" in error.target_state
    assert error.backup is not None and str(error.backup) in error.target_state
    remove_tree(bindir)


def test_two_runs_at_once_and_a_sigint_while_pg_rewind_runs(pair: Diverged, bins: pgbinaries.PgBinaries) -> None:
    marker = pair.target.workdir / "pg_rewind-started"
    bindir = _wrapper(bins, pause=3.0, marker=str(marker))
    env = {**os.environ, **bins.env}
    first = subprocess.Popen([sys.executable, "-m", "pgrewindkit", "rewind", "--target-pgdata", str(pair.target.pgdata),
                              "--source-pgdata", str(pair.source.pgdata), "--bindir", str(bindir), "-q"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.05)
        # a second run is refused while the first holds the target
        with pytest.raises(RewindError) as info:
            rewind(pair.target.pgdata, pair.source.pgdata, bindir=bindir)
        assert info.value.kind == "target_locked"
        with pytest.raises(PgRewindKitError) as refused:
            failback(pair.target.pgdata, pair.source.conninfo(), bindir=bindir, timeout=5)
        assert refused.value.kind == "target_locked"
        first.send_signal(signal.SIGINT)  # a Ctrl-C: pg_rewind is let finish
        _out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err
    assert "interrupted" in err and "rewound" in err and "kept in" in err, err
    assert (pair.target.pgdata / "backup_label").exists()
    _starts(pair.target)
    remove_tree(bindir)


def test_a_stale_pid_of_a_live_unrelated_postmaster_is_never_stopped(pair: Diverged,
                                                                    bins: pgbinaries.PgBinaries) -> None:
    other = new_cluster(bins)
    try:
        other.port = 54339
        other.set(port=other.port)
        other.start()
        pid = (other.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        (pair.target.pgdata / "postmaster.pid").write_text(f"{pid}\n{pair.target.pgdata}\n")
        before = _tree_hash(pair.target.pgdata)
        with pytest.raises(RewindError) as info:
            rewind(pair.target.pgdata, pair.source.pgdata, bindir=bins.bindir, stop_target=True)
        assert info.value.kind == "foreign_postmaster_pid" and str(other.pgdata) in str(info.value)
        pair.source.start()
        try:
            with pytest.raises(PgRewindKitError) as refused:
                failback(pair.target.pgdata, pair.source.conninfo(), bindir=bins.bindir, timeout=5)
            assert refused.value.kind == "foreign_postmaster_pid"
        finally:
            pair.source.stop()
        assert other.query_one("SELECT 1") == 1, "the unrelated cluster still runs"
        assert _tree_hash(pair.target.pgdata) == before
        ran = run_captured([bins.program("pg_ctl"), "-D", other.pgdata, "status"], env=bins.env, check=False)
        assert ran.returncode == 0
    finally:
        other.destroy()
