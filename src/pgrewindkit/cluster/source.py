"""Where a rewind copies from: another data directory, or a live server reached with psycopg.

Both answer the same questions pg_rewind's sources answer (``rewind_source.h``): the control
file, a small file such as a timeline history, and the list of files with their sizes. A live
source is read with the SQL pg_rewind's libpq source uses, and no relation data is transferred.
psycopg is imported only here, and only when a live source is used.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Protocol

from pgrewindkit.cluster.datadir import DataDirectory, FileEntry, FileType
from pgrewindkit.errors import Kind, SourceError
from pgrewindkit.formats.controlfile import parse_control_file
from pgrewindkit.formats.timeline import TimelineHistory, history_file_name, parse_timeline_history
from pgrewindkit.model import ControlFile

if TYPE_CHECKING:
    import psycopg


class Source(Protocol):
    """What a rewind needs to know of its source."""

    description: str

    @property
    def control(self) -> ControlFile: ...

    def read_file(self, relative: str) -> bytes: ...

    def files(self) -> list[FileEntry]: ...

    def history(self, timeline: int) -> TimelineHistory: ...


class LocalSource:
    """A data directory as the source (``--source-pgdata``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.datadir = DataDirectory(path)
        self.description = str(self.datadir.path)

    @property
    def control(self) -> ControlFile:
        return self.datadir.control

    def read_file(self, relative: str) -> bytes:
        return self.datadir.read_file(relative)

    def files(self) -> list[FileEntry]:
        return self.datadir.files()

    def history(self, timeline: int) -> TimelineHistory:
        return self.datadir.history(timeline)


_PASSWORD_IN_URI = re.compile(r"(://[^:/@]*:)[^@]*@")
_PASSWORD_KEYWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_password(text: str) -> str:
    """``text`` with any password in a conninfo string or URI replaced by ``********``."""
    return _PASSWORD_KEYWORD.sub(r"\1********", _PASSWORD_IN_URI.sub(r"\1********@", text))


FILE_LIST_SQL = """
WITH RECURSIVE files (path, filename, size, isdir) AS (
  SELECT '' AS path, filename, size, isdir FROM
  (SELECT pg_ls_dir('.', true, false) AS filename) AS fn,
        pg_stat_file(fn.filename, true) AS this
  UNION ALL
  SELECT parent.path || parent.filename || '/' AS path,
         fn, this.size, this.isdir
  FROM files AS parent,
       pg_ls_dir(parent.path || parent.filename, true, false) AS fn,
       pg_stat_file(parent.path || parent.filename || '/' || fn, true) AS this
       WHERE parent.isdir = 't'
)
SELECT path || filename, size, isdir,
       pg_tablespace_location(pg_tablespace.oid) AS link_target
FROM files
LEFT OUTER JOIN pg_tablespace ON files.path = 'pg_tblspc/'
                             AND oid::text = files.filename
"""


def connect(conninfo: str, *, connect_timeout: int = 10) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection (psycopg is imported here, and only here)."""
    try:
        import psycopg
    except ImportError:
        raise SourceError("a live server needs psycopg: pip install 'pgrewindkit[live]'",
                          kind=Kind.PSYCOPG_MISSING) from None
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=connect_timeout,
                               application_name="pgrewindkit")
    except psycopg.Error as exc:
        raise SourceError(f"could not connect to {mask_password(conninfo)}: "
                          f"{mask_password(str(exc).strip())}") from None


class LiveSource:
    """A running server as the source (``--source-server``), read as pg_rewind's libpq source reads
    it: ``pg_read_binary_file`` for small files, ``pg_ls_dir``/``pg_stat_file`` for the file list."""

    def __init__(self, conninfo: str, *, connect_timeout: int = 10) -> None:
        self.description = mask_password(conninfo)
        self._conninfo = conninfo  # kept for pg_rewind; never shown (use ``description``)
        self._conn = self._connect(conninfo, connect_timeout)
        self._control: ControlFile | None = None

    def _connect(self, conninfo: str, timeout: int) -> psycopg.Connection[Any]:
        import psycopg

        conn = connect(conninfo, connect_timeout=timeout)
        try:
            for statement in ("SET statement_timeout = 0", "SET lock_timeout = 0",
                              "SET idle_in_transaction_session_timeout = 0",
                              "SET default_transaction_read_only = on",
                              "SELECT pg_catalog.set_config('search_path', '', false)"):
                conn.execute(statement)
        except psycopg.Error as exc:
            conn.close()
            raise SourceError(f"could not set up the session on {self.description}: {exc}") from None
        return conn

    def close(self) -> None:
        self._conn.close()

    def connection_string(self) -> str:
        """The connection string as given, password included: for handing to pg_rewind (whose
        command line gets it without the password), never for showing."""
        return self._conninfo

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, params: tuple[object, ...] = (), *, what: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the source; errors become ``SourceError`` (``what`` says what we were doing)."""
        return self._query(sql, params, what=what)

    def _query(self, sql: str, params: tuple[object, ...] = (), *, what: str) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise SourceError(f"permission denied on {self.description} while {what}: {exc.diag.message_primary}",
                              kind=Kind.PERMISSION_DENIED) from None
        except psycopg.Error as exc:
            raise SourceError(f"{what} failed on {self.description}: {str(exc).strip()}") from None

    def setting(self, name: str) -> str:
        return str(self._query("SELECT current_setting(%s)", (name,), what=f"reading {name}")[0][0])

    def in_recovery(self) -> bool:
        return bool(self._query("SELECT pg_is_in_recovery()", what="asking whether it is in recovery")[0][0])

    def read_file(self, relative: str) -> bytes:
        rows = self._query("SELECT pg_read_binary_file(%s)", (relative,), what=f'reading "{relative}"')
        if not rows or rows[0][0] is None:
            raise SourceError(f'unexpected result set while fetching remote file "{relative}"')
        return bytes(rows[0][0])

    @property
    def control(self) -> ControlFile:
        if self._control is None:
            self._control = parse_control_file(self.read_file("global/pg_control"),
                                               path=f"{self.description}: global/pg_control")
        return self._control

    def history(self, timeline: int) -> TimelineHistory:
        if timeline == 1:
            return TimelineHistory.initial()
        relative = f"pg_wal/{history_file_name(timeline)}"
        return parse_timeline_history(self.read_file(relative), timeline=timeline,
                                      path=f"{self.description}: {relative}")

    def files(self) -> list[FileEntry]:
        entries = []
        for path, size, isdir, link_target in self._query(FILE_LIST_SQL, what="listing files"):
            if size is None:
                continue  # removed while listing
            kind = FileType.SYMLINK if link_target else FileType.DIRECTORY if isdir else FileType.REGULAR
            entries.append(FileEntry(path, kind, int(size), link_target or None))
        return entries
