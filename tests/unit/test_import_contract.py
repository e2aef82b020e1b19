"""The layers' import contract, read from the source with ``ast`` (docs/architecture.md).

errors <- majors <- formats, model <- cluster <- analysis <- actions <- render <- demo <- cli: a
module imports only modules of its own rank or lower, counting imports inside functions and
``TYPE_CHECKING`` blocks too, since those are the ones that hide a crossing. The public API
(``pgrewindkit/__init__.py``) may import any layer but ``demo`` and ``cli``; only ``__main__`` imports
``cli``; psycopg is imported only by ``cluster/source.py``; and per-major decisions
(``major >= 13``) are made in ``majors/`` alone.

A package that exports names lazily (PEP 562, ``pgrewindkit._lazy``) names the modules it will import
as the keys of a module-level ``_LAZY`` dict literal; those count as imports of the package too.

Each test lists every violation it finds, one per line, as ``module:line: what``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

import pgrewindkit

PACKAGE = Path(pgrewindkit.__file__).resolve().parent
ROOT = "pgrewindkit"

RANKS: dict[str, float] = {
    "_enum": 0, "_lazy": 0, "errors": 0, "majors": 1, "formats": 2, "model": 2, "cluster": 3, "analysis": 4,
    "actions": 5, "render": 6, "demo": 7, "cli": 8, "__main__": 9,
}
# The public API gathers the layers up to render; demo and cli may use it, nothing below them may.
API_RANK = 6.5
PSYCOPG_HOME = "pgrewindkit.cluster.source"
ORDERINGS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
COMPARISONS = (*ORDERINGS, ast.Eq)



@attrs.frozen
class Import:
    module: str  # the importing module, dotted
    line: int
    target: str  # the imported module, dotted (for ``from X import name``, X.name when that is a module)


def module_name(path: Path) -> str:
    parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").is_file()


def _exists(module: str) -> bool:
    path = PACKAGE.parent / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _base(module: str, node: ast.ImportFrom) -> str:
    """What ``from <base> import ...`` names, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = module if _is_package(module) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _lazy_table(tree: ast.Module) -> ast.Dict | None:
    """The value of a module-level ``_LAZY = {...}`` (annotated or not), if the module has one."""
    for node in tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in targets):
            assert isinstance(value, ast.Dict), "_LAZY must be a dict literal, so that its imports can be read"
            return value
    return None


