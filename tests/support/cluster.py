"""The test harness's clusters: pgrewindkit's own (``pgrewindkit.demo.harness``), plus what only
tests need of other PostgreSQL programs.

The harness runs programs through pgrewindkit's command runner, which interleaves stdout and
stderr and has no timeout (its clusters' ``pg_ctl -w -t`` bound their own waits). Tests that judge
a program by what it printed where (pg_rewind's decisions are on stderr), or that must not hang on
it, use :func:`run_captured`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pgrewindkit.demo.harness import (
    PORT,
    WORK_ROOT,
    Cluster,
    Ran,
    chown_postgres,
    make_workdir,
    new_cluster,
    pg_env,
    remove_tree,
    run_pg,
)

__all__ = ["PORT", "WORK_ROOT", "Cluster", "Ran", "chown_postgres", "make_workdir", "new_cluster", "remove_tree",
           "run_captured", "run_pg"]


def _as_postgres() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def run_captured(argv: Sequence[str | Path], *, env: Mapping[str, str] | None = None, check: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as ``postgres`` (when we are root) in the C locale, its stdout and
    stderr kept apart, killed after ``timeout`` seconds."""
    result = subprocess.run(
        [str(a) for a in argv], env={**pg_env(env), "LC_ALL": "C", "LANG": "C"}, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL, cwd="/", **_as_postgres(),
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def tree_hash(root: Path) -> str:
    """Every file under ``root`` (names, modes, bytes): what a refusal must leave as it was."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(f"{path.relative_to(root)} {path.lstat().st_mode}\n".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()
