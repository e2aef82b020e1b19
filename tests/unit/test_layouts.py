"""The byte layouts have the sizes and offsets of the C structs on x86-64."""

from __future__ import annotations

import pytest

from pgrewindkit.errors import TruncatedError
from pgrewindkit.majors.layouts.control import CONTROL_LAYOUTS, PG_CONTROL_FILE_SIZE
from pgrewindkit.majors.layouts.ctypes import offset_of, unpack
from pgrewindkit.majors.versions import MAJORS
from tests.support.construct_oracle import as_construct

# sizeof(ControlFileData), offsetof(crc), sizeof(CheckPoint), offsetof(checkPointCopy),
# offsetof(minRecoveryPoint): from pg_control.h of each version with x86-64 alignment.
C_FACTS = {
    1002: (296, 288, 80, 48, 136),
    1100: (288, 280, 80, 40, 128),
    1201: (296, 288, 88, 40, 136),
    1300: (296, 288, 88, 40, 136),
    1700: (296, 288, 88, 40, 136),
    1800: (296, 292, 88, 40, 136),
}


@pytest.mark.parametrize("version", sorted(C_FACTS))
def test_control_layout_matches_c(version: int) -> None:
    layout = CONTROL_LAYOUTS[version]
    size, crc_offset, checkpoint_size, copy_offset, min_recovery_offset = C_FACTS[version]
    assert layout.struct.size == size
    assert as_construct(layout.struct).sizeof() == size
    assert layout.crc_offset == crc_offset
    assert layout.checkpoint.size == checkpoint_size
    assert offset_of(layout.fields, "checkPointCopy") == copy_offset
    assert offset_of(layout.fields, "minRecoveryPoint") == min_recovery_offset
    assert size <= 512 <= PG_CONTROL_FILE_SIZE  # PG_CONTROL_MAX_SAFE_SIZE


def test_every_major_has_a_layout() -> None:
    assert {m.control_version for m in MAJORS} == set(CONTROL_LAYOUTS)


def test_checkpoint_wal_level_fills_the_hole_after_full_page_writes() -> None:
    fields = CONTROL_LAYOUTS[1700].checkpoint_fields
    assert offset_of(fields, "wal_level") == 20
    assert offset_of(fields, "nextXid") == 24
    assert offset_of(CONTROL_LAYOUTS[1100].checkpoint_fields, "nextXidEpoch") == 20


def test_unpack_names_nested_fields_and_refuses_a_short_buffer() -> None:
    layout = CONTROL_LAYOUTS[1300].struct
    data = bytes(range(256)) + bytes(layout.size - 256)
    fields = unpack(layout, data, what="control file")
    assert fields.checkPointCopy.redo == int.from_bytes(data[40:48], "little") == fields["checkPointCopy"]["redo"]
    assert "prevCheckPoint" not in fields and "max_wal_senders" in fields
    with pytest.raises(AttributeError):
        _ = fields.prevCheckPoint
    with pytest.raises(TruncatedError, match=r"control file is truncated \(100 bytes, 296 needed\)") as caught:
        unpack(layout, data[:100], what="control file", path="/pg/global/pg_control")
    assert caught.value.path == "/pg/global/pg_control"
