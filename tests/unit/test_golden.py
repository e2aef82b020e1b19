"""Every command's output on the shipped fixtures, byte for byte, against tests/golden/.

The goldens were recorded before output moved into ``render/``; only the JSON fields listed in
docs/reference.md ("JSON fields unified in 0.2") changed since. To record them again after a
deliberate change: ``PGREWINDKIT_GOLDEN=update pytest tests/unit/test_golden.py``, then review the diff.

rewind and failback need servers; their output is recorded through the command line with the
action replaced by one returning a fixed result built from the shipped failover's plan.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pgrewindkit
from pgrewindkit import FailbackResult, RewindResult, Step, cli
from pgrewindkit.demo import SHIPPED
from tests.support.shipped import FIXTURES, MAJOR_DIRS, WAL_MAJORS
from tests.unit.fakes import failback_result, rewind_result

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
BIG = 48 * 1024  # larger outputs are kept as a hash and a line count
UPDATE = os.environ.get("PGREWINDKIT_GOLDEN") == "update"

Argv = list[str]


def _controldata(major_dir: Path) -> list[Argv]:
    files = sorted(str(p) for p in major_dir.glob("pg_control.*"))
    return [*(["controldata", f] for f in files), *(["controldata", "--json", f] for f in files)]


def _history(major_dir: Path) -> list[Argv]:
    files = sorted(str(p) for p in major_dir.glob("*.history"))
    return [*(["history", f] for f in files), *(["history", "--json", f] for f in files)]


def _waldump(major: int) -> list[Argv]:
    path = ["waldump", "--path", f"{{WAL{major}}}"]
    return [path, [*path, "--json"], [*path, "--stats"], [*path, "--stats=record"],
            [*path, "--json", "-n", "5"]]


def _pair(command: str, target: str, source: str) -> list[Argv]:
    argv = [command, "-D", f"{{PAIR}}/{target}", "--source-pgdata", f"{{PAIR}}/{source}"]
    return [argv, [*argv, "--json"]]


CASES: dict[str, list[Argv]] = {
    **{f"controldata-{d.name}": _controldata(d) for d in MAJOR_DIRS},
    "controldata-brief": [["controldata", "--brief", *sorted(str(p) for p in FIXTURES.glob("pg*/pg_control.*"))]],
    "controldata-errors": [["controldata", "/no/such/dir"], ["controldata", str(FIXTURES / "pg15" / "expected.json")],
                           ["controldata", str(FIXTURES / "pg15" / "pg_control.primary-running"),
                            str(FIXTURES / "pg15" / "pg_control.primary-shutdown")]],
    **{f"history-{d.name}": _history(d) for d in MAJOR_DIRS},
    **{f"waldump-pg{m}": _waldump(m) for m in WAL_MAJORS},
    "divergence": [*_pair("divergence", "old-primary", "new-primary"),
                   *_pair("divergence", "new-primary", "old-primary"),
                   *_pair("divergence", "old-primary", "old-primary")],
    "discarded": [*_pair("discarded", "old-primary", "new-primary"), *_pair("discarded", "old-primary", "old-primary"),
                  [*_pair("discarded", "old-primary", "new-primary")[0], "--transactions", "2"],
                  [*_pair("discarded", "old-primary", "new-primary")[1], "--transactions", "all"]],
    "plan": [*_pair("plan", "old-primary", "new-primary"), *_pair("plan", "new-primary", "old-primary"),
             *_pair("plan", "old-primary", "old-primary"),
             [*_pair("plan", "old-primary", "old-primary")[1], "--pg-rewind-version", "15.9"],
             [*_pair("plan", "old-primary", "new-primary")[0], "--pg-rewind-version", "16.2"]],
    "inspect": [["inspect", "{PAIR}/old-primary"], ["inspect", "--json", "{PAIR}/old-primary"],
                ["inspect", "{PAIR}/new-primary"], ["inspect", "--json", "{PAIR}/new-primary"],
                ["inspect", "{WAL11}"], ["inspect", "--json", "{WAL11}"]],
    "recovery-config": [
        ["recovery-config", "{WAL11}", "--dry-run", "--primary-conninfo", "host=new password=secret",
         "--application-name", "old", "--slot", "s1", "--restore-command", "cp /archive/%f %p"],
        ["recovery-config", "{PAIR}/old-primary", "--dry-run", "--primary-conninfo", "host=new password=secret",
         "--application-name", "old", "--slot", "s1", "--restore-command", "cp /archive/%f %p"],
    ],
    "demo": [["demo", "--fixtures", str(SHIPPED)], ["demo", "--fixtures", "/no/such/dir"]],
    "rewind": [["rewind", "-D", "{PAIR}/old-primary", "--source-pgdata", "{PAIR}/new-primary"],
               ["rewind", "-D", "{PAIR}/old-primary", "--source-pgdata", "{PAIR}/new-primary", "--json"],
               ["rewind", "-D", "{PAIR}/new-primary", "--source-pgdata", "{PAIR}/new-primary"],
               ["rewind", "-D", "{PAIR}/new-primary", "--source-pgdata", "{PAIR}/new-primary", "--json"]],
    "failback": [["failback", "-D", "{PAIR}/old-primary", "--source-server", "host=new"],
                 ["failback", "-D", "{PAIR}/old-primary", "--source-server", "host=new", "--json"]],
}


def _fake_rewind(pair: Path) -> Callable[..., RewindResult]:
    def fake(target: str, source: object, **_options: object) -> RewindResult:
        return rewind_result(pair, target)

    return fake


def _fake_failback(pair: Path) -> Callable[..., FailbackResult]:
    def fake(target: str, source_conninfo: str, *, on_step: Callable[[Step], None] | None = None,
             **_options: object) -> FailbackResult:
        return failback_result(pair, target, on_step)

    return fake


def _no_program(name: str, major: int, *_args: object, **_options: object) -> object:
    raise pgrewindkit.BinaryNotFoundError(f"no {name} of PostgreSQL {major} found")


def _replace_everywhere(monkeypatch: pytest.MonkeyPatch, real: object, fake: object) -> None:
    """The command line may reach an action by any module's name for it: replace them all."""
    for name, module in list(sys.modules.items()):
        if name == "pgrewindkit" or name.startswith("pgrewindkit.cli"):
            for attr, value in list(vars(module).items()):
                if value is real:
                    monkeypatch.setattr(module, attr, fake)


