"""The pg_rewind wrapper's pure parts: command lines per major, pg_rewind's messages, progress; and
the common ancestor of two histories, as each major's pg_rewind finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrewindkit import PgRewindKitError
from pgrewindkit.actions.rewind import RewindOptions, build_command
from pgrewindkit.actions.rewind_output import ProgressEvent, classify, parse_progress
from pgrewindkit.analysis.divergence import common_ancestor
from pgrewindkit.errors import DivergenceError, Kind
from pgrewindkit.formats.lsn import LSN
from pgrewindkit.majors.rewind import rules_for
from pgrewindkit.model import TimelineSpan

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


def _spans(*rows: tuple[int, str, str | None]) -> tuple[TimelineSpan, ...]:
    return tuple(TimelineSpan(t, LSN.parse(b), None if e is None else LSN.parse(e)) for t, b, e in rows)


# source on timeline 3 (1 -> 2 at 0/3000000, 2 -> 3 at 0/5000000)
SOURCE_3 = _spans((1, "0/0", "0/3000000"), (2, "0/3000000", "0/5000000"), (3, "0/5000000", None))


@pytest.mark.parametrize(("target", "nine_five", "later"), [
    # the old primary of the first failover: both algorithms agree
    (_spans((1, "0/0", None)), ("0/3000000", 0), ("0/3000000", 0)),
    # a target on timeline 2 that switched on its own (to a timeline 2 of another history): 9.5 looks up
    # only its current timeline in the source's history, 9.6+ compare both histories entry by entry
    (_spans((1, "0/0", "0/2800000"), (2, "0/2800000", None)), ("0/5000000", 0), ("0/2800000", 0)),
])
def test_common_ancestor_of_9_5_and_later(target: tuple[TimelineSpan, ...], nine_five: tuple[str, int],
                                          later: tuple[str, int]) -> None:
    for major, expected in ((95, nine_five), (96, later), (16, later)):
        lsn, index = common_ancestor(SOURCE_3, target[-1:] if major == 95 else target, rules_for(major))
        assert (str(lsn), index) == expected, major


def test_9_5_finds_no_ancestor_for_a_timeline_the_source_never_had() -> None:
    # the promoted node as the target of its old primary: 9.5 fails, 9.6 finds the fork on timeline 1
    source, target = _spans((1, "0/0", None)), _spans((1, "0/0", "0/3025C78"), (2, "0/3025C78", None))
    with pytest.raises(DivergenceError, match="could not find common ancestor") as caught:
        common_ancestor(source, target[-1:], rules_for(95))
    assert caught.value.kind is Kind.NO_COMMON_ANCESTOR
    assert str(common_ancestor(source, target, rules_for(96))[0]) == "0/3025C78"
