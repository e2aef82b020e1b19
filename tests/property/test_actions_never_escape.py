"""Whatever the actions are given (settings, connection strings, paths, options, what pg_rewind
prints and how it ends), only a pgrewindkit error escapes (argparse's exit 2 for the command line),
and a refusal leaves the target byte-identical. No server: the fake runner's programs and the fake
source of tests/unit/test_orchestration.py play them, on copies of the shipped failover."""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pgrewindkit
from pgrewindkit.actions.failback import failback, standby_conninfo
from pgrewindkit.actions.recovery import recovery_config, write_recovery_config
from pgrewindkit.actions.rewind import rewind
from pgrewindkit.cli import main
from pgrewindkit.cli.exits import EXIT_INTERNAL
from pgrewindkit.cluster.conninfo import conninfo_value, mask_password, parse_conninfo
from pgrewindkit.errors import PgRewindKitError
from tests.support.cluster import tree_hash
from tests.unit.test_orchestration import COPYING, DECISIONS, DONE, NEED, VERSION, FakeServer, Pair, make_pair

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# a copy of the failover per example: fewer examples, so that the file runs in well under 30 s
FUZZ_ACTIONS = settings(FUZZ, max_examples=12)

# text as hostile as it gets: line ends, quotes, backslashes, NUL, lone surrogates (not UTF-8), huge
HOSTILE = st.text(st.characters(blacklist_categories=()), max_size=40)
SPECIAL = st.lists(st.sampled_from(["\r", "\n", "'", '"', "\\", "\x00", " ", "=", "%f", "%p", "%r", "\udcff",
                                   "a", "é", "@", ":", "/", "?", "&", "#", "-"]), max_size=30).map("".join)
HUGE = st.sampled_from(["x" * 1_000_000, "'" * 100_000, "\\" * 100_001])
TEXT = HOSTILE | SPECIAL | HUGE
MAYBE = st.none() | TEXT
PG_LINES = st.lists(st.sampled_from([*DECISIONS, NEED, *COPYING, *DONE]) | HOSTILE, max_size=8)
CODES = st.sampled_from([0, 0, 1, 2, 127, -9, -15, 255])


