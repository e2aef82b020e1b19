from __future__ import annotations

import pytest

from pgrewindkit import errors


@pytest.mark.parametrize(
    ("error", "builtin"),
    [(errors.FormatError, ValueError), (errors.TruncatedError, EOFError),
     (errors.DataFileNotFoundError, FileNotFoundError), (errors.DataFileAccessError, PermissionError)],
)
def test_errors_are_also_the_builtin_they_resemble(error: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(error, errors.PgRewindKitError)
    assert issubclass(error, builtin)


def test_message_names_file_line_and_offset() -> None:
    assert str(errors.FormatError("bad", path="/x/y", offset=24)) == "/x/y at offset 24: bad"
    assert str(errors.HistoryParseError("bad", path="h", line=3)) == "h, line 3: bad"
    assert str(errors.PgRewindKitError("plain")) == "plain"


def test_every_class_registers_its_kind_and_lookup_finds_it() -> None:
    assert errors.lookup(errors.Kind.WAL_MISSING) is errors.WalMissingError
    assert errors.lookup("checksum") is errors.ChecksumError
    assert errors.lookup(errors.Kind.SAME_TIMELINE) is errors.PgRewindKitError  # a plan check, no class of its own
    assert errors.ChecksumError("bad").kind is errors.Kind.CHECKSUM
    assert errors.PgRewindKitError("plain").kind is errors.Kind.ERROR


def test_a_family_built_with_a_precise_kind_is_that_kinds_class() -> None:
    error = errors.DivergenceError("gone", kind=errors.Kind.WAL_MISSING, missing_segments=("000000010000000000000003",))
    assert isinstance(error, errors.WalMissingError) and isinstance(error, errors.DivergenceError)
    assert error.kind == "wal_missing" and error.missing_segments == ("000000010000000000000003",)
    assert type(errors.SourceError("no", kind="psycopg_missing")) is errors.PsycopgMissingError
    # a kind registered outside the family keeps the family's class, with the kind
    rewind = errors.RewindError("x", kind=errors.Kind.WAL_MISSING)
    assert type(rewind) is errors.RewindError and rewind.kind is errors.Kind.WAL_MISSING


def test_kinds_read_as_their_words() -> None:
    assert f"{errors.Kind.WAL_MISSING}" == str(errors.Kind.WAL_MISSING) == "wal_missing"
    assert errors.Kind("wal_missing") is errors.Kind.WAL_MISSING
    assert isinstance(errors.Kind.WAL_MISSING, str)


def test_action_errors_keep_state_and_step_apart_from_the_problem() -> None:
    error = errors.RewindError("pg_rewind died", kind=errors.Kind.PG_REWIND_FAILED,
                               state=errors.TargetState.PARTIALLY_REWOUND, state_detail="do not start it")
    assert error.problem == "pg_rewind died" and error.state is errors.TargetState.PARTIALLY_REWOUND
    assert str(error) == "pg_rewind died [pg_rewind_failed; target partially rewound: do not start it]"
    failed = errors.FailbackError("refused", kind=errors.Kind.SOURCE_UNAVAILABLE, step="connect")
    assert failed.problem == "refused" and str(failed) == "connect: refused"


def test_errors_survive_pickling() -> None:
    import pickle

    error = errors.DivergenceError("gone", kind=errors.Kind.WAL_MISSING, missing_segments=("a",))
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.WalMissingError and copy.missing_segments == ("a",) and str(copy) == "gone"
    located = pickle.loads(pickle.dumps(errors.DataFileNotFoundError("missing", path="/x")))
    assert str(located) == "/x: missing" and isinstance(located, FileNotFoundError)
