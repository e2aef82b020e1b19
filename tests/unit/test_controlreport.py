"""``controldata`` text equals pg_controldata's, and has each major's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrewindkit import controldata_lines, read_control_file
from tests.support.shipped import FIXTURES, control_cases

PG15_OUTPUTS = sorted((FIXTURES / "pg15" / "pg_controldata").glob("*.txt"))


def test_pg15_outputs_were_recorded() -> None:
    assert len(PG15_OUTPUTS) >= 6


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("output", PG15_OUTPUTS, ids=lambda p: p.stem)
def test_text_equals_pg_controldata_15(output: Path) -> None:
    control = read_control_file(FIXTURES / "pg15" / f"pg_control.{output.stem}")
    assert "".join(line + "\n" for line in controldata_lines(control)) == output.read_text()


LINE_COUNTS = {10: 51, 11: 50, 12: 51, 13: 50, 14: 50, 15: 50, 16: 50, 17: 50, 18: 51}


@pytest.mark.parametrize(("major", "name"), [c for c in control_cases() if c[1] == "primary-shutdown"])
def test_lines_per_major(major: int, name: str) -> None:
    lines = controldata_lines(read_control_file(FIXTURES / f"pg{major}" / f"pg_control.{name}"))
    assert len(lines) == LINE_COUNTS[major]
    labels = [line[:38].rstrip() for line in lines]
    assert ("Prior checkpoint location:" in labels) == (major == 10)
    assert ("max_wal_senders setting:" in labels) == (major >= 12)
    assert ("Float4 argument passing:" in labels) == (major <= 12)
    assert ("Default char data signedness:" in labels) == (major >= 18)
    assert labels[-1] == "Mock authentication nonce:"
    assert all(len(line) > 38 for line in lines)


def test_per_major_items_have_a_renderer() -> None:
    """majors/controldata.py says which items a major has; render/controldata.py how to show each."""
    from pgrewindkit.majors import controldata as per_major
    from pgrewindkit.render import controldata as shown

    assert set(per_major.PG_CONTROLDATA_LINES) == set(shown._LINES)
    assert {*per_major.SQL_COLUMNS, *per_major.EXTRA_COLUMNS} == set(shown._COLUMNS)
    assert set(per_major.MAJORS_OF) <= set(shown._LINES) | set(shown._COLUMNS)
    assert all(majors and majors < per_major.EVERY for majors in per_major.MAJORS_OF.values())
