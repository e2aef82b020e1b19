"""Reading WAL without a server: records, block references and the end of valid WAL, per major.

    scan = open_wal("/srv/pg/data").scan(start=LSN.parse("0/1900028"))
    for record in scan:
        ...
    scan.end_of_wal   # where and why reading stopped
"""

from __future__ import annotations

from pgrewindkit.errors import WalReadError
from pgrewindkit.formats.wal.reader import EndOfWal
from pgrewindkit.formats.wal.records import BlockRef, WalRecord
from pgrewindkit.formats.wal.wal import BackwardScan, Wal, WalScan, open_wal

__all__ = ["BackwardScan", "BlockRef", "EndOfWal", "Wal", "WalReadError", "WalRecord", "WalScan", "open_wal"]