def imports(module: str, tree: ast.Module) -> Iterator[Import]:
    table = _lazy_table(tree)
    for key in table.keys if table is not None else []:
        assert isinstance(key, ast.Constant) and isinstance(key.value, str), f"{module}: _LAZY keys are module names"
        yield Import(module, key.lineno, key.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(module, node.lineno, sub if _exists(sub) else base)


def all_imports() -> list[Import]:
    """Each (module, line, target) once: ``from X import a, b`` of two names in X is one import of X."""
    return list(dict.fromkeys(i for name, tree in modules().items() for i in imports(name, tree)))


def rank(module: str) -> float:
    """The layer rank of a pgrewindkit module (``pgrewindkit`` itself is the public API)."""
    parts = module.split(".")
    return API_RANK if len(parts) == 1 else RANKS[parts[1]]


def _inside(module: str) -> bool:
    return module == ROOT or module.startswith(ROOT + ".")


def _report(violations: list[str]) -> str:
    return f"{len(violations)} violation(s):\n" + "\n".join(violations)


def layer_violations() -> list[str]:
    return layer_violations_in(all_imports())


def layer_violations_in(found_imports: list[Import]) -> list[str]:
    found = []
    for i in found_imports:
        if not _inside(i.target) or i.module == ROOT:
            continue
        if rank(i.target) > rank(i.module):
            found.append(f"{i.module}:{i.line}: imports {i.target} (rank {rank(i.target)} > {rank(i.module)})")
    return found


def api_violations() -> list[str]:
    return [f"{i.module}:{i.line}: the public API imports {i.target}" for i in all_imports()
            if i.module == ROOT and i.target.split(".")[1:2] in (["cli"], ["demo"])]


def cli_violations() -> list[str]:
    return [f"{i.module}:{i.line}: imports {i.target}" for i in all_imports()
            if i.target.startswith(f"{ROOT}.cli") and not i.module.startswith(f"{ROOT}.cli")
            and i.module != f"{ROOT}.__main__"]


def psycopg_violations() -> list[str]:
    return [f"{i.module}:{i.line}: imports {i.target}" for i in all_imports()
            if i.target.split(".")[0] == "psycopg" and i.module != PSYCOPG_HOME]


def _names_major(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "major") or (
        isinstance(node, ast.Attribute) and node.attr == "major")


def _is_int(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _outside_majors() -> Iterator[tuple[str, ast.AST]]:
    for module, tree in modules().items():
        if not module.startswith(f"{ROOT}.majors"):
            yield from ((module, node) for node in ast.walk(tree))


def _pairs(node: ast.Compare) -> Iterator[tuple[ast.cmpop, ast.expr, ast.expr]]:
    operands = [node.left, *node.comparators]
    yield from zip(node.ops, operands[:-1], operands[1:], strict=True)


def _literal_gate(op: ast.cmpop, a: ast.expr, b: ast.expr) -> bool:
    return isinstance(op, COMPARISONS) and any(_names_major(m) and _is_int(n) for m, n in ((a, b), (b, a)))


def _table_gate(op: ast.cmpop, a: ast.expr, b: ast.expr) -> bool:
    """A major ordered against a bound that is neither a literal nor another major (``major < since``)."""
    return isinstance(op, ORDERINGS) and any(
        _names_major(m) and not _is_int(n) and not _names_a_major(n) for m, n in ((a, b), (b, a)))


def _names_a_major(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "major" in name


def major_gate_violations() -> list[str]:
    """``major`` compared with an int literal (``if major >= 13``) outside majors/."""
    return [f"{module}:{node.lineno}: {ast.unparse(node)}" for module, node in _outside_majors()
            if isinstance(node, ast.Compare) and any(_literal_gate(*pair) for pair in _pairs(node))]


def version_table_violations() -> list[str]:
    """The same decision made through a table: ``major < since``, or ``since=12`` / ``until=10``
    rows, outside majors/ (the preamble's since/until gates; stricter than the literal rule)."""
    found = []
    for module, node in _outside_majors():
        if isinstance(node, ast.Compare) and any(_table_gate(*pair) for pair in _pairs(node)):
            found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.keyword) and node.arg in ("since", "until") and _is_int(node.value):
            found.append(f"{module}:{node.lineno}: {node.arg}={ast.unparse(node.value)}")
    return found


# -- the checker itself, on small sources ---------------------------------------------------------


def test_the_reader_sees_every_kind_of_import() -> None:
    source = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import psycopg.rows\n"
        "from . import plan\n"
        "from ..cluster import source\n"
        "if TYPE_CHECKING:\n"
        "    from pgrewindkit.render.plan import divergence_lines\n"
        "def late():\n"
        "    from pgrewindkit import cli\n"
    )
    targets = {i.target for i in imports("pgrewindkit.analysis.divergence", source)}
    assert targets == {"typing", "psycopg.rows", "pgrewindkit.analysis.plan", "pgrewindkit.cluster.source",
                       "pgrewindkit.render.plan", "pgrewindkit.cli"}


def test_the_reader_sees_lazy_imports() -> None:
    """A module named in a ``_LAZY`` table is imported on first use: it is an import all the same."""
    source = ast.parse('_LAZY: dict[str, tuple[str, ...]] = {"pgrewindkit.cli.parser": ("build_parser",)}\n')
    found = list(imports("pgrewindkit.formats.lsn", source))
    assert [i.target for i in found] == ["pgrewindkit.cli.parser"]
    assert layer_violations_in(found) == [
        "pgrewindkit.formats.lsn:1: imports pgrewindkit.cli.parser (rank 8 > 2)"]


@pytest.mark.parametrize(("source", "literal", "table"), [
    ("major >= 13", True, False), ("18 == self.major", True, False), ("control.major < since", False, True),
    ("row.since <= major <= row.until", False, True), ("found_major == major", False, False),
    ("major in (10, 11)", False, False), ("n >= 13", False, False),
])
def test_the_reader_sees_version_gates(source: str, literal: bool, table: bool) -> None:
    node = ast.parse(source, mode="eval").body
    assert isinstance(node, ast.Compare)
    assert any(_literal_gate(*pair) for pair in _pairs(node)) is literal
    assert any(_table_gate(*pair) for pair in _pairs(node)) is table


def test_every_module_has_a_rank() -> None:
    for module in modules():
        assert rank(module) >= 0, module


# -- the contract ---------------------------------------------------------------------------------

CONTRACT = [
    pytest.param(layer_violations, id="layers import only their rank or lower"),
    pytest.param(api_violations, id="the public API leaves out demo and cli"),
    pytest.param(cli_violations, id="only __main__ imports cli"),
    pytest.param(psycopg_violations, id="psycopg only in cluster/source"),
    pytest.param(major_gate_violations, id="per-major decisions only in majors"),
    pytest.param(version_table_violations, id="no version tables outside majors"),
]


@pytest.mark.parametrize("violations_of", CONTRACT)
def test_contract(violations_of: Callable[[], list[str]]) -> None:
    violations = violations_of()
    assert not violations, _report(violations)
