from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pgrewindkit import cli
from tests.support.shipped import FIXTURES


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.usefixtures("utc")
def test_controldata_text() -> None:
    code, out, _ = run("controldata", str(FIXTURES / "pg15" / "pg_control.standby-running"))
    assert code == 0
    assert out == (FIXTURES / "pg15" / "pg_controldata" / "standby-running.txt").read_text()


def test_controldata_json() -> None:
    code, out, _ = run("controldata", "--json", str(FIXTURES / "pg10" / "pg_control.primary-running"))
    data = json.loads(out)
    assert code == 0
    assert data["major"] == 10
    assert data["state"] == "in production"
    assert isinstance(data["prior_lsn"], str)
    assert "max_wal_senders" not in data
    assert data["next_xid"].startswith("0:")
    assert isinstance(data["full_page_writes"], bool)


def test_history() -> None:
    code, out, _ = run("history", str(FIXTURES / "pg15" / "00000003.history"))
    assert code == 0
    assert out.startswith("Timeline 3\n")
    code, out, _ = run("history", "--json", str(FIXTURES / "pg15" / "00000003.history"))
    assert [e["timeline"] for e in json.loads(out)["entries"]] == [1, 2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["controldata", "/no/such/dir"], "control file does not exist"),
     (["controldata", str(FIXTURES / "pg15" / "expected.json")], "unexpected control file size"),
     (["history", str(FIXTURES / "pg15" / "pg_control.primary-running")], "history file")],
)
def test_bad_input_is_one_line(argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert code == cli.EXIT_BAD_INPUT
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert err.startswith("pgrewindkit: error: ")


def test_python_dash_m(tmp_path: Path) -> None:
    bad = tmp_path / "pg_control"
    bad.write_bytes(b"\0" * 8192)
    result = subprocess.run([sys.executable, "-m", "pgrewindkit", "controldata", str(bad)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pgrewindkit: error: ")
    assert result.stderr.count("\n") == 1


def test_error_json_names_kind_and_target_state() -> None:
    from pgrewindkit import Kind, RewindError, TargetState, render

    failed = RewindError("the target is running", kind=Kind.TARGET_RUNNING, state=TargetState.UNCHANGED)
    assert render.error_json(failed) == {"error": {"kind": "target_running", "message": "the target is running",
                                                   "target_state": "unchanged"}}
    assert render.error_json(ValueError("x"))["error"] == {"kind": "internal", "message": "x", "target_state": None}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only() -> None:
    from pgrewindkit import ProgressEvent
    from pgrewindkit.cli.progress import PartsProgress, ProgressBar

    err = _Terminal()
    bar = ProgressBar(err, enabled=True)
    bar(ProgressEvent(1024, 4096, 25))
    bar(ProgressEvent(4096, 4096, 100))
    assert err.getvalue() == ("\r  [#######.......................]  25% 1/4 MB"
                              "\r  [##############################] 100% 4/4 MB\n")
    parts = PartsProgress(err := _Terminal(), enabled=True, what="reading WAL")
    parts(1, 2)
    parts(2, 2)
    assert err.getvalue() == "\r  reading WAL: 1/2 parts\r  reading WAL: 2/2 parts\n"
    quiet = io.StringIO()
    ProgressBar(quiet, enabled=True)(ProgressEvent(1, 1, 100))
    assert quiet.getvalue() == ""


def test_plan_predicts_the_pg_rewind_found_or_asked_for(failover_pair: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pgrewindkit

    pair = ["-D", str(failover_pair / "old-primary"), "--source-pgdata", str(failover_pair / "old-primary"),
            "--json"]
    found = pgrewindkit.actions.programs.Program(Path("/x/pg_rewind"), 15, "pg_rewind (PostgreSQL) 15.7")
    monkeypatch.setattr(pgrewindkit, "find_program", lambda name, major: found)
    assert json.loads(run("plan", *pair)[1])["predicts"] == "pg_rewind 15.7"
    assert json.loads(run("plan", *pair, "--pg-rewind-version", "15.2")[1])["predicts"] == "pg_rewind 15.2"
    with pytest.raises(SystemExit) as usage:
        run("plan", *pair, "--pg-rewind-version", "fifteen")
    assert usage.value.code == 2


@pytest.mark.parametrize("argv", [
    ["history", "x.history", "--timeline", "١"],  # an Arabic-Indic digit: PostgreSQL refuses it
    ["waldump", "-p", ".", "-t", "1_0"],
    ["failback", "-D", "/x", "--source-server", "host=y", "--timeout", "nan"],
    ["failback", "-D", "/x", "--source-server", "host=y", "--timeout", "-1"],
    ["rewind", "-D", "/x", "--source-pgdata", "/y", "--wait-for-checkpoint", "inf"],
    ["discarded", "-D", "/x", "--source-pgdata", "/y", "--transactions", "-1"],
    ["discarded", "-D", "/x", "--source-pgdata", "/y", "--transactions", "some"],
    ["discarded", "-D", "/x", "--source-pgdata", "/y", "--transactions", "١"],
])
def test_absurd_numbers_are_usage_errors(argv: list[str]) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info, contextlib.redirect_stderr(err):
        cli.main(argv, out=io.StringIO(), err=err)
    assert exit_info.value.code == 2 and "error:" in err.getvalue()


def test_discarded_help_says_the_librarys_default_list() -> None:
    """The help cannot import the analysis to read ``LISTED`` (start-up): it says the number."""
    from pgrewindkit.analysis.discarded import LISTED

    out = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
        cli.main(["discarded", "--help"], out=out, err=io.StringIO())
    assert f"by default the first {LISTED})" in " ".join(out.getvalue().split())
