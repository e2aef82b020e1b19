"""Every field of every fixture control file equals what the server that made it says."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pgrewindkit import (
    ChecksumError,
    DataFileNotFoundError,
    DBState,
    FormatError,
    PgRewindKitError,
    TruncatedError,
    UnsupportedVersionError,
    controldata_json,
    parse_control_file,
    read_control_file,
)
from pgrewindkit.formats.crc import crc32c
from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS
from tests.support.shipped import FIXTURES, control_cases, expected

CASES = control_cases()


def _same(ours: Any, theirs: Any) -> bool:
    """The server's to_json quotes oid and xid columns; everything else must match in type too."""
    if isinstance(theirs, str) and not isinstance(ours, str) and not isinstance(ours, bool):
        return str(ours) == theirs
    return type(ours) is type(theirs) and ours == theirs


def _file(major: int, name: str) -> Path:
    return FIXTURES / f"pg{major}" / f"pg_control.{name}"


def test_fixtures_cover_every_major() -> None:
    assert sorted({major for major, _ in CASES}) == list(range(10, 19))


@pytest.mark.parametrize(("major", "name"), CASES)
def test_every_column_equals_the_server(major: int, name: str) -> None:
    case = expected(major)["control"][name]
    ours = controldata_json(read_control_file(_file(major, name)))
    for function, columns in case["sql"].items():
        for column, theirs in columns.items():
            assert column in ours, f"pg_control_{function}() column {column} missing"
            assert _same(ours[column], theirs), f"{column}: ours {ours[column]!r}, server {theirs!r}"
    sql_names = {c for cols in case["sql"].values() for c in cols}
    assert {k for k in ours if k in sql_names} == sql_names
    assert ours["major"] == major
    assert ours["state"] == case["state"]


SETTING_KEYS = {
    "wal_level": "wal_level", "wal_log_hints": "wal_log_hints", "max_connections": "max_connections",
    "max_worker_processes": "max_worker_processes", "max_wal_senders": "max_wal_senders",
    "max_prepared_transactions": "max_prepared_xacts", "max_locks_per_transaction": "max_locks_per_xact",
    "track_commit_timestamp": "track_commit_timestamp",
}


@pytest.mark.parametrize(("major", "name"), CASES)
def test_settings_equal_show(major: int, name: str) -> None:
    settings = expected(major)["control"][name]["settings"]
    ours = controldata_json(read_control_file(_file(major, name)))
    for setting, shown in settings.items():
        key = SETTING_KEYS[setting]
        if key not in ours:  # max_wal_senders is in pg_control from 12 on
            assert setting == "max_wal_senders"
            assert major < 12
            continue
        value = ours[key]
        rendered = ("on" if value else "off") if isinstance(value, bool) else str(value)
        assert rendered == shown, setting


def test_data_directory_or_file(tmp_path: Path) -> None:
    (tmp_path / "global").mkdir()
    shutil.copyfile(_file(15, "primary-shutdown"), tmp_path / "global" / "pg_control")
    control = read_control_file(tmp_path)
    assert control.state is DBState.SHUTDOWNED
    assert control.path == str(tmp_path / "global" / "pg_control")
    assert control == read_control_file(tmp_path / "global" / "pg_control")


def test_model_helpers() -> None:
    control = read_control_file(_file(15, "resetwal-epoch"))
    assert control.checkpoint_copy.next_xid_epoch == 7
    assert control.checkpoint_copy.next_full_xid == (7 << 32) | 123456
    standby = read_control_file(_file(15, "standby-running"))
    assert standby.state.description == "in archive recovery"
    assert not standby.state.is_clean_shutdown
    assert read_control_file(_file(10, "primary-shutdown")).prev_checkpoint is not None
    assert read_control_file(_file(11, "primary-shutdown")).prev_checkpoint is None
    assert read_control_file(_file(18, "primary-shutdown")).default_char_signedness is True
    assert read_control_file(_file(18, "primary-shutdown")).data_checksums


# -- bad input -------------------------------------------------------------------------------------

GOOD = _file(15, "primary-shutdown").read_bytes()
CRC_AT = CONTROL_LAYOUTS[1300].crc_offset


def _with_crc(data: bytearray) -> bytes:
    data[CRC_AT:CRC_AT + 4] = crc32c(bytes(data[:CRC_AT])).to_bytes(4, "little")
    return bytes(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="control file does not exist") as info:
        read_control_file(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("size", [0, 100, 8191])
def test_truncated(size: int) -> None:
    with pytest.raises(TruncatedError, match=f"unexpected control file size {size}, expected 8192"):
        parse_control_file(GOOD[:size], path="x/pg_control")


def test_too_long() -> None:
    with pytest.raises(FormatError, match="size 8193"):
        parse_control_file(GOOD + b"\0")


@pytest.mark.parametrize("offset", [0, 20, 40, 100, 200, CRC_AT - 1, CRC_AT])
def test_bit_flip_is_a_crc_error(offset: int) -> None:
    data = bytearray(GOOD)
    data[offset] ^= 0x10
    with pytest.raises(ChecksumError, match="calculated CRC checksum does not match") as info:
        parse_control_file(bytes(data), path="somewhere/pg_control")
    assert "somewhere/pg_control" in str(info.value)


@pytest.mark.parametrize(
    ("version", "catalog", "message"),
    [(937, 201409291, "PostgreSQL 9.4 is not supported \\(PostgreSQL 9.5 to 18\\)"),
     (960, 201510051, "belongs to PostgreSQL 9.6, but no release"),
     (1300, 202307999, "development build"), (1300 << 16, 202209061, "byte ordering"),
     (1234, 1, "not a PostgreSQL release")],
)
def test_unknown_versions(version: int, catalog: int, message: str) -> None:
    data = bytearray(GOOD)
    data[8:16] = version.to_bytes(4, "little") + catalog.to_bytes(4, "little")
    with pytest.raises(UnsupportedVersionError, match=message):
        parse_control_file(_with_crc(data))


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [(16, (9).to_bytes(4, "little"), "unrecognized database cluster state 9"),
     (172, (7).to_bytes(4, "little"), "unrecognized wal_level 7"),
     (208, b"\0" * 8, "float format mismatch"),
     (204, (4).to_bytes(4, "little"), "alignment"),
     (216, (3000).to_bytes(4, "little"), "database block size"),
     (228, (3 << 20).to_bytes(4, "little"), "WAL segment size")],
)
def test_sanity_checks_on_crc_valid_files(offset: int, value: bytes, message: str) -> None:
    data = bytearray(GOOD)
    data[offset:offset + len(value)] = value
    with pytest.raises(FormatError, match=message):
        parse_control_file(_with_crc(data))


def test_all_errors_share_the_root() -> None:
    with pytest.raises(PgRewindKitError):
        parse_control_file(b"")
