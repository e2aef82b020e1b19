"""What a rewind throws away, on the shipped failover (counts checked against pg_waldump 15 of the same
WAL), and the payload and catalogue decoders on bytes built as PostgreSQL lays them out, per major."""

from __future__ import annotations

import datetime
import struct
import tarfile
from pathlib import Path

import attrs
import pytest

from pgrewindkit import LSN, DataDirectory, LocalSource, discarded_work, find_divergence, render
from pgrewindkit.analysis import discarded
from pgrewindkit.formats.catalog import CommitLog, class_rows, heap_tuples, named_rows, relation_map
from pgrewindkit.formats.wal.heap import heap_truncate, logical_message, multi_insert_count, smgr_create
from pgrewindkit.formats.wal.xact import parse_prepare, parse_xact_end, timestamptz
from pgrewindkit.majors import records
from pgrewindkit.majors.versions import MAJORS
from tests.support.shipped import recording_id, rewind_recordings
from tests.unit.fakes import discarded_sample

AT = datetime.datetime(2026, 11, 29, 23, 21, 22, tzinfo=datetime.timezone.utc)


def test_shipped_failover(failover_pair: Path) -> None:
    work = discarded_work(failover_pair / "new-primary", failover_pair / "old-primary")
    assert (str(work.from_lsn), str(work.to_lsn), work.timeline) == ("0/BB1A80", "0/CAF008", 1)
    assert [t.xid for t in work.committed] == [729, 730, 731, 732]
    # pg_waldump 15: COMMIT 2026-11-29 23:21:22.738563 UTC ...
    assert [t.commit_time.microsecond for t in work.committed] == [738563, 748816, 752109, 759828]
    assert all(t.database_oid == 5 and t.commit_time.replace(microsecond=0) == AT for t in work.committed)
    assert work.source_promoted_at == AT.replace(microsecond=583355)  # the new primary's END_OF_RECOVERY
    assert (work.aborted, work.in_progress, work.prepared) == (0, 0, ())
    by_file = {r.relfilenode: r for r in work.relations}
    assert (by_file[16384].updates, by_file[16384].hot_updates) == (3058, 1996)  # pg_waldump: 1996 HOT, 1062 not
    assert by_file[16391].inserts == 5000
    assert by_file[16397].inserts == 1000 and by_file[16397].created
    assert work.anything_lost
    # the fixture keeps the old primary's catalogue files: every relation is named from them
    assert work.names_from == "target" and work.unnamed_relations == ()
    assert [(by_file[n].name, by_file[n].relation) for n in (16384, 16389, 16391, 16397)] == [
        ("public.accounts", "public.accounts"), ("public.accounts", "public.accounts_pkey"),
        ("public.audit", "public.audit"), ("public.old_primary_only", "public.old_primary_only")]
    assert [t.relations for t in work.committed][::3] == [("public.accounts",), ("public.accounts",)]


