"""Records as ``pg_waldump -b`` prints them (without the resource managers' own descriptions),
and as JSON objects, one per record; and where reading stopped (``waldump``)."""

from __future__ import annotations

from pgrewindkit.formats.lsn import LSN
from pgrewindkit.formats.wal import EndOfWal
from pgrewindkit.formats.wal.records import BlockRef, WalRecord
from pgrewindkit.majors.wal import WAL_FORMATS
from pgrewindkit.render.errors import PROG
from pgrewindkit.render.shapes import lsn_json


def _padded(lsn: int) -> str:
    """pg_waldump pads the low half of ``lsn:`` and ``prev`` (and nothing else) to 8 digits."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:08X}"


def block_line(block: BlockRef, major: int, blcksz: int = 8192) -> str:
    line = f"\tblkref #{block.id}: rel {block.spc}/{block.db}/{block.rel} fork {block.fork_name} blk {block.blk}"
    if block.has_image:
        line += f" (FPW{'' if block.apply else ' for WAL verification'}); hole: offset: {block.hole_offset}, " \
                f"length: {block.hole_length}"
        if block.compression is not None:
            line += f", compression saved: {blcksz - block.hole_length - block.image_len}"
            if WAL_FORMATS[major].shows_compression_method:
                line += f", method: {block.compression}"
    return line


def record_lines(record: WalRecord, blcksz: int = 8192) -> list[str]:
    head = (f"rmgr: {record.rmgr:<11} len (rec/tot): {record.rec_len:>6}/{record.tot_len:>6}, "
            f"tx: {record.xid:>10}, lsn: {_padded(record.lsn.value)}, prev {_padded(record.prev.value)}, "
            f"desc: {record.type}")
    return [head, *(block_line(b, record.major, blcksz) for b in record.blocks)]


def record_json(record: WalRecord) -> dict[str, object]:
    return {
        "lsn": str(record.lsn), "end": str(record.end), "prev": str(record.prev), "timeline": record.timeline,
        "rmgr": record.rmgr, "type": record.type, "info": record.info, "xid": record.xid,
        "tot_len": record.tot_len, "rec_len": record.rec_len, "fpi_len": record.fpi_len,
        "main_data_len": record.main_data_len,
        "blocks": [
            {"id": b.id, "spc": b.spc, "db": b.db, "rel": b.rel, "fork": b.fork_name, "blk": b.blk,
             "fpi": b.has_image, "apply": b.apply, "will_init": b.will_init, "data_len": b.data_len}
            for b in record.blocks
        ],
    }


def end_of_wal_json(end: EndOfWal) -> dict[str, object]:
    """Where and why reading stopped, the one JSON object ``waldump --json`` writes to stderr."""
    return {"end_of_wal": str(end.lsn), "reason": end.reason or None, "reached_end": end.reached_end,
            "last_record": lsn_json(end.last_record)}


def end_of_wal_line(end: EndOfWal) -> str:
    """Where and why reading stopped, as ``waldump`` says it on stderr."""
    if end.reached_end:
        return f"{PROG}: stopped at {end.lsn}: reached the end LSN"
    return f"{PROG}: end of WAL at {end.lsn}: {end.message}"


def skipped_line(requested: LSN, found: LSN) -> str:
    """``--start`` fell inside a record: pg_waldump's note on where the first record is."""
    skipped = found - requested
    return (f"{PROG}: first record is after {requested}, at {found}, skipping over {skipped} "
            f"byte{'' if skipped == 1 else 's'}")
