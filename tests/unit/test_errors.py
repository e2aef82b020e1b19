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