@pytest.mark.parametrize("recording", rewind_recordings(), ids=recording_id)
def test_every_recorded_failover_names_what_it_discards(recording: Path, tmp_path: Path) -> None:
    """fixtures/generate.py keeps the old primary's catalogue files and commit log, and the new
    primary's first page of its timeline: the report names every relation and the promotion offline."""
    with tarfile.open(recording / "pair.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    work = discarded_work(tmp_path / "new-primary", tmp_path / "old-primary")
    assert work.committed and work.names_from == "target" and work.unnamed_relations == ()
    assert all(r.name is not None for r in work.relations)
    assert work.source_promoted_at is not None and work.first_commit_time is not None
    assert work.source_promoted_at <= work.first_commit_time


def test_the_text_keeps_the_catalogues_apart(failover_pair: Path) -> None:
    """What an operator reads after a split brain: the sentence in milliseconds when the failover took
    less than a second, the tables, the catalogue rows DDL wrote on a line of their own, and each
    transaction's tables (a CREATE TABLE's new table among them) before its catalogue rows."""
    lines = render.discarded_lines(discarded_work(failover_pair / "new-primary", failover_pair / "old-primary"))
    assert lines[0] == ("4 transactions committed on the old primary between 2026-11-29 23:21:22.738 and "
                        "23:21:22.759 UTC, after the new primary took over at 23:21:22.583")
    table = lines[lines.index("Changes of committed transactions:") + 2:]
    names = ["public.accounts", "public.accounts", "public.audit", "public.old_primary_only"]
    assert [line.split()[0] for line in table[:4]] == names
    assert table[4] == ("System catalogue rows written by that DDL (lost with it): pg_attribute 7, pg_class 1, "
                        "pg_depend 3, pg_type 2")
    assert lines[-2].endswith("in postgres: public.old_primary_only; DDL (catalogue: pg_attribute, pg_class, "
                              "pg_depend, pg_type)")


@pytest.mark.parametrize("listed", [0, 1, 3])
def test_a_bounded_list_counts_every_commit(failover_pair: Path, listed: int) -> None:
    """Only the first ``listed`` committed transactions are kept one by one; the count, the times,
    the tables and the rest of the report are those of the whole list."""
    whole = discarded_work(failover_pair / "new-primary", failover_pair / "old-primary", listed=None)
    work = discarded_work(failover_pair / "new-primary", failover_pair / "old-primary", listed=listed)
    assert work.committed == whole.committed[:listed]
    assert (work.committed_count, work.committed_unlisted) == (4, 4 - listed)
    assert (work.first_commit_time, work.last_commit_time) == (whole.first_commit_time, whole.last_commit_time)
    assert attrs.evolve(work, committed=whole.committed) == whole
    assert work.anything_lost
    lines = render.discarded_lines(work)
    assert lines[0] == render.discarded_lines(whole)[0]
    listed_words = f"the first {listed} are" if listed else "none is"
    assert lines[lines.index("Committed transactions:") + 1:] == [
        *render.discarded_lines(whole)[-4:][:listed],
        f"  ... and {4 - listed} more, not listed ({listed_words}; --transactions N or --transactions all "
        "lists more)"]
    document = render.discarded_json(work)
    assert document["committed_count"] == 4 and len(document["committed"]) == listed  # type: ignore[arg-type]


def test_nothing_is_kept_per_ended_transaction(failover_pair: Path) -> None:
    """Memory grows with the transactions still running and the relations, not the commits: once a
    transaction ended, it is a bit, and a commit past the listed ones is only counted."""
    target = DataDirectory(failover_pair / "old-primary")
    divergence = find_divergence(LocalSource(failover_pair / "new-primary"), target)
    assert divergence.lsn is not None
    tally = discarded._Tally(records.record_layouts(target.control.major), listed=1)
    tally.read(target.wal(target.history(divergence.target_timeline)), divergence.lsn)
    assert (tally.committed_count, len(tally.committed), len(tally.touched)) == (4, 1, 1)
    assert (tally.running, tally.databases, tally.work) == (set(), {}, {})
    assert len(tally.committed_xids) == 4 and all(t in tally.committed_xids for t in (729, 730, 731, 732))


def test_a_negative_list_is_refused(failover_pair: Path) -> None:
    with pytest.raises(ValueError, match="at least 0"):
        discarded_work(failover_pair / "new-primary", failover_pair / "old-primary", listed=-1)


def test_same_cluster_discards_nothing(failover_pair: Path) -> None:
    work = discarded_work(failover_pair / "old-primary", failover_pair / "old-primary")
    assert work.from_lsn is None and not work.committed and not work.anything_lost
    assert render.discarded_lines(work)[0] == "no transaction committed on the old primary after the divergence"


def test_the_sentence() -> None:
    assert render.discarded_lines(discarded_sample())[0] == (
        "2 transactions committed on the old primary between 2026-11-29 12:01:07 and 12:03:55 UTC, "
        "after the new primary took over at 12:01:05")
    document = render.discarded_json(discarded_sample())
    assert document["first_commit_time"] == "2026-11-29T12:01:07.123456+00:00"
    assert document["source_promoted_at"] == "2026-11-29T12:01:05.123456+00:00"


# -- payloads ---------------------------------------------------------------------------------------------

def _commit(*, stats_size: int, gid: bool) -> bytes:
    """A COMMIT PREPARED body with every part: dbinfo, subxacts, relfilenodes, dropped stats,
    invalidations, twophase (and GID), origin."""
    xinfo = (records.XACT_XINFO_HAS_DBINFO | records.XACT_XINFO_HAS_SUBXACTS | records.XACT_XINFO_HAS_RELFILENODES
             | records.XACT_XINFO_HAS_INVALS | records.XACT_XINFO_HAS_TWOPHASE | records.XACT_XINFO_HAS_ORIGIN)
    body = struct.pack("<q", 123_456_789) + b""
    parts = [struct.pack("<II", 16385, 1663), struct.pack("<i2I", 2, 801, 802),
             struct.pack("<i3I", 1, 1663, 16385, 16999)]
    if stats_size:
        xinfo |= records.XACT_XINFO_HAS_DROPPED_STATS
        parts.append(struct.pack("<i", 2) + b"\x01" * (2 * stats_size))
    parts.append(struct.pack("<i", 1) + b"\x02" * 16)
    parts.append(struct.pack("<I", 800))
    if gid:
        xinfo |= records.XACT_XINFO_HAS_GID
        parts.append(b"t1\0")
    parts.append(b"\x03" * 16)
    return body + struct.pack("<I", xinfo) + b"".join(parts)


@pytest.mark.parametrize("major", [m.major for m in MAJORS], ids=lambda m: f"pg{m}")
def test_commit_record_every_part(major: int) -> None:
    layouts = records.record_layouts(major)
    has_gid = major not in (95, 96, 10)
    end = parse_xact_end(_commit(stats_size=layouts.stats_item_size, gid=has_gid), records.XLOG_XACT_HAS_INFO,
                         layouts, commit=True)
    assert end.time == timestamptz(123_456_789)
    assert (end.database, end.subxids, end.dropped, end.twophase_xid) == (16385, (801, 802), ((1663, 16385, 16999),),
                                                                          800)
    assert end.gid == ("t1" if has_gid else None)


def test_commit_without_info_is_a_time() -> None:
    end = parse_xact_end(struct.pack("<q", 0), 0, records.record_layouts(15), commit=True)
    assert end.time == datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    assert (end.database, end.subxids, end.dropped) == (None, (), ())


@pytest.mark.parametrize("major", [95, 96, 10, 11, 15, 18])
def test_prepare_record(major: int) -> None:
    layouts = records.record_layouts(major)
    header = bytearray(layouts.twophase_header_size)
    struct.pack_into("<IIIIq", header, 0, 0x57F94534, 0, 750, 16385, 5_000_000)
    if layouts.twophase_fixed_gid is not None:
        offset, _size = layouts.twophase_fixed_gid
        header[offset:offset + 3] = b"t1\0"
        data = bytes(header)
    else:
        assert layouts.twophase_gidlen_offset is not None
        struct.pack_into("<H", header, layouts.twophase_gidlen_offset, 3)
        data = bytes(header) + b"\0" * (-len(header) % 8) + b"t1\0" + b"\0" * 5
    prepare = parse_prepare(data, layouts)
    assert (prepare.xid, prepare.database, prepare.gid) == (750, 16385, "t1")
    assert prepare.prepared_at == timestamptz(5_000_000)


def test_heap_and_storage_payloads() -> None:
    assert multi_insert_count(struct.pack("<BxH", 0, 50) + b"\0" * 100) == 50
    assert heap_truncate(struct.pack("<IIB3x2I", 16385, 2, 0, 16400, 16401)) == (16385, (16400, 16401))
    assert smgr_create(struct.pack("<IIIi", 1663, 16385, 16999, 0)) == ((1663, 16385, 16999), 0)
    message = logical_message(struct.pack("<I?3xQQ", 16385, True, 6, 5) + b"audit\0hello")
    assert (message.database, message.transactional, message.prefix, message.size) == (16385, True, "audit", 5)


# -- catalogue pages --------------------------------------------------------------------------------------

def _page(tuples: list[tuple[int, int, int, bytes]], *, oid_in_header: bool = False) -> bytes:
    """A heap page holding (xmin, xmax, infomask, data) tuples, as bufpage.h lays them out."""
    page = bytearray(8192)
    upper = 8192
    pointers: list[int] = []
    for xmin, xmax, infomask, data in tuples:
        hoff = 32 if oid_in_header else 24
        tup = bytearray(hoff) + data
        struct.pack_into("<IIIHHHHHB", tup, 0, xmin, xmax, 0, 0, 0, 1, 0, infomask, hoff)
        if oid_in_header:
            struct.pack_into("<I", tup, hoff - 4, 16400 + len(pointers))
            struct.pack_into("<H", tup, 20, infomask | records.HEAP_HASOID)
        upper -= (len(tup) + 7) & ~7
        page[upper:upper + len(tup)] = tup
        pointers.append(upper | (records.LP_NORMAL << 15) | (len(tup) << 17))
    for i, word in enumerate(pointers):
        struct.pack_into("<I", page, 24 + 4 * i, word)
    struct.pack_into("<HH", page, 12, 24 + 4 * len(pointers), upper)
    return bytes(page)


def _class_data(layout: records.CatalogLayout, oid: int, name: str, filenode: int, kind: str) -> bytes:
    data = bytearray(layout.class_relkind + 1)
    if not layout.oid_in_header:
        struct.pack_into("<I", data, 0, oid)
    data[layout.class_relname:layout.class_relname + len(name)] = name.encode()
    struct.pack_into("<I", data, layout.class_relnamespace, 2200)
    struct.pack_into("<I", data, layout.class_relfilenode, filenode)
    data[layout.class_relkind] = ord(kind)
    return bytes(data)


@pytest.mark.parametrize("major", [10, 15, 18])
def test_pg_class_rows(major: int) -> None:
    layout = records.catalog_layout(major)
    header_oid = layout.oid_in_header
    page = _page([(5, 0, records.HEAP_XMIN_COMMITTED | records.HEAP_XMAX_INVALID,
                   _class_data(layout, 16400, "orders", 16384, "r")),
                  (900, 0, 0, _class_data(layout, 16401, "orders_pkey", 16389, "i"))], oid_in_header=header_oid)
    rows = class_rows(page, layout, 8192)
    assert [(r.oid, r.name, r.namespace, r.filenode, r.kind) for r in rows] == [
        (16400, "orders", 2200, 16384, "r"), (16401, "orders_pkey", 2200, 16389, "i")]
    assert rows[1].tuple.xmin == 900


def test_namespace_rows_relation_map_and_commit_log() -> None:
    layout = records.catalog_layout(16)
    page = _page([(2, 0, 0, struct.pack("<I", 2200) + b"public".ljust(64, b"\0"))])
    assert [(r.oid, r.name) for r in named_rows(page, layout, layout.namespace_nspname, 8192)] == [(2200, "public")]
    assert [t.xmin for t in heap_tuples(page, 8192)] == [2]
    mapping = struct.pack("<ii4I", records.RELMAP_MAGIC, 2, 1259, 1259, 1262, 1262) + b"\0" * 488
    assert relation_map(mapping) == {1259: 1259, 1262: 1262}
    assert relation_map(b"\0" * 512) == {}
    segment = bytearray(8192 * 32)
    segment[750 // 4] = 0b01 << ((750 % 4) * 2) | 0b10 << ((751 % 4) * 2)
    clog = CommitLog(lambda name: bytes(segment) if name == "0000" else None)
    assert (clog.status(750), clog.status(751), clog.status(752), clog.status(40_000_000)) == (1, 2, 0, None)


def test_lsn_in_sample_is_text() -> None:
    assert render.discarded_json(discarded_sample())["from_lsn"] == str(LSN.parse("0/3000060"))


def test_a_bad_commit_record_is_a_format_error() -> None:
    from pgrewindkit.errors import FormatError

    negative = struct.pack("<qIi", 0, records.XACT_XINFO_HAS_SUBXACTS, -3)
    with pytest.raises(FormatError, match="truncated"):
        parse_xact_end(negative, records.XLOG_XACT_HAS_INFO, records.record_layouts(15), commit=True)
    with pytest.raises(FormatError, match="truncated"):
        parse_xact_end(b"\0" * 4, 0, records.record_layouts(15), commit=False)


def test_plan_reads_the_discarded_work_up_to_a_limit(failover_pair: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan reads what the rewind throws away when the WAL after the divergence is small, leaves
    it to ``discarded`` above the limit (saying so), and never when told."""
    from pgrewindkit import plan_rewind
    from pgrewindkit.analysis.plan import planner

    old, new = failover_pair / "old-primary", failover_pair / "new-primary"
    plan = plan_rewind(new, old)
    assert plan.discarded is not None and plan.discarded_skipped is None
    monkeypatch.setattr(planner, "DISCARDED_AUTO_LIMIT", 1024)
    skipped = plan_rewind(new, old)
    assert skipped.discarded is None and "run pgrewindkit discarded" in (skipped.discarded_skipped or "")
    assert any("not read here" in line for line in render.plan_lines(skipped))
    assert plan_rewind(new, old, discarded=True).discarded == plan.discarded
    never = plan_rewind(new, old, discarded=False)
    assert never.discarded is None and never.discarded_skipped == "not asked for"
    assert not any("throws away:" in line for line in render.plan_lines(never))
