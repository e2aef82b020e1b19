"""Everything that differs between PostgreSQL majors (and minors): one explicit row per major.

``for_major(n)`` gathers a major's rows from every table (versions, layouts, wal, rmgrs, rewind,
programs); code outside this package asks it, or a table's own lookup, instead of comparing majors.
The names below are imported from ``table`` on first use (``pgrewindkit._lazy``): a reader of one
table (``majors.wal`` for the WAL loop) does not build every other table and layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgrewindkit._lazy import lazy_exports

if TYPE_CHECKING:
    from pgrewindkit.majors.table import TABLES, MajorRow, for_major, missing_tables

_LAZY: dict[str, tuple[str, ...]] = {
    "pgrewindkit.majors.table": ("TABLES", "MajorRow", "for_major", "missing_tables"),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = ["TABLES", "MajorRow", "for_major", "missing_tables"]
