"""The lazy public API (PEP 562, ``pgrewindkit._lazy``): every name is there, type checkers see the
same names as the run time does, and importing a package or running a command imports only the
layers it uses (start-up is part of every command's time, docs/performance.md)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import pgrewindkit

LAZY_PACKAGES = ["pgrewindkit", "pgrewindkit.render", "pgrewindkit.majors"]


def _type_checking_names(module: ModuleType) -> dict[str, str]:
    """name -> module of the ``from X import name`` lines under ``if TYPE_CHECKING:``."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    found.update({alias.name: inner.module for alias in inner.names})
    return found


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_the_lazy_table_is_what_type_checkers_see(name: str) -> None:
    package = importlib.import_module(name)
    table = {n: module for module, names in package._LAZY.items() for n in names}
    assert table == _type_checking_names(package)
    assert set(table) <= set(package.__all__)


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:
        assert getattr(package, exported) is not None, exported
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018


def test_from_import_and_aliases() -> None:
    from pgrewindkit import LSN, PlanError, PlanFailure, open_wal

    assert PlanError is PlanFailure
    assert LSN.parse("0/10") == LSN(16)
    assert open_wal is pgrewindkit.formats.wal.open_wal
    namespace: dict[str, object] = {}
    exec("from pgrewindkit import *", namespace)
    assert set(pgrewindkit.__all__) <= set(namespace)


def _imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    shown = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
                           capture_output=True, text=True, check=True).stdout
    return set(shown.split())


def test_importing_the_package_imports_no_layer() -> None:
    loaded = _imported_by("import pgrewindkit")
    assert {m for m in loaded if m.startswith("pgrewindkit")} == {"pgrewindkit", "pgrewindkit._lazy"}
    assert not {"attrs", "construct", "psycopg"} & loaded


def test_waldump_stats_imports_only_the_wal_layers(wal_dirs: dict[int, Path]) -> None:
    """``waldump --stats`` builds the whole parser but imports neither analysis, actions, the demo
    nor psycopg, nor the construct layouts the WAL loop's formats were derived from, nor the
    per-major tables it does not read (``for_major`` would gather them all)."""
    wal = wal_dirs[15]
    loaded = _imported_by(f"import sys\nfrom pgrewindkit.cli import main\n"
                          f"main(['waldump', '--stats', '-q', '--path', {str(wal)!r}])")
    unneeded = ("pgrewindkit.analysis", "pgrewindkit.actions", "pgrewindkit.demo", "pgrewindkit.cluster.source",
                "pgrewindkit.cluster.datadir", "psycopg", "pgrewindkit.majors.table", "pgrewindkit.majors.rewind",
                "pgrewindkit.majors.server", "pgrewindkit.majors.standby", "pgrewindkit.majors.records")
    assert not sorted(m for m in loaded if m.startswith(unneeded))


def test_a_plan_that_skips_the_discarded_pass_does_not_import_it(failover_pair: Path) -> None:
    """The discarded-work pass (and the catalogue reading behind it) is imported only by the plans
    that read it: ``--discarded never`` here, and any plan past the 64 MB limit."""
    target, source = str(failover_pair / "old-primary"), str(failover_pair / "new-primary")
    loaded = _imported_by(f"from pgrewindkit.cli import main\n"
                          f"main(['plan', '--json', '--discarded', 'never', '-D', {target!r},"
                          f" '--source-pgdata', {source!r}])")
    assert "pgrewindkit.analysis.plan.planner" in loaded
    assert not {"pgrewindkit.analysis.discarded", "pgrewindkit.analysis.discarded_names"} & loaded
