"""Where a rewind copies from: another data directory, or a live server reached with psycopg.

Both answer the same questions pg_rewind's sources answer (``rewind_source.h``): the control
file, a small file such as a timeline history, and the list of files with their sizes; and the
few facts pg_rewind and a failback check on a source (its settings, whether it is in recovery,
how far its WAL goes, its standbys). A live source is read with the SQL pg_rewind's libpq source
uses, and no relation data is transferred. ``Source`` is the whole protocol: analysis and actions
never ask which kind of source they have, nor send SQL. psycopg is imported only here, and only
when a live source is used.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from pgrewindkit.cluster.conninfo import mask_password as mask_password  # re-exported: public name
from pgrewindkit.cluster.conninfo import one_line
from pgrewindkit.cluster.datadir import DataDirectory, FileEntry, FileType
from pgrewindkit.cluster.pgconf import parse_settings
from pgrewindkit.errors import Kind, PgRewindKitError, SourceError
from pgrewindkit.formats.controlfile import parse_control_file
from pgrewindkit.formats.lsn import LSN, WalSegment
from pgrewindkit.formats.timeline import TimelineHistory, history_file_name, parse_timeline_history
from pgrewindkit.formats.wal import WalRecord, open_wal
from pgrewindkit.formats.wal.xact import after_page_header, record_from_pages, switch_record_time
from pgrewindkit.majors import for_major, versions
from pgrewindkit.majors.programs import programs_for
from pgrewindkit.majors.table import MajorRow
from pgrewindkit.majors.wal import wal_format
from pgrewindkit.model import ControlFile, DBState

if TYPE_CHECKING:
    import psycopg


class Source(Protocol):
    """What a rewind, its plan and a failback need to know of their source."""

    description: str  # for messages: a path, or a connection string with its password masked

    @property
    def is_live(self) -> bool:
        """A running server (pg_rewind's ``--source-server``): pg_rewind checks its settings and
        whether it is in recovery, not whether it was shut down cleanly."""
        ...

    @property
    def pgdata(self) -> Path | None:
        """The data directory, for pg_rewind's ``--source-pgdata``; None for a server."""
        ...

    def connection_string(self) -> str | None:
        """For pg_rewind's ``--source-server``, password included (never for showing); None for a
        data directory."""
        ...

    @property
    def control(self) -> ControlFile: ...

    def read_file(self, relative: str) -> bytes: ...

    def files(self) -> list[FileEntry]: ...

    def history(self, timeline: int) -> TimelineHistory: ...

    def setting(self, name: str) -> str | None:
        """A setting's value in effect (a data directory: as its configuration files set it, None if
        they do not)."""
        ...

    def in_recovery(self) -> bool: ...

    def wal_position(self) -> LSN:
        """How far the source's WAL goes: a server's insert position (replay position in recovery);
        a data directory's last checkpoint or minimum recovery point, whichever is later."""
        ...

    def current_timeline(self) -> int:
        """The timeline the source is really on, which its pg_control may not show yet: right after
        a promotion, until the first checkpoint on the new timeline, pg_control still has the old
        one (and pg_rewind 10-15 takes that). A server: the timeline of the WAL it writes (a primary)
        or replays and receives (a standby); a data directory: the newest timeline its history files
        descend to from its control file's."""
        ...

    def wal_record(self, lsn: LSN, timeline: int) -> WalRecord | None:
        """The record at ``lsn`` of ``timeline`` in the source's own WAL, to compare with the
        target's; None when the source cannot show it (a server, or a segment it no longer has).
        Raises ``PgRewindKitError`` when the segment is there but holds no record at ``lsn``."""
        ...

    def standby_streaming(self, application_name: str) -> bool:
        """Whether a standby of that ``application_name`` streams from the source now."""
        ...

    def close(self) -> None: ...

    # -- what a failback checks before it touches the target (issue 10, actions) --

    def server_identity(self) -> ServerIdentity | None:
        """Who the running server is (its data directory, port, address, start time); None for a
        data directory."""
        ...

    def checkpoint(self) -> None:
        """Run ``CHECKPOINT`` (a server) and forget the control file read before."""
        ...

    def refresh(self) -> None:
        """Forget the control file read before."""
        ...

    def replication_slot(self, name: str) -> str | None:
        """The type of the replication slot ``name`` ("physical", "logical"), None when there is none."""
        ...

    def create_physical_slot(self, name: str) -> None: ...

    # -- what the discarded-work report asks (issue 15) --

    def promoted_at(self, timeline: int, switchpoint: LSN) -> datetime.datetime | None:
        """When the source started ``timeline``: the time in the record that begins it at
        ``switchpoint`` (end of recovery, or the checkpoint of a promotion that wrote one); None
        when that WAL cannot be read."""
        ...

    def relation_names(self, wanted: Mapping[int, Sequence[tuple[int, int]]]) -> dict[tuple[int, int], RelationName]:
        """The source's names for relation files, ``{database oid: [(tablespace, relfilenode)]}``
        (database 0: shared catalogues), keyed by (database oid, relfilenode); what it does not know
        is left out. A data directory answers nothing (its catalogue is not read here)."""
        ...

    def database_names(self) -> dict[int, str]:
        """The source's databases by OID (a data directory: none)."""
        ...


@attrs.frozen
class RelationName:
    """What a source's catalogue calls a relation file: the relation and, for an index or a TOAST
    table, the table it belongs to."""

    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind
    table_schema: str | None = None
    table_name: str | None = None


@attrs.frozen
class ServerIdentity:
    """What tells a running server apart from another on the same host."""

    data_directory: str | None  # None without the privilege to read it
    port: int
    address: str | None  # inet_server_addr(): None over a Unix socket
    started: float | None  # pg_postmaster_start_time(), seconds since the epoch
    socket_directory: str | None = None  # the Unix socket's directory we reached it by, if we did


class LocalSource:
    """A data directory as the source (``--source-pgdata``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.datadir = DataDirectory(path)
        self.description = str(self.datadir.path)

    @property
    def is_live(self) -> bool:
        return False

    @property
    def pgdata(self) -> Path:
        return self.datadir.path

    def connection_string(self) -> None:
        return None

    @property
    def control(self) -> ControlFile:
        return self.datadir.control

    def read_file(self, relative: str) -> bytes:
        return self.datadir.read_file(relative)

    def files(self) -> list[FileEntry]:
        return self.datadir.files()

    def history(self, timeline: int) -> TimelineHistory:
        return self.datadir.history(timeline)

    def setting(self, name: str) -> str | None:
        settings: dict[str, str] = {}
        for file_name in ("postgresql.conf", "postgresql.auto.conf"):  # ALTER SYSTEM's file wins
            settings.update(parse_settings(self.datadir.read_text(file_name) or ""))
        return settings.get(name.lower())

    def in_recovery(self) -> bool:
        return self.control.state in (DBState.IN_ARCHIVE_RECOVERY, DBState.SHUTDOWNED_IN_RECOVERY)

    def wal_position(self) -> LSN:
        control = self.control
        return max(control.checkpoint, control.min_recovery_point)

    def current_timeline(self) -> int:
        return self.datadir.newest_timeline()

    def wal_record(self, lsn: LSN, timeline: int) -> WalRecord | None:
        try:
            wal = open_wal(self.datadir.path)
        except PgRewindKitError:
            return None
        size = wal.directory.segment_size
        if WalSegment(timeline, lsn.segment_number(size)).file_name(size) not in wal.directory.segment_names:
            return None  # that WAL is gone from the source: nothing to compare
        return wal.read_record(lsn)

    def standby_streaming(self, application_name: str) -> bool:
        return False  # a stopped data directory has no standbys

    def close(self) -> None:
        pass

    def server_identity(self) -> None:
        return None

    def checkpoint(self) -> None:
        pass  # a stopped data directory's pg_control is already its last word

    def refresh(self) -> None:
        self.datadir.refresh()

    def replication_slot(self, name: str) -> str | None:
        return None

    def create_physical_slot(self, name: str) -> None:
        raise SourceError("a data directory cannot create a replication slot")

    def promoted_at(self, timeline: int, switchpoint: LSN) -> datetime.datetime | None:
        try:
            record = self.wal_record(after_page_header(switchpoint, self.control.xlog_seg_size), timeline)
        except PgRewindKitError:
            return None
        return None if record is None else switch_record_time(record)

    def relation_names(self, wanted: Mapping[int, Sequence[tuple[int, int]]]) -> dict[tuple[int, int], RelationName]:
        return {}

    def database_names(self) -> dict[int, str]:
        return {}


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


# pg_filenode_relation per relation file, with the table an index or a TOAST table belongs to
RELATION_NAMES_SQL = """
SELECT f.rel::int8, c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, tn.nspname::text, t.relname::text
FROM unnest(%s::oid[], %s::oid[]) AS f(spc, rel)
JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.pg_filenode_relation(f.spc, f.rel)
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_catalog.pg_class t ON t.oid = COALESCE(
    i.indrelid, (SELECT x.oid FROM pg_catalog.pg_class x WHERE x.reltoastrelid = c.oid LIMIT 1))
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
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
                          f"{one_line(mask_password(str(exc)))}") from None


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
            # the server's major names its functions and directories (pg_xlog before 10)
            self._row = for_major(versions.by_server_version(conn.info.server_version).major)
            for statement in (*self._row.server.session_setup, "SET default_transaction_read_only = on",
                              "SELECT pg_catalog.set_config('search_path', '', false)"):
                conn.execute(statement)
        except psycopg.Error as exc:
            conn.close()
            raise SourceError(f"could not set up the session on {self.description}: {one_line(str(exc))}") from None
        except PgRewindKitError:
            conn.close()
            raise
        return conn

    @property
    def major_row(self) -> MajorRow:
        """Everything pgrewindkit knows of the server's major (from its ``server_version_num``)."""
        return self._row

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

    def _query(self, sql: str, params: tuple[object, ...] = (), *, what: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the source; errors become ``SourceError`` (``what`` says what we were doing)."""
        import psycopg

        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise SourceError(f"permission denied on {self.description} while {what}: {exc.diag.message_primary}",
                              kind=Kind.PERMISSION_DENIED) from None
        except psycopg.Error as exc:
            raise SourceError(f"{what} failed on {self.description}: {one_line(str(exc))}") from None

    @property
    def is_live(self) -> bool:
        return True

    @property
    def pgdata(self) -> None:
        return None

    def setting(self, name: str) -> str:
        return str(self._query("SELECT current_setting(%s)", (name,), what=f"reading {name}")[0][0])

    def in_recovery(self) -> bool:
        return bool(self._query("SELECT pg_is_in_recovery()", what="asking whether it is in recovery")[0][0])

    def wal_position(self) -> LSN:
        wal = self._row.server.wal
        rows = self._query(f"SELECT CASE WHEN pg_is_in_recovery() THEN {wal.last_replay_lsn} "
                           f"ELSE {wal.current_insert_lsn} END::text", what="reading its WAL position")
        return LSN.parse(rows[0][0]) if rows and rows[0][0] else LSN(0)

    def current_timeline(self) -> int:
        control = self.control
        known = max(control.checkpoint_copy.timeline, control.min_recovery_point_tli)
        if not self.in_recovery():
            # the file name of the WAL being written carries the timeline it is written on
            wal = self._row.server.wal
            rows = self._query(f"SELECT {wal.walfile_name}({wal.current_lsn})", what="reading its WAL file name")
            return max(known, int(str(rows[0][0])[:8], 16))
        if not self._row.server.wal_receiver_view:
            # 9.5 does not show the timeline a standby receives on: the newest history file it holds
            # (a standby that follows a new timeline has fetched that timeline's history first)
            rows = self._query("SELECT max(name) FROM pg_ls_dir(%s) AS name WHERE name ~ '^[0-9A-F]{8}\\.history$'",
                               (self._row.programs.wal_directory,), what="listing its history files")
            return max(known, int(str(rows[0][0])[:8], 16)) if rows and rows[0][0] else known
        # a standby: the timeline it receives on (hidden from roles without pg_read_all_stats: NULL)
        rows = self._query("SELECT max(received_tli) FROM pg_stat_wal_receiver", what="reading its WAL receiver")
        received = rows[0][0] if rows and rows[0][0] is not None else 0
        return max(known, int(received))

    def wal_record(self, lsn: LSN, timeline: int) -> None:
        return None  # pg_rewind's libpq source reads no WAL, and neither do we

    def standby_streaming(self, application_name: str) -> bool:
        rows = self._query("SELECT state FROM pg_stat_replication WHERE application_name = %s",
                           (application_name,), what="reading pg_stat_replication")
        return any(row[0] == "streaming" for row in rows)

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
        relative = f"{self._row.programs.wal_directory}/{history_file_name(timeline)}"
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

    def server_identity(self) -> ServerIdentity:
        rows = self._query("SELECT current_setting('port'), inet_server_addr()::text, "
                           "extract(epoch FROM pg_postmaster_start_time())::float8", what="reading its identity")
        port, address, started = rows[0]
        try:  # superusers and pg_read_all_settings only
            directory: str | None = str(self._query("SELECT current_setting('data_directory')",
                                                    what="reading data_directory")[0][0])
        except SourceError:
            directory = None
        host = self._conn.info.host
        return ServerIdentity(directory, int(port), address, float(started) if started is not None else None,
                              host if address is None and host.startswith("/") else None)

    def checkpoint(self) -> None:
        import psycopg

        try:  # the session is read only; CHECKPOINT needs superuser or pg_checkpoint (15+)
            self._conn.execute("SET default_transaction_read_only = off")
            self._conn.execute("CHECKPOINT")
            self._conn.execute("SET default_transaction_read_only = on")
        except psycopg.errors.InsufficientPrivilege as exc:
            raise SourceError(f"permission denied on {self.description} for CHECKPOINT: {exc.diag.message_primary}",
                              kind=Kind.PERMISSION_DENIED) from None
        except psycopg.Error as exc:
            raise SourceError(f"CHECKPOINT failed on {self.description}: {str(exc).strip()}") from None
        self.refresh()

    def refresh(self) -> None:
        self._control = None

    def replication_slot(self, name: str) -> str | None:
        rows = self._query("SELECT slot_type FROM pg_replication_slots WHERE slot_name = %s", (name,),
                           what="reading pg_replication_slots")
        return str(rows[0][0]) if rows else None

    def promoted_at(self, timeline: int, switchpoint: LSN) -> datetime.datetime | None:
        control = self.control
        size, blcksz = control.xlog_seg_size, control.xlog_blcksz
        lsn = after_page_header(switchpoint, size, blcksz)
        first_page = LSN(lsn.value - lsn.value % blcksz)
        name = WalSegment(timeline, lsn.segment_number(size)).file_name(size)
        relative = f"{programs_for(control.major).wal_directory}/{name}"
        length = min(2 * blcksz, size - first_page.segment_offset(size))
        try:
            rows = self._query("SELECT pg_read_binary_file(%s, %s, %s)",
                               (relative, first_page.segment_offset(size), length), what=f'reading "{relative}"')
        except SourceError:
            return None
        if not rows or rows[0][0] is None:
            return None
        record = record_from_pages(bytes(rows[0][0]), first_page, lsn, wal_format(control.major),
                                   timeline=timeline, blcksz=blcksz)
        return None if record is None else switch_record_time(record)

    def database_names(self) -> dict[int, str]:
        rows = self._query("SELECT oid::int8, datname::text FROM pg_catalog.pg_database", what="reading pg_database")
        return {int(oid): str(name) for oid, name in rows}

    def relation_names(self, wanted: Mapping[int, Sequence[tuple[int, int]]]) -> dict[tuple[int, int], RelationName]:
        """``pg_filenode_relation`` in each database (a connection of its own, the same
        connection string with another ``dbname``); shared catalogues through the first."""
        names: dict[tuple[int, int], RelationName] = {}
        databases = self.database_names()
        for database, files in wanted.items():
            if not files:
                continue
            if database == 0:
                rows = self._relation_rows(self._conn, files)
            elif database in databases:
                rows = self._in_database(databases[database], files)
            else:
                continue  # created on the target after the divergence: the source never had it
            for row in rows:
                names[(database, int(row[0]))] = RelationName(int(row[1]), *row[2:])
        return names

    def _in_database(self, datname: str, files: Sequence[tuple[int, int]]) -> list[tuple[Any, ...]]:
        import psycopg

        conninfo = psycopg.conninfo.make_conninfo(self._conninfo, dbname=datname)
        try:
            conn = connect(conninfo)
        except SourceError:
            return []  # a database that takes no connections (template0) names nothing
        try:
            return self._relation_rows(conn, files)
        finally:
            conn.close()

    def _relation_rows(self, conn: psycopg.Connection[Any], files: Sequence[tuple[int, int]]) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return conn.execute(RELATION_NAMES_SQL, ([int(spc) for spc, _ in files],
                                                     [int(rel) for _, rel in files])).fetchall()
        except psycopg.Error as exc:
            raise SourceError(f"naming relation files failed on {self.description}: {one_line(str(exc))}") from None

    def create_physical_slot(self, name: str) -> None:
        # 9.5's slot reserves no WAL until a standby first streams from it
        reserve = ", true" if self._row.server.slot_reserves_wal else ""
        self._query(f"SELECT pg_create_physical_replication_slot(%s{reserve}) IS NOT NULL", (name,),
                    what=f"creating the physical replication slot {name}")
