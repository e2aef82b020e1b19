"""PEP 562 lazy exports: a package names what it exports and where from, and each module is
imported on first use of one of its names, so that ``import pgrewindkit`` and a command that needs
one layer do not pay for building the attrs classes and byte layouts of every other.

A package using it keeps its names visible to type checkers with the same imports under
``if TYPE_CHECKING:``, and holds its table in a module-level ``_LAZY`` dict literal (module ->
names), which ``tests/unit/test_import_contract.py`` reads as imports of those modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, namespace: dict[str, Any], table: Mapping[str, tuple[str, ...]],
                 aliases: Mapping[str, str] | None = None) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: a name of ``table`` (or an alias of one)
    is imported from its module on first access and kept in ``namespace``, so later accesses are
    plain attribute reads."""
    home = {name: module for module, names in table.items() for name in names}
    aliases = dict(aliases or {})

    def __getattr__(name: str) -> Any:
        real = aliases.get(name, name)
        module = home.get(real)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), real)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home, *aliases})

    return __getattr__, __dir__
