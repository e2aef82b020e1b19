"""The built wheel, installed into a fresh venv outside the checkout, runs the demo and every
offline command on the data it ships, and prints what the checkout prints.

The venv gets the wheel and its declared dependencies only (no psycopg: the ``live`` extra is not
asked for), and every command runs from a temporary directory with a clean environment, so nothing
can come from the checkout. Building and installing take ~10 s (pip's cache serves the wheels).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from pgrewindkit import cli

pytestmark = pytest.mark.wheel

CHECKOUT = Path(__file__).resolve().parents[2]

# What a user runs on the shipped failover (paths relative to where it is unpacked).
OFFLINE = [
    ["controldata", "old-primary"],
    ["history", "new-primary/pg_wal/00000002.history"],
    # from the last common checkpoint: the shipped pair keeps only the WAL pg_rewind reads
    ["waldump", "--path", "old-primary", "--start", "0/8D8D10", "--limit", "50", "--quiet"],
    ["inspect", "old-primary"],
    ["divergence", "--target-pgdata", "old-primary", "--source-pgdata", "new-primary"],
    ["plan", "--target-pgdata", "old-primary", "--source-pgdata", "new-primary", "--quiet"],
    ["discarded", "--target-pgdata", "old-primary", "--source-pgdata", "new-primary"],
]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH, no VIRTUAL_ENV: only the fresh venv's site-packages can provide pgrewindkit.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(argv, cwd=cwd, env={**env, "TZ": "UTC"}, capture_output=True, text=True,
                          timeout=300, check=False)


def _checked(argv: list[str], cwd: Path) -> str:
    result = _run(argv, cwd)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv holding the wheel built from this checkout."""
    dist, env = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("venv")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _checked([*pip, "wheel", "-q", "--no-deps", "-w", str(dist), str(CHECKOUT)], dist)
    wheels = list(dist.glob("pgrewindkit-*.whl"))
    assert len(wheels) == 1, wheels
    # No pip inside the venv (faster); this interpreter's pip installs into it.
    venv.create(env, with_pip=False)
    _checked([*pip, "--python", str(env / "bin" / "python"), "install", "-q", str(wheels[0])], dist)
    return env / "bin"


def test_the_wheel_is_what_gets_imported(installed: Path, tmp_path: Path) -> None:
    where = _checked([str(installed / "python"), "-c", "import pgrewindkit.demo as d; print(d.SHIPPED)"], tmp_path)
    shipped = Path(where.strip())
    assert shipped.is_relative_to(installed.parent) and (shipped / "failover15" / "pair.tar.gz").is_file()
    assert not shipped.is_relative_to(CHECKOUT)


def test_demo_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = _checked([str(installed / "pgrewindkit"), "demo"], tmp_path)
    assert "decided exactly the same" in out


@pytest.mark.usefixtures("utc")
def test_offline_commands_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    where = _checked([str(installed / "python"), "-c", "import pgrewindkit.demo as d; print(d.SHIPPED)"], tmp_path)
    with tarfile.open(Path(where.strip()) / "failover15" / "pair.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    for argv in OFFLINE:
        for form in ([], ["--json"]):
            ours = _checked([str(installed / "pgrewindkit"), *argv, *form], tmp_path)
            assert ours.strip(), argv
            assert ours == _in_checkout([*argv, *form], tmp_path), f"{argv}: the wheel prints otherwise"


def _in_checkout(argv: list[str], cwd: Path) -> str:
    """The same command run by the checkout's code in this process."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        code = cli.main(argv, out=out, err=err)
    finally:
        os.chdir(old)
    assert code == 0, err.getvalue()
    return out.getvalue()
