"""Every per-major table has a row for every major pgrewindkit supports, and a major some table
lacks is refused, naming the tables."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from pgrewindkit import majors
from pgrewindkit.errors import UnsupportedVersionError
from pgrewindkit.majors import programs, records, rewind, rmgrs, server, standby, versions, wal
from pgrewindkit.majors.layouts import control
from pgrewindkit.majors.layouts.xlog import WAL_STRUCTS
from pgrewindkit.majors.versions import MAJORS, Major

NUMBERS = [m.major for m in MAJORS]
FAKE = Major(19, 1900, 202606301, 0xD120)


@pytest.fixture
def fresh_rows() -> Iterator[None]:
    """``for_major`` is cached: start and end with an empty cache around a test that edits tables."""
    majors.for_major.cache_clear()
    yield
    majors.for_major.cache_clear()


@pytest.mark.parametrize("major", MAJORS, ids=str)
def test_every_table_covers_every_major(major: Major) -> None:
    """What lets a reader of one table (``read_control_file``: the layouts) skip ``for_major``."""
    assert majors.missing_tables(major) == []


def test_every_table_is_checked() -> None:
    names = [name for name, _covers in majors.TABLES]
    assert names == ["control file layouts", "WAL formats", "xlogreader messages", "resource manager names",
                     "pg_rewind rules", "programs and their options", "standby settings",
                     "server functions and settings", "WAL payload layouts", "catalogue layouts"]


def test_tables_have_no_rows_for_unknown_majors() -> None:
    assert set(wal.WAL_FORMATS) == set(NUMBERS)
    assert set(wal.MESSAGES_BY_MAJOR) == set(NUMBERS)
    assert set(rmgrs.rmgr_names()) == set(NUMBERS)
    assert set(rewind.REWIND_RULES) == set(NUMBERS)
    assert set(programs.PROGRAMS) == set(NUMBERS)
    assert set(server.SERVER_SQL) == set(NUMBERS)
    assert set(standby.STANDBY_SETTINGS) == set(NUMBERS)
    assert set(records.RECORD_LAYOUTS) == set(NUMBERS)
    assert set(records.CATALOG_LAYOUTS) == set(NUMBERS)
    assert set(control.CONTROL_LAYOUTS) == {m.control_version for m in MAJORS}


@pytest.mark.parametrize("major", NUMBERS)
def test_one_row_gathers_every_table(major: int) -> None:
    row = majors.for_major(major)
    assert row is majors.for_major(major)  # cached
    assert row.version is versions.by_major(major)
    assert row.control is control.CONTROL_LAYOUTS[row.version.control_version]
    assert row.wal is wal.WAL_FORMATS[major]
    assert row.wal.version is row.version
    assert row.messages is row.wal.messages is wal.MESSAGES_BY_MAJOR[major]
    assert row.structs is WAL_STRUCTS
    assert row.rewind is rewind.rules_for(major)
    assert row.rewind.version is row.version
    assert row.programs.version is row.version
    assert row.standby.version is row.version
    assert row.server is server.server_sql(major) and row.server.version is row.version
    assert len(row.rmgrs) == row.wal.max_builtin_rmid + 1


def test_a_major_without_rows_is_refused(monkeypatch: pytest.MonkeyPatch, fresh_rows: None) -> None:
    monkeypatch.setattr(versions, "MAJORS", (*MAJORS, FAKE))
    monkeypatch.setitem(versions._BY_MAJOR, FAKE.major, FAKE)
    assert versions.by_major(19) is FAKE
    assert majors.missing_tables(FAKE) == [name for name, _covers in majors.TABLES]
    with pytest.raises(UnsupportedVersionError, match=r"no row for it in the tables of control file layouts, "
                                                      r"WAL formats, .*, catalogue layouts"):
        majors.for_major(19)
    for lookup in (wal.wal_format, wal.messages, rmgrs.resource_managers, rewind.rules_for, programs.programs_for,
                   standby.standby_settings, server.server_sql):
        with pytest.raises(UnsupportedVersionError, match="PostgreSQL 19 is not supported yet: the table of"):
            lookup(19)
    with pytest.raises(UnsupportedVersionError, match="control file layouts has no row"):
        control.control_layout(FAKE)


def test_a_table_missing_one_row_names_it(monkeypatch: pytest.MonkeyPatch, fresh_rows: None) -> None:
    monkeypatch.setattr(rewind, "REWIND_RULES", {k: v for k, v in rewind.REWIND_RULES.items() if k != 16})
    with pytest.raises(UnsupportedVersionError, match=r"PostgreSQL 16 .* tables of pg_rewind rules \("):
        majors.for_major(16)
    assert majors.for_major(15).major == 15


def test_majors_outside_the_identity_table_are_refused() -> None:
    with pytest.raises(UnsupportedVersionError, match="PostgreSQL 9 is not supported"):
        majors.for_major(9)
    with pytest.raises(UnsupportedVersionError, match="PostgreSQL 19 is not supported"):
        rewind.rules_for(19)


def test_rows_are_in_major_order_and_unique() -> None:
    assert sorted(set(NUMBERS), key=versions.order) == NUMBERS
    assert [m.name for m in MAJORS][:3] == ["9.5", "9.6", "10"]
    for table in (wal.WAL_FORMATS, rewind.REWIND_RULES, programs.PROGRAMS, server.SERVER_SQL):
        assert list(table) == NUMBERS
    with pytest.raises(ValueError, match="two rows for major 10"):
        versions.keyed((programs.PROGRAMS[10], programs.PROGRAMS[10]))


def test_rules_for_a_minor_apply_its_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rewind.rules_for(16, 15) is rewind.rules_for(16)  # a minor after every change: the row itself
    override = rewind.MinorOverride(16, 0, 2, {"keeps_wal_read": False})
    monkeypatch.setattr(rewind, "MINOR_OVERRIDES", (override,))
    assert rewind.rules_for(16, 2).keeps_wal_read is False
    assert rewind.rules_for(16, 3).keeps_wal_read is True
    assert rewind.rules_for(16).keeps_wal_read is True
    assert rewind.rules_for(16, 2) == attrs.evolve(rewind.rules_for(16), keeps_wal_read=False)


@pytest.mark.parametrize(("major", "minor", "keeps"), [
    (13, 23, False), (14, 14, False), (14, 15, True), (15, 9, False), (15, 10, True), (16, 2, False),
    (16, 5, False), (16, 6, True), (17, 1, False), (17, 2, True), (18, 0, True), (16, None, True),
])
def test_the_keep_wal_read_rule_by_minor(major: int, minor: int | None, keeps: bool) -> None:
    # 90bcc7c2db (2024-11-15) reached 14.15, 15.10, 16.6 and 17.2; 13 never had it
    assert rewind.rules_for(major, minor).keeps_wal_read is keeps


@pytest.mark.parametrize(("major", "segsize", "checksums", "options"), [
    (10, 1, False, []),
    (11, 1, False, ["--wal-segsize=1"]),
    (17, None, True, ["--data-checksums"]),
    (18, 1, False, ["--wal-segsize=1", "--no-data-checksums"]),
    (18, None, True, ["--data-checksums"]),
])
def test_initdb_options(major: int, segsize: int | None, checksums: bool, options: list[str]) -> None:
    assert programs.programs_for(major).initdb_options(wal_segsize_mb=segsize, checksums=checksums) == options


@pytest.mark.parametrize("major", NUMBERS)
def test_recovery_configuration_and_names(major: int) -> None:
    row = majors.for_major(major)
    assert row.uses_recovery_conf is (major in (95, 96, 10, 11))
    old = major in (95, 96)
    assert (row.programs.wal_directory, row.programs.waldump) == (
        ("pg_xlog", "pg_xlogdump") if old else ("pg_wal", "pg_waldump"))
    assert row.programs.initdb_no_sync == ("--nosync" if old else "--no-sync")


@pytest.mark.parametrize("major", NUMBERS)
def test_server_sql_and_streaming_defaults(major: int) -> None:
    row = majors.for_major(major)
    old = major in (95, 96)
    assert row.server.wal.current_insert_lsn == (
        "pg_current_xlog_insert_location()" if old else "pg_current_wal_insert_lsn()")
    assert row.server.wal.last_replay_lsn == ("pg_last_xlog_replay_location()" if old else "pg_last_wal_replay_lsn()")
    assert (row.server.wal.walfile_name, row.server.wal.switch) == (
        ("pg_xlogfile_name", "pg_switch_xlog()") if old else ("pg_walfile_name", "pg_switch_wal()"))
    assert row.server.wal_receiver_view is (major != 95)
    assert row.server.slot_reserves_wal is (major != 95)
    assert ("SET idle_in_transaction_session_timeout = 0" in row.server.session_setup) is (major != 95)
    assert dict(row.server.streaming_settings) == ({"max_wal_senders": "10", "hot_standby": "on"} if old else {})
    assert row.programs.promote_waits is row.programs.hba_allows_local_replication is (not old)
    assert row.server.keep_wal(1024) == (
        {"wal_keep_size": "'1024MB'"} if versions.order(major) >= (13,) else {"wal_keep_segments": 64})


@pytest.mark.parametrize(("number", "name"), [(90525, "9.5"), (90622, "9.6"), (100023, "10"), (180006, "18")])
def test_server_version_numbers(number: int, name: str) -> None:
    assert versions.by_server_version(number).name == name


@pytest.mark.parametrize("number", [90424, 190000, 0])
def test_unknown_server_version_numbers(number: int) -> None:
    with pytest.raises(UnsupportedVersionError, match="is not supported"):
        versions.by_server_version(number)


def test_two_part_majors_are_shown_by_name_and_ordered_by_release() -> None:
    nine_five, nine_six, ten = (versions.by_major(m) for m in (95, 96, 10))
    assert (str(nine_five), nine_five.json, ten.json) == ("9.5", 9.5, 10)
    assert nine_five.order < nine_six.order < ten.order
    assert versions.order(95) < versions.order(96) < versions.order(10) < versions.order(18)
    assert (versions.display(96), versions.display(16), versions.display(7)) == ("9.6", "16", "7")
    assert (versions.parse_major("9.5"), versions.parse_major("16")) == (95, 16)
    assert versions.SUPPORTED == "PostgreSQL 9.5 to 18"
    assert nine_six.tablespace_directory == "PG_9.6_201608131"
    for text in ("95", "9.4", "9"):
        with pytest.raises(UnsupportedVersionError, match=f"PostgreSQL {text} is not supported"):
            versions.parse_major(text)
    with pytest.raises(UnsupportedVersionError, match=r"PostgreSQL 9.6 is not supported yet: the table of x"):
        versions.lookup({}, 96, "x")


@pytest.mark.parametrize(("major", "control_version", "catalog", "magic", "rmgrs"), [
    (95, 942, 201510051, 0xD087, 20), (96, 960, 201608131, 0xD093, 22),
])
def test_the_rows_of_9_5_and_9_6(major: int, control_version: int, catalog: int, magic: int, rmgrs: int) -> None:
    row = majors.for_major(major)
    assert (row.version.control_version, row.version.catalog_version, row.version.wal_page_magic) == (
        control_version, catalog, magic)
    assert versions.by_control(control_version, catalog) is row.version
    assert wal.by_magic(magic) is row.wal
    assert row.control.crc_offset == 256  # enableIntTimes, no mock nonce (research: pg_control.h)
    assert [name for name, _ in row.control.fields][-4:] == ["float4ByVal", "float8ByVal", "data_checksum_version",
                                                               "crc"]
    assert len(row.rmgrs) == rmgrs
    assert row.wal.image_flags.apply == 0 and not row.wal.toplevel_xid
    assert row.wal.stats_masks_xact_info is (major == 96)
    assert row.rewind.ancestor_in_source_history_only is (major == 95)
    assert row.rewind.ignored_paths == ("postmaster.pid", "postmaster.opts")
    assert row.rewind.excluded_dir_contents == () and row.rewind.excluded_files == ()
    assert row.programs.pg_rewind_options == frozenset({"--dry-run", "--progress", "--debug"})
    length = row.messages.invalid_record_length.format(lsn="0/3076488", expected=24, got=0)
    assert length == ("invalid record length at 0/3076488" if major == 95 else
                      "invalid record length at 0/3076488: wanted 24, got 0")
    names = {r.name: r for r in row.rmgrs}
    assert names["XLOG"].identify(0xC0) == "FPI_MULTI" and names["XLOG"].identify(0xD0) == "UNKNOWN (d0)"
    assert names["Hash"].identify(0x00) == "UNKNOWN (0)"
    assert names["Standby"].identify(0x20) == ("UNKNOWN (20)" if major == 95 else "INVALIDATIONS")


@pytest.mark.parametrize(("text", "release"), [
    ("16.2", (16, 2)), ("16", (16, None)), ("pg_rewind (PostgreSQL) 16.2", (16, 2)),
    ("pg_rewind (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)", (15, 18)),
    ("pg_rewind (PostgreSQL) 18beta1", (18, None)),
    ("pg_rewind (PostgreSQL) 9.5.25", (95, 25)), ("9.6.22", (96, 22)), ("9.6", (96, None)),
])
def test_parse_release(text: str, release: tuple[int, int | None]) -> None:
    assert rewind.parse_release(text) == release


@pytest.mark.parametrize("text", ["x16.2", "16.2.1", "sixteen", ""])
def test_parse_release_refuses_what_is_no_release(text: str) -> None:
    with pytest.raises(UnsupportedVersionError, match="not a PostgreSQL release"):
        rewind.parse_release(text)


def test_predicted_release() -> None:
    assert rewind.predicted_release(16, (16, 2)) == (16, 2)
    assert rewind.predicted_release(16, None) == (16, rewind.NEWEST_MINOR[16])
    assert rewind.predicted_release(18, (18, None)) == (18, rewind.NEWEST_MINOR[18])
    assert set(rewind.NEWEST_MINOR) == set(rewind.REWIND_RULES)
    with pytest.raises(UnsupportedVersionError, match="pg_rewind 15 cannot rewind a PostgreSQL 16 cluster"):
        rewind.predicted_release(16, (15, 4))