def _run(argv: Argv) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, out=out, err=err)
    stdout = out.getvalue()
    if len(stdout) > BIG:
        digest = hashlib.sha256(stdout.encode()).hexdigest()
        stdout = f"sha256 {digest}, {stdout.count(chr(10))} lines, {len(stdout)} characters\n"
    return f"exit {code}\n--- stdout\n{stdout}--- stderr\n{err.getvalue()}"


def _document(name: str, places: dict[str, Path]) -> str:
    parts = []
    for template in CASES[name]:
        argv = [arg.format(**{k: str(v) for k, v in places.items()}) for arg in template]
        shown = " ".join(template).replace(str(FIXTURES), "<FIXTURES>").replace(str(SHIPPED), "<FIXTURES>")
        parts.append(f"$ pgrewindkit {shown}\n{_run(argv)}")
    text = "\n".join(parts)
    for key, path in places.items():
        text = text.replace(str(path), "{" + key + "}")
    # the demo unpacks into a fresh temporary directory
    text = text.replace(str(FIXTURES), "<FIXTURES>").replace(str(SHIPPED), "<FIXTURES>")
    return re.sub(r"/\S*?pgrewindkit-demo-[^/\s]+", "{DEMO}", text)


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("name", sorted(CASES))
def test_output_equals_golden(name: str, failover_pair: Path, wal_dirs: dict[int, Path],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_everywhere(monkeypatch, pgrewindkit.rewind, _fake_rewind(failover_pair))
    _replace_everywhere(monkeypatch, pgrewindkit.failback, _fake_failback(failover_pair))
    # plan predicts the pg_rewind installed here, if any: none, so that it predicts the newest minor known
    _replace_everywhere(monkeypatch, pgrewindkit.find_program, _no_program)
    places: dict[str, Path] = {"PAIR": failover_pair, **{f"WAL{m}": d for m, d in wal_dirs.items()}}
    actual = _document(name, places)
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.write_text(actual)
    assert golden.is_file(), f"no golden for {name}: record it with PGREWINDKIT_GOLDEN=update"
    assert actual == golden.read_text()
