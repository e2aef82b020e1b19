"""What the benchmarks share: PostgreSQL 15's programs, WAL built once and cached, timing one
command (wall time and peak RSS of it and its children), and comparing ``waldump --stats`` with
pg_waldump and the floor in one run.

Built WAL is kept under ``/var/tmp/pgrewindkit/bench/<name>`` (a ``ready`` file marks a finished
build), so re-runs only time; ``--rebuild`` on any benchmark builds again.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import pgbinaries  # noqa: E402
from tests.support.cluster import PORT, Cluster, chown_postgres, make_workdir, new_cluster, run_captured  # noqa: E402

CACHE = Path("/var/tmp/pgrewindkit/bench")
OURS = str(ROOT / ".venv" / "bin" / "pgrewindkit")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FLOOR = str(ROOT / "benchmarks" / "wal_floor.py")

# Bytecode for the package, as an installed wheel has it: with PYTHONDONTWRITEBYTECODE set (it is, on
# the CI machines) every run would otherwise compile every module it imports, ~0.09 s of start-up.
compileall.compile_dir(str(ROOT / "src"), quiet=1)


def pg15() -> pgbinaries.PgBinaries:
    bins = pgbinaries.debian(15)
    if bins is None:
        sys.exit("Debian's postgresql-15 is needed (make test installs it)")
    return bins


def cached(name: str, build: Callable[[Path], None], *, rebuild: bool = False) -> Path:
    """``CACHE/name``, made by ``build(directory)`` unless a finished build is there."""
    home = CACHE / name
    if (home / "ready").is_file() and not rebuild:
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    chown_postgres(CACHE)
    chown_postgres(home)
    build(home)
    (home / "ready").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return home


def keep_stopped(cluster: Cluster, home: Path, name: str = "data") -> Path:
    """Move the stopped cluster's data directory into ``home`` and drop the rest of its work directory."""
    cluster.stop()
    shutil.move(str(cluster.pgdata), home / name)
    shutil.rmtree(cluster.workdir, ignore_errors=True)
    return home / name


def wal_bytes(cluster: Cluster, start: str) -> int:
    return int(cluster.query_one("SELECT pg_current_wal_insert_lsn() - %s::pg_lsn", (start,)))


def pgbench_argv(bins: pgbinaries.PgBinaries, cluster: Cluster, *args: str) -> list[str | Path]:
    return [bins.program("pgbench"), "-h", str(cluster.socket_dir), "-p", str(PORT), "-U", "postgres", *args,
            "postgres"]


def pgbench_until(bins: pgbinaries.PgBinaries, cluster: Cluster, start: str, size_mb: int, *args: str) -> None:
    """pgbench in 10-second slices until ``size_mb`` of WAL were written since ``start``."""
    while wal_bytes(cluster, start) < size_mb << 20:
        run_captured(pgbench_argv(bins, cluster, "-n", "-T", "10", *args), timeout=600)
        print(f"  {wal_bytes(cluster, start) >> 20} MB of WAL", flush=True)


def dense_settings() -> dict[str, object]:
    """Many small records, few images: no checkpoint during the run, no compression, images on."""
    return {"max_wal_size": "'16GB'", "min_wal_size": "'1GB'", "wal_keep_size": "'16GB'",
            "checkpoint_timeout": "'1h'", "full_page_writes": "on", "wal_compression": "off",
            "synchronous_commit": "off"}


# -- timing --------------------------------------------------------------------------------------


class Timed:
    def __init__(self, seconds: float, peak_mb: int, stdout: str, code: int) -> None:
        self.seconds, self.peak_mb, self.stdout, self.code = seconds, peak_mb, stdout, code


