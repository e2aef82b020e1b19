"""The command line is thin: it imports only the public API, ``pgrewindkit.render`` and the demo,
and neither it nor ``render`` holds per-major gates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pgrewindkit

SRC = Path(pgrewindkit.__file__).resolve().parent
ALLOWED_MODULES = {"pgrewindkit.render", "pgrewindkit.demo"}


def _pgrewindkit_imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pgrewindkit"):
            found.append((node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names if a.name.startswith("pgrewindkit")]
    return found


@pytest.mark.parametrize("path", sorted((SRC / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_imports_only_the_public_api_and_render(path: Path) -> None:
    for module, names in _pgrewindkit_imports(path):
        if module == "pgrewindkit":
            public = set(pgrewindkit.__all__) | {"render", "demo"}
            assert set(names) <= public, f"{path.name}: not public: {set(names) - public}"
        else:
            assert module in ALLOWED_MODULES or module.startswith("pgrewindkit.cli"), f"{path.name}: {module}"


@pytest.mark.parametrize("path", sorted([*(SRC / "cli").glob("*.py"), *(SRC / "render").glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_major_gates(path: Path) -> None:
    """Which major has what is data in majors/, not comparisons here."""
    text = path.read_text()
    assert not re.search(r"major\s*[<>]=?\s*\d", text)
    assert not re.search(r"\b(since|until)\s*=", text)


def test_render_is_the_api_the_cli_uses() -> None:
    """Every name the command line takes from render is exported by it."""
    from pgrewindkit import render

    used = set()
    for path in (SRC / "cli").glob("*.py"):
        used |= set(re.findall(r"\brender\.(\w+)", path.read_text()))
    assert used <= set(render.__all__)
