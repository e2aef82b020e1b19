"""The test harness's clusters: pgrewindkit's own sandbox (see ``pgrewindkit.demo.harness``)."""

from __future__ import annotations

from pgrewindkit.demo.harness import (
    PORT,
    WORK_ROOT,
    Cluster,
    chown_postgres,
    make_workdir,
    new_cluster,
    remove_tree,
    run_pg,
)

__all__ = ["PORT", "WORK_ROOT", "Cluster", "chown_postgres", "make_workdir", "new_cluster", "remove_tree", "run_pg"]