def timed(argv: Sequence[str], env: dict[str, str] | None = None) -> Timed:
    """Wall time, peak RSS in MB (the largest of the process and its children) and stdout of one command."""
    read, write = os.pipe()
    started = time.perf_counter()
    # stderr (where both tools say where WAL ended, and pg_rewind what it decided) is dropped
    pid = os.posix_spawn(argv[0], list(argv), {**os.environ, "LC_ALL": "C", **(env or {})},
                         file_actions=[(os.POSIX_SPAWN_DUP2, write, 1), (os.POSIX_SPAWN_CLOSE, read),
                                       (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    _pid, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    os.close(read)
    return Timed(elapsed, usage.ru_maxrss // 1024, b"".join(chunks).decode(), os.waitstatus_to_exitcode(status))


def spread(values: list[float]) -> str:
    """median (min-max) of a few measurements."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def total_line(output: str) -> str:
    return next((line for line in output.splitlines() if line.startswith("Total")), "")


def compare_waldump(label: str, pgdata: Path, start: str, *, rounds: int = 3, per_record: bool = False) -> None:
    """``pgrewindkit waldump --stats`` against ``pg_waldump --stats`` and the floor (one core and all
    cores), interleaved round by round so that each round's ratios compare runs made under the same
    load; prints every measure, the ratios per round, and peak memory."""
    mode = "--stats=record" if per_record else "--stats"
    ours = [OURS, "waldump", mode, "--path", str(pgdata), "--start", start]
    theirs = [str(pg15().program("pg_waldump")), mode, "-p", str(pgdata / "pg_wal"), "-s", start]
    floor_all = [PYTHON, FLOOR, "--path", str(pgdata), "--start", start]
    floor_one = [*floor_all, "--workers", "1"]
    timed(theirs)  # the page cache warm for everyone
    times: dict[str, list[float]] = {"ours": [], "theirs": [], "floor": [], "floor1": []}
    peaks: dict[str, int] = {}
    outputs: dict[str, str] = {}
    for _ in range(rounds):
        for key, argv in (("theirs", theirs), ("ours", ours), ("floor", floor_all), ("floor1", floor_one)):
            run = timed(argv)
            if run.code not in (0, 1):
                sys.exit(f"{argv[0]} {argv[1]} failed with {run.code}")
            times[key].append(run.seconds)
            peaks[key] = max(peaks.get(key, 0), run.peak_mb)
            outputs[key] = run.stdout
    same = total_line(outputs["ours"]) == total_line(outputs["theirs"]) and outputs["ours"] == outputs["theirs"]
    records = total_line(outputs["theirs"]).split()[1] if total_line(outputs["theirs"]) else "?"
    floor_records = outputs["floor"].split()[0] if outputs["floor"] else "?"
    wal_mb = sum(p.stat().st_size for p in (pgdata / "pg_wal").iterdir() if p.is_file()) >> 20
    ratio_theirs = [o / t for o, t in zip(times["ours"], times["theirs"])]
    ratio_floor = [o / f for o, f in zip(times["ours"], times["floor"])]
    floor_theirs = [f / t for f, t in zip(times["floor"], times["theirs"])]
    print(f"== {label}: {wal_mb} MB in pg_wal from {start}; {records} records (floor counted {floor_records}); "
          f"{rounds} rounds, cores: {len(os.sched_getaffinity(0))}; times are median (min-max) in s")
    print(f"pg_waldump {mode}:                {spread(times['theirs'])}   peak RSS {peaks['theirs']} MB")
    print(f"pgrewindkit waldump {mode}:       {spread(times['ours'])}   peak RSS {peaks['ours']} MB (largest process)")
    print(f"floor, all cores:                 {spread(times['floor'])}   peak RSS {peaks['floor']} MB")
    print(f"floor, one core:                  {spread(times['floor1'])}")
    print(f"ratio pgrewindkit / pg_waldump:   {spread(ratio_theirs)}x")
    print(f"ratio pgrewindkit / floor:        {spread(ratio_floor)}x")
    print(f"ratio floor / pg_waldump:         {spread(floor_theirs)}x")
    print(f"output identical to pg_waldump's: {same}", flush=True)
    if not same:
        sys.exit("the statistics differ")


# (bins, cluster, start LSN, size in MB) -> where the benchmark's WAL starts, if not at that start
Fill = Callable[[pgbinaries.PgBinaries, Cluster, str, int], "str | None"]


def built_wal(name: str, size_mb: int, settings: dict[str, object], fill: Fill, *,
              rebuild: bool = False) -> tuple[Path, str]:
    """``CACHE/<name>-<size_mb>``: a stopped PostgreSQL 15 cluster with ``settings`` whose WAL from
    the returned start LSN on was written by ``fill``; built once."""
    def make(home: Path) -> None:
        bins = pg15()
        cluster = start_cluster(bins, settings)
        try:
            start = wal_start(cluster)
            start = fill(bins, cluster, start, size_mb) or start
            keep_stopped(cluster, home)
        except BaseException:
            cluster.destroy()
            raise
        (home / "start.txt").write_text(start)

    home = cached(f"{name}-{size_mb}", make, rebuild=rebuild)
    return home / "data", (home / "start.txt").read_text().strip()


def wal_benchmark(doc: str | None, label: str, name: str, size_mb: int, settings: dict[str, object], fill: Fill,
                  *, per_record: bool = False) -> None:
    """A WAL benchmark's command line: build (once) and compare."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=size_mb)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"{label}, {args.size_mb} MB (built once, cached)...", flush=True)
    pgdata, start = built_wal(name, args.size_mb, settings, fill, rebuild=args.rebuild)
    compare_waldump(label, pgdata, start, rounds=args.rounds, per_record=per_record)


def run_sql_file(bins: pgbinaries.PgBinaries, cluster: Cluster, path: Path, *, timeout: float = 900) -> None:
    run_captured([bins.program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(cluster.socket_dir),
                  "-p", str(PORT), "-U", "postgres", "-f", str(path), "postgres"], timeout=timeout)


def start_cluster(bins: pgbinaries.PgBinaries, settings: dict[str, object]) -> Cluster:
    cluster = new_cluster(bins, wal_segsize_mb=None)
    cluster.set(**settings)
    cluster.start()
    return cluster


def wal_start(cluster: Cluster) -> str:
    return str(cluster.query_one("SELECT pg_current_wal_insert_lsn()::text"))


__all__ = [
    "CACHE",
    "OURS",
    "PYTHON",
    "ROOT",
    "Cluster",
    "Fill",
    "Timed",
    "built_wal",
    "cached",
    "compare_waldump",
    "dense_settings",
    "keep_stopped",
    "make_workdir",
    "pg15",
    "pgbench_argv",
    "pgbench_until",
    "run_captured",
    "run_sql_file",
    "spread",
    "start_cluster",
    "subprocess",
    "timed",
    "wal_benchmark",
    "wal_bytes",
    "wal_start",
]