@contextlib.contextmanager
def a_pair(failover_pair: Path) -> Iterator[Pair]:
    """A fresh copy of the failover (the ``pair`` fixture's, once per example), in a temporary
    working directory."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp)  # a relative --backup-dir (or any relative path drawn) lands here
        yield make_pair(failover_pair, Path(tmp), patch)


@attrs.define
class FuzzRunner:
    """A ``CommandRunner`` that answers whatever it is asked: ``--version`` as the fake runner does,
    pg_rewind with the lines and status drawn (its writes when asked), anything else with a status drawn."""

    bindir: Path
    lines: list[str]
    code: int
    other_code: int
    effect: Callable[[], None] | None = None
    ran: list[tuple[str, ...]] = attrs.field(factory=list)

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], user: str | None,
                 on_line: Callable[[str], None], stdin_devnull: bool = True) -> int:
        command = tuple(argv)
        if len(command) == 2 and command[1] == "--version":
            on_line(f"{Path(command[0]).name} {VERSION}")
            return 0
        self.ran.append(command)
        if Path(command[0]).name != "pg_rewind":
            return self.other_code
        if self.effect is not None:
            self.effect()
        for line in self.lines:
            on_line(line)
        return self.code

    def ran_pg_rewind(self) -> bool:
        return any(Path(c[0]).name == "pg_rewind" for c in self.ran)


# -- recovery configuration ---------------------------------------------------------------------------


@FUZZ
@given(st.integers(-3, 30) | st.sampled_from(list(range(10, 19))), MAYBE, MAYBE, MAYBE, TEXT, st.booleans(),
       st.sampled_from(["latest", "2"]) | HOSTILE)
def test_recovery_config_any_text(major: int, conninfo: str | None, slot: str | None, restore: str | None,
                                  current: str, keep: bool, timeline: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        before = tree_hash(Path(tmp))
        try:
            config = recovery_config(major, primary_conninfo=conninfo, primary_slot_name=slot,
                                     restore_command=restore, current_auto_conf=current, keep_current=keep,
                                     target_timeline=timeline)
        except PgRewindKitError:
            return
        try:
            write_recovery_config(tmp, config)
        except PgRewindKitError:
            assert tree_hash(Path(tmp)) == before


# -- connection strings -------------------------------------------------------------------------------

KEYWORDS = st.sampled_from(["host", "port", "user", "dbname", "password", "application_name", "sslmode", "x"])
PASSWORD = st.text(st.sampled_from("PWQZ9'\\ =@:/%"), min_size=1, max_size=12).map(lambda p: "\x01Zq" + p)


def _keyword_form(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f"{k}={conninfo_value(v)}" for k, v in pairs)


@FUZZ
@given(TEXT | TEXT.map(lambda t: "postgresql://" + t) | TEXT.map(lambda t: "password=" + t), HOSTILE)
def test_conninfo_any_text(text: str, name: str) -> None:
    with contextlib.suppress(PgRewindKitError):
        parse_conninfo(text)
    mask_password(text)
    with contextlib.suppress(PgRewindKitError):
        standby_conninfo(text, name)


@FUZZ
@given(st.lists(st.tuples(KEYWORDS, HOSTILE), max_size=5), PASSWORD, st.booleans(), HOSTILE)
def test_a_password_never_survives_masking(pairs: list[tuple[str, str]], password: str, as_uri: bool,
                                           name: str) -> None:
    pairs = [(k, v) for k, v in pairs if k != "password"] + [("password", password)]
    uri = f"postgresql://u:{quote(password, safe='')}@h:5432/db"
    conninfo = uri if as_uri else _keyword_form(pairs)
    try:
        parsed = parse_conninfo(conninfo)
    except PgRewindKitError:
        return
    assert parsed.get("password") == password
    assert password not in mask_password(conninfo)
    with contextlib.suppress(PgRewindKitError):
        assert password not in mask_password(standby_conninfo(conninfo, name))


# -- rewind and failback with the fake runner ---------------------------------------------------------


def _backup_dir(kind: str, pair: Pair) -> str | None:
    root = pair.target.parent
    if kind == "file":
        (root / "a-file").write_text("x")
        return str(root / "a-file")
    if kind == "symlink":
        (root / "a-link").symlink_to(pair.target)
        return str(root / "a-link")
    return {"none": None, "relative": "rel/backups", "missing": str(root / "no" / "such"),
            "inside": str(pair.target / "base")}.get(kind, kind)


BACKUP_DIRS = st.sampled_from(["none", "relative", "missing", "file", "symlink", "inside"]) | HOSTILE
EFFECTS = st.sampled_from(["none", "writes", "half"])
BINDIRS = st.sampled_from(["fake", "none"]) | HOSTILE


def _effect(pair: Pair, name: str) -> Callable[[], None] | None:
    return {"writes": pair.as_pg_rewind_writes, "half": pair.half_written}.get(name)


def _bindir(pair: Pair, name: str) -> str | None:
    return {"fake": str(pair.bindir), "none": None}.get(name, name)


@FUZZ_ACTIONS
@given(MAYBE, BACKUP_DIRS, BINDIRS, PG_LINES, CODES, CODES, EFFECTS, st.booleans(), st.booleans())
def test_rewind_any_input(failover_pair: Path, restore: str | None, backup_kind: str, bindir: str, lines: list[str],
                          code: int, other_code: int, effect: str, dry_run: bool, missing_wal: bool) -> None:
    with a_pair(failover_pair) as pair:
        if missing_wal:
            segment = "00000001000000000000000C"
            (pair.target / "pg_wal" / segment).rename(pair.archive / segment)
        before = tree_hash(pair.target)
        runner = FuzzRunner(pair.bindir, lines, code, other_code, _effect(pair, effect))
        try:
            rewind(pair.target, pair.source, bindir=_bindir(pair, bindir), runner=runner, restore_command=restore,
                   backup_dir=_backup_dir(backup_kind, pair), dry_run=dry_run)
        except PgRewindKitError:
            if not runner.ran_pg_rewind():
                assert tree_hash(pair.target) == before, "a refusal changed the target"


@FUZZ_ACTIONS
@given(MAYBE, MAYBE, MAYBE, MAYBE, BACKUP_DIRS, BINDIRS, PG_LINES, CODES, CODES, EFFECTS, st.booleans())
def test_failback_any_input(failover_pair: Path, restore: str | None, name: str | None, slot: str | None,
                            start: str | None, backup_kind: str, bindir: str, lines: list[str], code: int,
                            other_code: int, effect: str, create_slot: bool) -> None:
    with a_pair(failover_pair) as pair:
        before = tree_hash(pair.target)
        runner = FuzzRunner(pair.bindir, lines, code, other_code, _effect(pair, effect))
        try:
            failback(pair.target, "host=new-primary user=rewinder password=s3cret", restore_command=restore,
                     bindir=_bindir(pair, bindir), application_name=name, slot_name=slot, start_command=start,
                     backup_dir=_backup_dir(backup_kind, pair), runner=runner, create_slot=create_slot,
                     connect=lambda _: FakeServer(pair.source), timeout=0.05)
        except PgRewindKitError:
            if not runner.ran_pg_rewind():
                assert tree_hash(pair.target) == before, "a refusal changed the target"


# -- the command line ---------------------------------------------------------------------------------

# option values as a user may type them (no NUL: a command line cannot hold one), as --opt=VALUE so
# that a value starting with "-" stays a value
ARG = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=20) | SPECIAL.map(
    lambda t: t.replace("\x00", "").replace("\udcff", ""))
COMMON = ["--restore-command", "--bindir", "--config-file", "--backup-dir"]
OPTIONS = {
    "rewind": [*COMMON, "--wait-for-checkpoint"],
    "failback": [*COMMON, "--application-name", "--slot", "--start-command", "--timeout", "--wait-for-checkpoint"],
    "recovery-config": ["--primary-conninfo", "--application-name", "--slot", "--restore-command"],
    "plan": ["--restore-command", "--pg-rewind-version"],
}
FLAGS = {"rewind": ["--dry-run", "--json", "-q", "--keep-backup", "--no-ensure-shutdown"],
         "failback": ["--json", "-q", "--no-start", "--create-slot", "--discard-unarchived-wal"],
         "recovery-config": ["--dry-run"], "plan": ["--json", "-q"]}


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, list[str]]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    options = draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=4, unique=True))
    args = [f"{option}={draw(ARG)}" for option in options]
    args += draw(st.lists(st.sampled_from(FLAGS[command]), max_size=2, unique=True))
    return command, args


@FUZZ_ACTIONS
@given(command_lines(), PG_LINES, CODES, CODES, st.booleans())
def test_cli_never_an_internal_error(failover_pair: Path, command_line: tuple[str, list[str]], lines: list[str],
                                     code: int, other_code: int, live: bool) -> None:
    command, args = command_line
    with a_pair(failover_pair) as pair, pytest.MonkeyPatch.context() as patch:
        runner = FuzzRunner(pair.bindir, lines, code, other_code)
        patch.setattr(pgrewindkit, "rewind", functools.partial(rewind, runner=runner))
        patch.setattr(pgrewindkit, "failback", functools.partial(
            failback, runner=runner, connect=lambda _: FakeServer(pair.source)))
        patch.setattr(pgrewindkit, "LiveSource", lambda _: FakeServer(pair.source))
        if command == "recovery-config":
            argv = [command, "-D", str(pair.target), *args]
        elif command == "failback":
            argv = [command, "-D", str(pair.target), "--source-server=host=new-primary", *args]
        else:
            source = ["--source-server=host=new-primary"] if live else [f"--source-pgdata={pair.source}"]
            argv = [command, "-D", str(pair.target), *source, *args]
        try:
            exit_code = main(argv, out=io.StringIO(), err=io.StringIO())
        except SystemExit as exc:  # argparse refusing a value: its usage error, 2, and nothing else
            exit_code = 2 if exc.code == 2 else EXIT_INTERNAL
        assert exit_code != EXIT_INTERNAL, f"internal error for {argv}"
