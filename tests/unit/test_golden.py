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
from pgrewindkit import FailbackResult, RewindResult, cli, plan_rewind
from pgrewindkit.actions.failback import Step
from tests.conftest import FIXTURES, MAJOR_DIRS, WAL_MAJORS

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
    "plan": [*_pair("plan", "old-primary", "new-primary"), *_pair("plan", "new-primary", "old-primary"),
             *_pair("plan", "old-primary", "old-primary")],
    "inspect": [["inspect", "{PAIR}/old-primary"], ["inspect", "--json", "{PAIR}/old-primary"],
                ["inspect", "{PAIR}/new-primary"], ["inspect", "--json", "{PAIR}/new-primary"],
                ["inspect", "{WAL11}"], ["inspect", "--json", "{WAL11}"]],
    "recovery-config": [
        ["recovery-config", "{WAL11}", "--dry-run", "--primary-conninfo", "host=new password=secret",
         "--application-name", "old", "--slot", "s1", "--restore-command", "cp /archive/%f %p"],
        ["recovery-config", "{PAIR}/old-primary", "--dry-run", "--primary-conninfo", "host=new password=secret",
         "--application-name", "old", "--slot", "s1", "--restore-command", "cp /archive/%f %p"],
    ],
    "demo": [["demo", "--fixtures", str(FIXTURES)], ["demo", "--fixtures", "/no/such/dir"]],
    "rewind": [["rewind", "-D", "{PAIR}/old-primary", "--source-pgdata", "{PAIR}/new-primary"],
               ["rewind", "-D", "{PAIR}/old-primary", "--source-pgdata", "{PAIR}/new-primary", "--json"],
               ["rewind", "-D", "{PAIR}/new-primary", "--source-pgdata", "{PAIR}/new-primary"],
               ["rewind", "-D", "{PAIR}/new-primary", "--source-pgdata", "{PAIR}/new-primary", "--json"]],
    "failback": [["failback", "-D", "{PAIR}/old-primary", "--source-server", "host=new"],
                 ["failback", "-D", "{PAIR}/old-primary", "--source-server", "host=new", "--json"]],
}


def _fake_rewind(pair: Path) -> Callable[..., RewindResult]:
    """A rewind that returns what a real one on the shipped failover would, with fixed timing."""

    def fake(target: str, source: object, **_options: object) -> RewindResult:
        plan = plan_rewind(pair / "new-primary", target)
        d = plan.divergence
        c = d.last_common_checkpoint if d else None
        if plan.outcome == "no_rewind_required":
            return RewindResult(outcome="no_rewind_required", plan=plan, divergence_lsn=None, divergence_timeline=None,
                                checkpoint_lsn=None, checkpoint_timeline=None, bytes_copied=0, seconds=0.25,
                                command="", warnings=d.warnings if d else ())
        return RewindResult(
            outcome="rewound", plan=plan, divergence_lsn=d.lsn if d else None,
            divergence_timeline=d.timeline if d else None, checkpoint_lsn=c.lsn if c else None,
            checkpoint_timeline=c.timeline if c else None, bytes_copied=plan.bytes_to_copy, seconds=12.34567,
            command="pg_rewind --target-pgdata=old --source-pgdata=new", warnings=("a warning",),
            fetched_wal=("000000010000000000000008",), config_kept=("postgresql.conf",),
            config_differences=("port: '5433' -> '5432'",), backup=Path("/var/tmp/pgrewindkit-backup"))

    return fake


def _fake_failback(pair: Path) -> Callable[..., FailbackResult]:
    rewind = _fake_rewind(pair)

    def fake(target: str, source_conninfo: str, *, on_step: Callable[[Step], None] | None = None,
             **_options: object) -> FailbackResult:
        steps = (Step("rewind", "rewound from 0/8D8D10", 12.34567), Step("start", "started", 1.5))
        for step in steps:
            if on_step is not None:
                on_step(step)
        return FailbackResult(rewind=rewind(target, source_conninfo), application_name="old_primary",
                              recovery_files=("standby.signal", "postgresql.auto.conf"), streaming=True, steps=steps)

    return fake


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
        shown = " ".join(template).replace(str(FIXTURES), "<FIXTURES>")
        parts.append(f"$ pgrewindkit {shown}\n{_run(argv)}")
    text = "\n".join(parts)
    for key, path in places.items():
        text = text.replace(str(path), "{" + key + "}")
    # the demo unpacks into a fresh temporary directory
    return re.sub(r"/\S*?pgrewindkit-demo-[^/\s]+", "{DEMO}", text.replace(str(FIXTURES), "<FIXTURES>"))


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("name", sorted(CASES))
def test_output_equals_golden(name: str, failover_pair: Path, wal_dirs: dict[int, Path],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_everywhere(monkeypatch, pgrewindkit.rewind, _fake_rewind(failover_pair))
    _replace_everywhere(monkeypatch, pgrewindkit.failback, _fake_failback(failover_pair))
    places: dict[str, Path] = {"PAIR": failover_pair, **{f"WAL{m}": d for m, d in wal_dirs.items()}}
    actual = _document(name, places)
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.write_text(actual)
    assert golden.is_file(), f"no golden for {name}: record it with PGREWINDKIT_GOLDEN=update"
    assert actual == golden.read_text()
