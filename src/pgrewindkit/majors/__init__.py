"""Everything that differs between PostgreSQL majors (and minors): one explicit row per major.

``for_major(n)`` gathers a major's rows from every table (versions, layouts, wal, rmgrs, rewind,
programs); code outside this package asks it, or a table's own lookup, instead of comparing majors.
"""

from pgrewindkit.majors.table import TABLES, MajorRow, for_major, missing_tables

__all__ = ["TABLES", "MajorRow", "for_major", "missing_tables"]
