"""The pg_rewind wrapper's pure parts: command lines per major, pg_rewind's messages, progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrewindkit import PgRewindKitError
from pgrewindkit.actions.rewind import RewindOptions, build_command
from pgrewindkit.actions.rewind_output import ProgressEvent, classify, parse_progress

PG_REWIND = Path("/usr/lib/postgresql/15/bin/pg_rewind")


def test_password_never_on_the_command_line() -> None:
    options = RewindOptions(Path("/data"), source_server="host=db1 user=rewind password='s3 cret' dbname=postgres")
    command = build_command(PG_REWIND, options, 15)
    assert "s3 cret" not in " ".join(command.argv) and "password" not in command.shown()
    assert command.env == {"PGPASSWORD": "s3 cret"}
    assert command.argv[command.argv.index("--source-server") + 1] == "host=db1 user=rewind dbname=postgres"


@pytest.mark.parametrize(
    ("options", "major", "flag"),
    [({"no_sync": True}, 11, "--no-sync"), ({"ensure_shutdown": False}, 12, "--no-ensure-shutdown"),
     ({"restore_target_wal": True}, 12, "--restore-target-wal"), ({"config_file": "/etc/pg.conf"}, 14,
                                                                  "--config-file")],
)
def test_flags_a_major_lacks_are_refused(options: dict[str, object], major: int, flag: str) -> None:
    with pytest.raises(PgRewindKitError, match=flag):
        build_command(PG_REWIND, RewindOptions(Path("/d"), source_pgdata=Path("/s"), **options), major)  # type: ignore[arg-type]


def test_flags_by_version() -> None:
    options = RewindOptions(Path("/d"), source_pgdata=Path("/s"), no_sync=True, ensure_shutdown=False,
                            config_file="/etc/postgresql/15/main/postgresql.conf", dry_run=True)
    argv = build_command(PG_REWIND, options, 15).argv
    assert argv[:5] == (str(PG_REWIND), "--target-pgdata", "/d", "--source-pgdata", "/s")
    assert {"--dry-run", "--progress", "--no-sync", "--no-ensure-shutdown",
            "--config-file=/etc/postgresql/15/main/postgresql.conf"} <= set(argv)
    assert "--no-ensure-shutdown" not in build_command(PG_REWIND, RewindOptions(Path("/d"), source_pgdata=Path("/s")),
                                                       10).argv
    with pytest.raises(PgRewindKitError, match="needs a source server"):
        build_command(PG_REWIND, RewindOptions(Path("/d"), source_pgdata=Path("/s"), write_recovery_conf=True), 15)


@pytest.mark.parametrize(
    ("message", "kind"),
    [("servers diverged at WAL position 0/3000000 on timeline 1", "pg_rewind_failed"),
     ("source and target clusters are from different systems", "different_systems"),
     ("could not find previous WAL record at 0/3027D68: could not open file", "wal_missing"),
     ("could not read WAL record at 0/3000060: invalid record length", "wal_missing"),
     ('target server needs to use either data checksums or "wal_log_hints = on"', "no_wal_log_hints_or_checksums"),
     ("target server must be shut down cleanly", "target_not_cleanly_shut_down"),
     ("full_page_writes must be enabled in the source server", "full_page_writes_off"),
     ('"full_page_writes" must be enabled in the source server', "full_page_writes_off"),
     ("could not connect to server: No such file or directory", "source_unavailable"),
     ('connection to server on socket "/tmp/.s.PGSQL.5432" failed', "source_unavailable"),
     ("WAL record modifies a relation, but record type is not recognized: lsn: 0/1, rmgr: X, info: 01",
      "unrecognized_wal_record"),
     ('cannot be executed by "root"', "run_as_root")],
)
def test_error_kinds_from_every_wording(message: str, kind: str) -> None:
    assert classify(message) == kind


def test_progress_lines() -> None:
    assert parse_progress("    0/53301 kB (0%) copied") == ProgressEvent(0, 53301, 0)
    assert parse_progress("53301/53301 kB (100%) copied") == ProgressEvent(53301, 53301, 100)
    assert parse_progress("pg_rewind: Done!") is None
