"""What a rewind throws away (``discarded``, and the section of ``plan``), as text and as JSON."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from pgrewindkit.render.shapes import lsn_json

if TYPE_CHECKING:  # annotations only: a plan that skips the pass does not import it
    from pgrewindkit.analysis.discarded import DiscardedWork, RelationChanges

_KINDS = {"r": "table", "i": "index", "t": "TOAST", "S": "sequence", "m": "materialized view", "p": "partitioned",
          "I": "partitioned index"}


def _time(value: datetime.datetime | None) -> str | None:
    """ISO 8601 with its offset (UTC)."""
    return None if value is None else value.isoformat()


def _clock(value: datetime.datetime, day: datetime.date | None, *, millis: bool = False) -> str:
    """A time for a sentence: the date only when it is not ``day``; milliseconds when whole seconds
    would not tell the times of the sentence apart."""
    utc = value.astimezone(datetime.timezone.utc)
    text = utc.strftime("%H:%M:%S") + (f".{utc.microsecond // 1000:03d}" if millis else "")
    return text if day == utc.date() else f"{utc.date().isoformat()} {text}"


def _second(value: datetime.datetime) -> datetime.datetime:
    return value.replace(microsecond=0)


def summary_line(d: DiscardedWork) -> str:
    """One sentence: how many commits, when, and when the source took over ("143 transactions
    committed on the old primary between 12:01:07 and 12:03:55 UTC, after the new primary took over
    at 12:01:05")."""
    count = d.committed_count
    first, last, promoted = d.first_commit_time, d.last_commit_time, d.source_promoted_at
    noun = "transaction" if count == 1 else "transactions"
    if count == 0 or first is None or last is None:
        return "no transaction committed on the old primary after the divergence"
    day = first.astimezone(datetime.timezone.utc).date()
    # a failover seconds long: whole seconds would say "between 12:01:07 and 12:01:07, after 12:01:07"
    seconds = {_second(t) for t in (first, last, promoted) if t is not None}
    millis = len(seconds) < len({t for t in (first, last, promoted) if t is not None})
    start = _clock(first, None, millis=millis)
    if first == last:
        line = f"{count} {noun} committed on the old primary at {start} UTC"
    else:
        line = f"{count} {noun} committed on the old primary between {start} and {_clock(last, day, millis=millis)} UTC"
    if promoted is not None:
        line += f", after the new primary took over at {_clock(promoted, day, millis=millis)}"
        if promoted > first:  # clocks of two machines, or a promotion not yet seen by the old primary
            line += " (by the two servers' clocks: the old primary committed before it)"
    return line


_TABLE_KINDS = ("r", "p", "m", None)
# the system's own schemas: their rows are the bookkeeping of DDL (CREATE TABLE writes pg_class,
# pg_attribute, pg_type, pg_depend), not data anyone wrote
_CATALOGUE_SCHEMAS = ("pg_catalog.", "pg_toast.", "information_schema.")


def _is_catalogue(r: RelationChanges) -> bool:
    return (r.name or "").startswith(_CATALOGUE_SCHEMAS) or r.database_oid == 0


def discarded_brief(d: DiscardedWork) -> list[str]:
    """The summary ``plan`` and ``failback`` show: the sentence, what else is lost, and the tables
    (not their indexes, nor the catalogues)."""
    lines = [summary_line(d)]
    lines += _loose_ends(d)
    tables = tuple(r for r in d.relations if r.kind in _TABLE_KINDS and not _is_catalogue(r)
                   and (r.inserts or r.updates or r.deletes or _ddl(r) != "-"))
    lines += _relation_lines(tables, "Tables changed by committed transactions:")
    if d.committed_count:
        lines.append("(pgrewindkit discarded: the transactions one by one, indexes, sequences and messages)")
    return lines


def _loose_ends(d: DiscardedWork) -> list[str]:
    lines = [f"prepared and never committed: xid {p.xid}, gid '{p.gid}' in {_database(p.database, p.database_oid)}"
             for p in d.prepared]
    if d.aborted or d.in_progress:
        lines.append(f"also {d.aborted} rolled back and {d.in_progress} in progress at the end of the WAL "
                     "(lost either way)")
    if d.end_of_wal:
        lines.append(f"warning: the target's WAL could not be read to its end, more may be lost: {d.end_of_wal}")
    return lines


def discarded_lines(d: DiscardedWork) -> list[str]:
    lines = [summary_line(d)]
    if d.from_lsn is not None:
        lines.append(f"target WAL from {d.from_lsn} to {d.to_lsn} on timeline {d.timeline} "
                     f"({d.records_read} records; names from the {d.names_from})")
    lines += _loose_ends(d)
    lines += _relation_lines(tuple(r for r in d.relations if not _is_catalogue(r)),
                             "Changes of committed transactions:")
    lines += _catalogue_line(d.relations)
    lines += _relation_lines(tuple(r for r in d.aborted_relations if not _is_catalogue(r)),
                             "Changes of rolled-back transactions (never visible):")
    for s in d.sequences:
        lines.append(f"sequence {s.name or f'file {s.relfilenode}'} in {_database(s.database, s.database_oid)} "
                     f"advanced ({s.records} WAL records)")
    for m in d.logical_messages:
        xid = f", xid {m.xid}" if m.xid is not None else ""
        lines.append(f"logical message '{m.prefix}' ({m.outcome}{xid}, {m.size} bytes) at {m.lsn}")
    for e in d.databases:
        lines.append(f"database {_database(e.database, e.database_oid)} {e.what} at {e.lsn}")
    if d.unnamed_relations:
        files = ", ".join(f"{u.database_oid}/{u.relfilenode}" for u in d.unnamed_relations)
        lines.append(f"relation files no catalogue names (database/relfilenode): {files}")
    if d.committed_count:
        lines.append("Committed transactions:")
        for t in d.committed:
            subs = f" (+{len(t.subxids)} subtransactions)" if t.subxids else ""
            gid = f" prepared as '{t.gid}'" if t.gid else ""
            lines.append(f"  xid {t.xid}{subs}{gid} at {_time(t.commit_time)} in "
                         f"{_database(t.database, t.database_oid)}: {_transaction_tables(t.relations)}")
    if d.committed_unlisted:
        listed = f"the first {len(d.committed)} are" if d.committed else "none is"
        lines.append(f"  ... and {d.committed_unlisted} more, not listed ({listed}; --transactions N or "
                     "--transactions all lists more)")
    return lines


def _catalogue_line(relations: tuple[RelationChanges, ...]) -> list[str]:
    """The system catalogues' rows in one line, apart from the tables: they are what DDL writes."""
    rows = [(r.name, r.inserts + r.updates + r.deletes) for r in relations
            if _is_catalogue(r) and r.kind in _TABLE_KINDS and r.relation in (None, r.name)]
    rows = [(name, n) for name, n in rows if n]
    if not rows:
        return []
    listed = ", ".join(f"{(name or '?').split('.', 1)[-1]} {n}" for name, n in rows)
    return [f"System catalogue rows written by that DDL (lost with it): {listed}"]


def _transaction_tables(relations: tuple[str, ...]) -> str:
    """A transaction's tables, the system catalogues it wrote (DDL) after them."""
    tables = [r for r in relations if not r.startswith(_CATALOGUE_SCHEMAS)]
    catalogue = [r.split(".", 1)[-1] for r in relations if r.startswith(_CATALOGUE_SCHEMAS)]
    text = ", ".join(tables)
    if catalogue:
        text += ("; " if text else "") + "DDL (catalogue: " + ", ".join(catalogue) + ")"
    return text or "-"


def _database(name: str | None, oid: int | None) -> str:
    if name is None and oid == 0:
        return "(shared)"  # the catalogues every database shares: pg_database, pg_authid ...
    return name if name is not None else f"database {oid}" if oid is not None else "an unknown database"


def _relation_lines(relations: tuple[RelationChanges, ...], title: str) -> list[str]:
    if not relations:
        return []
    width = max(40, *(len(_label(r)) for r in relations))
    lines = [title, f"  {'relation':<{width}} {'database':<12} {'inserts':>8} {'updates':>8} {'(HOT)':>6} "
                    f"{'deletes':>8} {'index':>6}  ddl"]
    for r in relations:
        lines.append(f"  {_label(r):<{width}} {_database(r.database, r.database_oid):<12} {r.inserts:>8} "
                     f"{r.updates:>8} {r.hot_updates:>6} {r.deletes:>8} {r.index_changes:>6}  {_ddl(r)}")
    return lines


def _label(r: RelationChanges) -> str:
    if r.name is None:
        return f"(file {r.relfilenode}, unnamed)"
    if r.relation is not None and r.relation != r.name:
        return f"{r.name} ({_KINDS.get(r.kind or '', r.kind)} {r.relation})"
    return r.name


def _ddl(r: RelationChanges) -> str:
    flags = [word for word, on in (("created", r.created), ("truncated", r.truncated), ("rewritten", r.rewritten),
                                   ("dropped", r.dropped)) if on]
    return ", ".join(flags) or "-"


def _relation_json(r: RelationChanges) -> dict[str, object]:
    return {
        "name": r.name, "database": r.database, "relfilenode": r.relfilenode,
        "inserts": r.inserts, "updates": r.updates, "hot_updates": r.hot_updates, "deletes": r.deletes,
        "truncated": r.truncated, "created": r.created, "dropped": r.dropped,
        "relation": r.relation, "kind": r.kind, "database_oid": r.database_oid,
        "relfilenodes": list(r.relfilenodes), "index_changes": r.index_changes, "rewritten": r.rewritten,
    }


def discarded_json(d: DiscardedWork) -> dict[str, object]:
    return {
        "from_lsn": lsn_json(d.from_lsn),
        "to_lsn": lsn_json(d.to_lsn),
        "timeline": d.timeline,
        "first_commit_time": _time(d.first_commit_time),
        "last_commit_time": _time(d.last_commit_time),
        "source_promoted_at": _time(d.source_promoted_at),
        "committed_count": d.committed_count,
        "committed": [{"xid": t.xid, "commit_time": _time(t.commit_time), "database": t.database,
                       "subxids": list(t.subxids), "relations": list(t.relations), "database_oid": t.database_oid,
                       "lsn": str(t.lsn), "gid": t.gid} for t in d.committed],
        "prepared": [{"xid": p.xid, "gid": p.gid, "database": p.database, "database_oid": p.database_oid,
                      "prepared_at": _time(p.prepared_at)} for p in d.prepared],
        "aborted": d.aborted,
        "in_progress": d.in_progress,
        "relations": [_relation_json(r) for r in d.relations],
        "aborted_relations": [_relation_json(r) for r in d.aborted_relations],
        "unnamed_relations": [{"database_oid": u.database_oid, "relfilenode": u.relfilenode,
                               "tablespace": u.tablespace} for u in d.unnamed_relations],
        "logical_messages": [{"prefix": m.prefix, "transactional": m.transactional, "xid": m.xid,
                              "outcome": m.outcome, "lsn": str(m.lsn), "database_oid": m.database_oid,
                              "size": m.size} for m in d.logical_messages],
        "sequences": [{"name": s.name, "database": s.database, "database_oid": s.database_oid,
                       "relfilenode": s.relfilenode, "records": s.records} for s in d.sequences],
        "databases": [{"what": e.what, "database_oid": e.database_oid, "database": e.database, "lsn": str(e.lsn)}
                      for e in d.databases],
        "names_from": d.names_from,
        "end_of_wal": d.end_of_wal,
        "records_read": d.records_read,
    }
