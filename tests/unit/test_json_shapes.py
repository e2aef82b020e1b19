"""docs/reference.md ("JSON shapes") lists every key of every JSON output, with its type: the keys
``pgrewindkit.render`` produces for the shipped fixtures are exactly those, of those types."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrewindkit import (
    LSN,
    PgRewindKitError,
    discarded_work,
    find_divergence,
    inspect_datadir,
    open_wal,
    plan_rewind,
    read_control_file,
    read_timeline_history,
    render,
)
from tests.support.shipped import FIXTURES, wal_expected
from tests.unit.fakes import discarded_sample, failback_result, rewind_result

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "map": dict,
    "array": list, "null": type(None),
}


def documented() -> dict[str, dict[str, set[str]]]:
    """Section title -> key path -> the JSON types the table allows."""
    text = REFERENCE.read_text()
    section = text[text.index("\n## JSON shapes"):]
    section = section[:section.index("\n## ", 1)]
    shapes: dict[str, dict[str, set[str]]] = {}
    title = None
    for line in section.splitlines():
        if line.startswith("### "):
            title = line[4:].replace("`", "")
            continue
        row = re.match(r"\| `([^`]+)` \| ([a-z ]+) \|", line)
        if row and title is not None:
            shapes.setdefault(title, {})[row[1]] = set(row[2].split(" or "))
    return shapes


def _paths(value: object, prefix: str, maps: set[str]) -> Iterator[tuple[str, object]]:
    """Every key path in ``value`` with its value; maps are not entered (their keys are data)."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path, item
            if path not in maps:
                yield from _paths(item, path, maps)
    elif isinstance(value, list):
        for item in value:
            yield from _paths(item, prefix + "[]", maps)


@pytest.fixture(scope="module")
def produced(failover_pair: Path, wal_dirs: dict[int, Path],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    """Section title -> the JSON values render produces for it on the fixtures."""
    old, new = failover_pair / "old-primary", failover_pair / "new-primary"
    doctored = tmp_path_factory.mktemp("doctored") / "old"  # with findings to report
    shutil.copytree(old, doctored)
    (doctored / "postmaster.pid").write_text("999999\n/data\n")
    (doctored / "backup_label").write_text("START WAL LOCATION: 0/8000028 (file 000000010000000000000008)\n")
    divergences: list[object] = [render.divergence_json(find_divergence(new, old)),
                                 render.divergence_json(find_divergence(old, old))]
    plans = [render.plan_json(plan_rewind(source, target)) for source, target in ((new, old), (old, new), (old, old))]
    plans.append(render.plan_json(plan_rewind(*_doctored_pair(old, new, tmp_path_factory.mktemp("pending")))))
    wal = open_wal(wal_dirs[15])
    scan = wal.scan(None)
    records: list[object] = [render.record_json(r) for r in scan]
    ends: list[object] = []
    for end in (None, LSN.parse(wal_expected(15)["start"]) + 4096):  # the end of WAL; an --end
        scan = wal.scan(None, end=end)
        for _ in scan:
            pass
        assert scan.end_of_wal is not None
        ends.append(render.end_of_wal_json(scan.end_of_wal))
    with pytest.raises(PgRewindKitError) as failed:
        find_divergence(old, new)  # the old primary's WAL lacks the new primary's timeline
    return {
        "controldata --json": [render.controldata_json(read_control_file(p))
                               for p in sorted(FIXTURES.glob("pg*/pg_control.*"))],
        "history --json": [render.history_json(read_timeline_history(p))
                           for p in sorted(FIXTURES.glob("pg*/*.history"))],
        "waldump --json": records,
        "waldump --json (stderr)": ends,
        "inspect --json": [render.inspection_json(inspect_datadir(d)) for d in (old, new, doctored)],
        "divergence --json": divergences,
        "discarded --json": [render.discarded_json(discarded_work(new, old)),
                             render.discarded_json(discarded_sample())],
        "plan --json": list(plans),
        "rewind --json": [render.rewind_json(rewind_result(failover_pair, t)) for t in (old, new)],
        "failback --json": [render.failback_json(failback_result(failover_pair, t)) for t in (old, new)],
        "error": [render.error_json(failed.value), render.error_json(RuntimeError("a bug"))],
    }


def _doctored_pair(old: Path, new: Path, where: Path) -> tuple[Path, Path]:
    """A source promoted again without a checkpoint (a newer history file than its pg_control's
    timeline), and a target with WAL not archived yet and an abandoned timeline's history file."""
    source, target = where / "new", where / "old"
    shutil.copytree(new, source)
    shutil.copytree(old, target)
    (source / "pg_wal" / "00000003.history").write_text("1\t0/BB1A80\tno recovery target specified\n"
                                                        "2\t0/F000000\tno recovery target specified\n")
    status = target / "pg_wal" / "archive_status"
    status.mkdir(exist_ok=True)
    for name in sorted(p.name for p in (target / "pg_wal").iterdir() if len(p.name) == 24)[-2:]:
        (status / f"{name}.ready").write_text("")
    (target / "pg_wal" / "00000004.history").write_text("1\t0/BB0000\tno recovery target specified\n"
                                                        "3\t0/C00000\tno recovery target specified\n")
    return source, target


def test_every_output_is_documented(produced: dict[str, list[object]]) -> None:
    assert set(documented()) == set(produced)


@pytest.mark.parametrize("title", sorted(documented()))
def test_documented_keys_are_the_produced_ones(title: str, produced: dict[str, list[object]]) -> None:
    shape = documented()[title]
    maps = {path for path, types in shape.items() if "map" in types}
    seen: dict[str, set[str]] = {}
    for value in produced[title]:
        for path, item in _paths(value, "", maps):
            seen.setdefault(path, set()).update(t for t, py in TYPES.items() if isinstance(item, py)
                                                and not (py is int and isinstance(item, bool)))
    assert sorted(seen) == sorted(shape), (f"not documented: {sorted(set(seen) - set(shape))}; "
                                           f"not produced: {sorted(set(shape) - set(seen))}")
    wrong = {path: types for path, types in seen.items() if not types & shape[path]}
    assert not wrong, f"types not as documented: {wrong}"


def test_keys_are_in_the_documented_order(produced: dict[str, list[object]]) -> None:
    for title, values in produced.items():
        order = list(documented()[title])
        top = [path for path in order if "." not in path and "[]" not in path]
        for value in values:
            assert isinstance(value, dict)
            assert [k for k in top if k in value] == list(value), title
