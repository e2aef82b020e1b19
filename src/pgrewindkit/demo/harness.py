"""Throwaway PostgreSQL clusters for ``pgrewindkit demo --live``; the tests build on them
(``tests/support``).

PostgreSQL refuses to run as root: when we are root every server program runs as ``postgres``, in
a work directory made outside any 0700 tree. Servers listen only on a Unix socket inside their own
work directory and are stopped by data directory, never by process name. Programs are found and run
as the rest of pgrewindkit finds and runs them (``actions.programs``, ``actions.pgctl``).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from pgrewindkit.actions.pgctl import run_command
from pgrewindkit.actions.programs import find_program
from pgrewindkit.errors import CommandError
from pgrewindkit.majors import for_major
from pgrewindkit.majors.server import ServerSql


class PgBinaries(Protocol):
    """A major's programs (initdb, pg_ctl, postgres, ...)."""

    @property
    def major(self) -> int: ...

    # extra environment every program of theirs needs (LD_LIBRARY_PATH for trees whose libpq is not found
    # by RUNPATH: without it a standby's walreceiver loads another major's libpq and cannot stream)
    @property
    def env(self) -> Mapping[str, str]: ...

    def program(self, name: str) -> Path: ...


@attrs.frozen
class BinDir:
    major: int
    bindir: Path
    env: Mapping[str, str] = attrs.field(factory=dict)

    def program(self, name: str) -> Path:
        return self.bindir / name


def binaries(major: int, bindir: str | os.PathLike[str] | None = None) -> BinDir:
    """The programs of ``major`` found as pgrewindkit finds pg_rewind (``pgbin``), with their own
    ``lib/`` first for the libraries they load (a relocated tree's RUNPATH points elsewhere)."""
    found = find_program("pg_ctl", major, bindir).path.parent
    lib = found.parent / "lib"
    return BinDir(major, found, {"LD_LIBRARY_PATH": str(lib)} if (lib / "libpq.so.5").exists() else {})

WORK_ROOT = Path(os.environ.get("PGREWINDKIT_WORK_ROOT", "/var/tmp"))
PORT = 54329  # only names the socket file: every cluster has its own socket directory


def pg_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment PostgreSQL programs run in here: ours in UTC, without a stray ``PGDATA``."""
    full_env = {**os.environ, "TZ": "UTC", **(env or {})}
    full_env.pop("PGDATA", None)
    return full_env


@attrs.frozen
class Ran:
    returncode: int
    output: str  # stdout and stderr as the program printed them, one string


def run_pg(argv: Sequence[str | Path], *, env: Mapping[str, str] | None = None, check: bool = True) -> Ran:
    """Run a PostgreSQL program as ``postgres`` (when we are root) in the C locale, through the
    command runner pgrewindkit's own actions use. ``pg_ctl -w -t`` bounds its own waits."""
    lines: list[str] = []
    code = run_command([str(a) for a in argv], env=pg_env(env), user="postgres", on_line=lines.append)
    output = "\n".join(lines)
    if check and code != 0:
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        raise CommandError(f"{Path(argv[0]).name} exited with status {code}: {last}", output=output)
    return Ran(code, output)


def make_workdir(prefix: str = "pgrk-") -> Path:
    """A fresh directory the ``postgres`` user owns, outside any 0700 tree."""
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_ROOT))
    path.chmod(0o755)
    chown_postgres(path)
    return path


