"""PostgreSQL 9.5 and 9.6 against their own programs: control files, pg_controldata's text, 9.6's
``pg_control_*()`` answers, the history file and a WAL segment with pg_xlogdump's text and statistics,
all recorded from real 9.5.25 / 9.6.22 servers (``fixtures/generate.py --nine``, ``fixtures/v9.x/``)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from pgrewindkit import cli, controldata_json, controldata_lines, read_control_file, read_timeline_history
from tests.support.shipped import FIXTURES

NINE = {"9.5": 95, "9.6": 96}
CASES = [(name, p.name.split(".", 1)[1]) for name in NINE for p in sorted((FIXTURES / f"v{name}").glob("pg_control.*"))]


def _expected(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / f"v{name}" / "expected.json").read_text())
    return data


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_five_states_of_each() -> None:
    assert len(CASES) == 10


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize(("name", "state"), CASES)
def test_text_equals_pg_controldata(name: str, state: str) -> None:
    control = read_control_file(FIXTURES / f"v{name}" / f"pg_control.{state}")
    assert control.major == NINE[name] and control.version.name == name
    text = "".join(line + "\n" for line in controldata_lines(control))
    assert text == (FIXTURES / f"v{name}" / "pg_controldata" / f"{state}.txt").read_text()


@pytest.mark.parametrize(("name", "state"), [c for c in CASES if c[0] == "9.6"])
def test_json_equals_the_sql_functions_of_9_6(name: str, state: str) -> None:
    data = controldata_json(read_control_file(FIXTURES / f"v{name}" / f"pg_control.{state}"))
    sql = _expected(name)["control"][state]["sql"]  # type: ignore[index]
    columns = {k: v for answer in sql.values() for k, v in answer.items()}
    for key in ("pg_control_last_modified", "checkpoint_time"):  # the server's to_json says +00:00 its own way
        columns.pop(key)
    # to_json quotes the xid and oid columns; pgrewindkit gives numbers (docs/reference.md)
    def same(value: object) -> object:
        return value if isinstance(value, bool) or value is None else str(value)

    assert {k: same(data[k]) for k in columns} == {k: same(v) for k, v in columns.items()}
    assert "checkpoint_location" in data and "checkpoint_lsn" not in data and data["bigint_timestamps"] is True
    assert data["major"] == 9.6 and "mock_authentication_nonce" not in data


def test_9_5_json_takes_9_6_names_and_its_own_wal_level() -> None:
    control = read_control_file(FIXTURES / "v9.5" / "pg_control.primary-shutdown")
    data = controldata_json(control)
    assert data["major"] == 9.5 and "prior_location" in data and data["wal_level"] == "hot_standby"
    assert "Latest checkpoint's NextXID:          0/" in "\n".join(controldata_lines(control))


@pytest.mark.parametrize("name", NINE)
def test_history_and_inspect(name: str) -> None:
    history = read_timeline_history(FIXTURES / f"v{name}" / "00000002.history")
    expected = _expected(name)["history"]["00000002.history"]  # type: ignore[index]
    assert [[e.timeline, str(e.switchpoint)] for e in history.entries] == expected["entries"]
    code, out, _err = run("controldata", "--brief", str(FIXTURES / f"v{name}" / "pg_control.promoted-running"))
    assert code == 0 and f"PostgreSQL {name}, in production, timeline 2" in out


@pytest.fixture(scope="module")
def nine_wal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each fixture's segment unpacked into a data directory's ``pg_xlog``, beside its control file."""
    dirs = {}
    for name in NINE:
        pgdata = tmp_path_factory.mktemp(f"v{name}")
        with tarfile.open(FIXTURES / f"v{name}" / "wal.tar.gz") as tar:
            tar.extractall(pgdata, filter="data")
        (pgdata / "global").mkdir()
        (pgdata / "global" / "pg_control").write_bytes(
            (FIXTURES / f"v{name}" / "pg_control.promoted-running").read_bytes())
        dirs[name] = pgdata
    return dirs


def _recorded(name: str, file: str) -> tuple[list[str], list[str]]:
    path = FIXTURES / f"v{name}" / file
    if file.endswith(".gz"):
        with gzip.open(path, "rt") as recorded:
            text = recorded.read()
    else:
        text = path.read_text()
    lines = text.splitlines()
    return [x for x in lines if not x.startswith("stderr: ")], [x[8:] for x in lines if x.startswith("stderr: ")]


@pytest.mark.parametrize("name", NINE)
@pytest.mark.parametrize("stats", ["--stats", "--stats=record"])
def test_stats_equal_pg_xlogdump(nine_wal: dict[str, Path], name: str, stats: str) -> None:
    segment = str(_expected(name)["segment"])
    code, out, err = run("waldump", stats, "-p", str(nine_wal[name]), segment)
    lines, errors = _recorded(name, "pg_xlogdump-stats.txt" if stats == "--stats" else "pg_xlogdump-stats-record.txt")
    assert code == 0 and out.splitlines() == lines
    assert errors[0].startswith("pg_xlogdump: FATAL:  ") and errors[0][len("pg_xlogdump: FATAL:  "):] in err


@pytest.mark.parametrize("name", NINE)
def test_records_equal_pg_xlogdump(nine_wal: dict[str, Path], name: str) -> None:
    """pg_wal is not there: pg_xlog is found. Record lines equal pg_xlogdump -b's up to the description
    (pgrewindkit prints the record type only); block lines are equal."""
    code, out, _err = run("waldump", "-p", str(nine_wal[name]), str(_expected(name)["segment"]))
    recorded, _errors = _recorded(name, "pg_xlogdump-b.txt.gz")

    def cut(line: str) -> str:
        head, sep, desc = line.partition(", desc: ")
        return head + sep + desc.split(" ", 1)[0] if sep else line.rstrip()

    assert code == 0 and len(recorded) > 1000
    assert [cut(x) for x in out.splitlines()] == [cut(x) for x in recorded]
    if name == "9.5":
        assert any("Transaction/COMMIT" in x for x in _recorded(name, "pg_xlogdump-stats-record.txt")[0])


@pytest.mark.parametrize("name", ["9.5", "9.6"])
def test_rewind_decisions_of_nine_are_made(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_rewind 9.5's and 9.6's decisions are verified (fixtures/failover95, failover96 and the
    integration tests): a divergence and a plan are made; a major still unverified is refused."""
    from pgrewindkit import UnsupportedVersionError, find_divergence, plan_rewind
    from pgrewindkit.majors import rewind
    from pgrewindkit.majors.versions import parse_major

    pgdata = tmp_path / "pgdata"
    (pgdata / "global").mkdir(parents=True)
    (pgdata / "global" / "pg_control").write_bytes((FIXTURES / f"v{name}" / "pg_control.primary-shutdown").read_bytes())
    assert find_divergence(pgdata, pgdata).reason == "source and target cluster are on the same timeline"
    assert plan_rewind(pgdata, pgdata).outcome == "no_rewind_required"
    monkeypatch.setattr(rewind, "UNVERIFIED_MAJORS", frozenset({parse_major(name)}))
    for decide in (find_divergence, plan_rewind):
        with pytest.raises(UnsupportedVersionError, match=f"pg_rewind {name}'s decisions are not verified"):
            decide(pgdata, pgdata)
