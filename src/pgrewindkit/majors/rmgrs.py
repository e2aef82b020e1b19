"""Resource managers and record types, named as pg_waldump of each major names them.

The table (``rmgr_names.json``) holds, per major, the built-in resource managers in id order and
each one's ``rm_identify``: ``names[xl_info & mask]``. Custom resource managers (ids 128–255,
from 15) are named ``custom%03d``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import attrs

from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.xlog import XLR_RMGR_INFO_MASK

# Resource manager ids and record types the reader and pg_rewind's rules name (rmgrlist.h, 10–18).
RM_XLOG_ID = 0
RM_XACT_ID = 1
RM_SMGR_ID = 2
RM_DBASE_ID = 4
MIN_CUSTOM_RMID = 128  # RM_MIN_CUSTOM_ID: custom resource managers, from 15
XLOG_SWITCH = 0x40
XLOG_XACT_RECORD_TYPE_MASK = 0x07  # pg_waldump keys Transaction records by (info >> 4) & 7: no HAS_INFO bit


@attrs.frozen
class ResourceManager:
    id: int
    name: str
    mask: int
    names: dict[int, str] = attrs.field(hash=False)

    def identify(self, info: int) -> str:
        """The record type as pg_waldump prints it, ``UNKNOWN (%x)`` when it has no name."""
        name = self.names.get(info & self.mask)
        return name if name is not None else f"UNKNOWN ({info & XLR_RMGR_INFO_MASK:x})"


@functools.cache
def rmgr_names() -> dict[int, list[dict[str, object]]]:
    """The table in ``rmgr_names.json``: one row per major."""
    # beside this module in every install (a wheel is unpacked; the package is never zipped):
    # importlib.resources, with zipfile behind it, added ~17 M instructions to every start-up
    text = (Path(__file__).parent / "rmgr_names.json").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, object]]] = json.loads(text)
    return {int(key): rows for key, rows in data.items() if key.isdigit()}


@functools.cache
def resource_managers(major: int) -> tuple[ResourceManager, ...]:
    """The built-in resource managers of ``major``, indexed by id."""
    entries = versions.lookup(rmgr_names(), major, "resource manager names")
    return tuple(
        ResourceManager(
            id=index,
            name=str(entry["name"]),
            mask=int(entry["mask"]),  # type: ignore[call-overload]
            names={int(k, 16): str(v) for k, v in entry["names"].items()},  # type: ignore[attr-defined]
        )
        for index, entry in enumerate(entries)
    )


def resource_manager(major: int, rmid: int) -> ResourceManager:
    builtin = resource_managers(major)
    if rmid < len(builtin):
        return builtin[rmid]
    return ResourceManager(rmid, f"custom{rmid:03d}", XLR_RMGR_INFO_MASK, {})