def chown_postgres(path: Path) -> None:
    if os.geteuid() != 0:
        return
    uid = pwd.getpwnam("postgres").pw_uid
    gid = grp.getgrnam("postgres").gr_gid
    os.chown(path, uid, gid)
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(Path(root) / name, uid, gid)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@attrs.define
class Cluster:
    """One data directory and, while started, its server."""

    bins: PgBinaries
    workdir: Path
    name: str = "data"
    running: bool = False
    port: int = PORT

    @property
    def pgdata(self) -> Path:
        return self.workdir / self.name

    @property
    def socket_dir(self) -> Path:
        return self.workdir

    @property
    def major(self) -> int:
        return self.bins.major

    @property
    def sql(self) -> ServerSql:
        """This major's SQL names (``pg_current_xlog_location()`` before 10) and streaming settings."""
        return for_major(self.major).server

    @property
    def wal_path(self) -> Path:
        """The WAL directory (``pg_xlog`` before 10)."""
        return self.pgdata / for_major(self.major).programs.wal_directory

    def insert_lsn(self) -> str:
        """The primary's WAL insert position, as text."""
        return str(self.query_one(f"SELECT {self.sql.wal.current_insert_lsn}::text"))

    def replay_lsn(self) -> str | None:
        """The standby's replay position, as text (None before it replayed anything)."""
        value = self.query_one(f"SELECT {self.sql.wal.last_replay_lsn}::text")
        return None if value is None else str(value)

    def replayed(self, lsn: str) -> bool:
        """Whether the standby has replayed up to ``lsn``."""
        return self.query_one(f"SELECT {self.sql.wal.last_replay_lsn} >= %s::pg_lsn", (lsn,)) is True

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"

    # -- life cycle -------------------------------------------------------------------------------

    def initdb(self, *, wal_segsize_mb: int | None = 1, checksums: bool = False,
               extra: Sequence[str] = ()) -> None:
        argv: list[str | Path] = [self.bins.program("initdb"), "-D", self.pgdata, "-U", "postgres",
                                  "-A", "trust", "-E", "UTF8", "--locale=C",
                                  for_major(self.major).programs.initdb_no_sync, *extra]
        # the segment size where this major lets initdb choose it; checksums as asked, whatever the default
        argv += for_major(self.major).programs.initdb_options(wal_segsize_mb=wal_segsize_mb, checksums=checksums)
        run_pg(argv, env=self.bins.env)
        row = for_major(self.major)
        self.set(
            listen_addresses="''",
            unix_socket_directories=f"'{self.socket_dir}'",
            port=self.port,
            fsync="off",
            logging_collector="off",
            wal_level=row.programs.replica_wal_level,
            # what this major's defaults lack for streaming (wal senders and hot_standby before 10)
            **dict(row.server.streaming_settings),
        )
        if not row.programs.hba_allows_local_replication:
            with (self.pgdata / "pg_hba.conf").open("a") as hba:
                hba.write("local replication all trust\n")

    def set(self, **settings: object) -> None:
        """Append settings to postgresql.conf (the last one wins, as in PostgreSQL)."""
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(lines)

    def start(self) -> None:
        run_pg([self.bins.program("pg_ctl"), "-D", self.pgdata, "-l", self.workdir / f"{self.name}.log",
                "-w", "-t", "60", "start"], env=self.bins.env)
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        run_pg([self.bins.program("pg_ctl"), "-D", self.pgdata, "-m", mode, "-w", "-t", "60", "stop"],
               check=False, env=self.bins.env)
        self.running = False

    def promote(self) -> None:
        # pg_ctl promote waits only from 10 on; before, it returns at once and pg_is_in_recovery() tells
        wait = ["-w", "-t", "60"] if for_major(self.major).programs.promote_waits else []
        run_pg([self.bins.program("pg_ctl"), "-D", self.pgdata, *wait, "promote"], env=self.bins.env)
        self.wait_for(lambda: self.query_one("SELECT NOT pg_is_in_recovery()") is True)

    def destroy(self) -> None:
        if self.running:
            self.stop("immediate")
        remove_tree(self.workdir)

    # -- copies and standbys -----------------------------------------------------------------------

    def cold_copy(self, workdir: Path, name: str = "data") -> Cluster:
        """Copy the (stopped) data directory to a new cluster with its own socket directory."""
        assert not self.running, "cold copies are made from stopped clusters"
        copy = Cluster(self.bins, workdir, name, port=self.port)
        shutil.copytree(self.pgdata, copy.pgdata, symlinks=True)
        chown_postgres(copy.pgdata)
        copy.set(unix_socket_directories=f"'{copy.socket_dir}'")
        return copy

    def make_standby_of(self, primary: Cluster | None) -> None:
        """Write standby configuration in this major's form, streaming from ``primary`` if given."""
        conninfo = f"'host={primary.socket_dir} port={primary.port} user=postgres'" if primary else None
        if for_major(self.major).uses_recovery_conf:
            lines = ["standby_mode = 'on'\n", "recovery_target_timeline = 'latest'\n"]
            if conninfo:
                lines.append(f"primary_conninfo = {conninfo}\n")
            path = self.pgdata / "recovery.conf"
            path.write_text("".join(lines))
            chown_postgres(path)
        else:
            signal = self.pgdata / "standby.signal"
            signal.touch()
            chown_postgres(signal)
            if conninfo:
                self.set(primary_conninfo=conninfo)

    # -- SQL ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def connect(self, dbname: str = "postgres") -> Iterator[Any]:
        from pgrewindkit.cluster.source import connect

        with connect(self.conninfo(dbname)) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        with self.connect() as conn:
            cursor = conn.execute(sql, params)
            if cursor.description is None:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]  # psycopg: a value per column

    def query_one(self, sql: str, params: Sequence[object] = ()) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def execute(self, *statements: str) -> None:
        with self.connect() as conn:
            for statement in statements:
                conn.execute(statement)

    def wait_for(self, condition: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s on {self.pgdata}")
            time.sleep(0.1)


def new_cluster(bins: PgBinaries, **initdb_args: Any) -> Cluster:
    cluster = Cluster(bins, make_workdir(f"pgrk{bins.major}-"))
    cluster.initdb(**initdb_args)
    return cluster
