"""Resource managers and record types, named as pg_waldump of each major names them.

The table (``rmgr_names.json``) holds, per major, the built-in resource managers in id order and
each one's ``rm_identify``: ``names[xl_info & mask]``. Custom resource managers (ids 128–255,
from 15) are named ``custom%03d``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import attrs


@attrs.frozen
class ResourceManager:
    id: int
    name: str
    mask: int
    names: dict[int, str] = attrs.field(hash=False)

    def identify(self, info: int) -> str:
        """The record type as pg_waldump prints it, ``UNKNOWN (%x)`` when it has no name."""
        name = self.names.get(info & self.mask)
        return name if name is not None else f"UNKNOWN ({info & 0xF0:x})"


@functools.cache
def _table() -> dict[str, list[dict[str, object]]]:
    text = resources.files("pgrewindkit.majors").joinpath("rmgr_names.json").read_text()
    data: dict[str, list[dict[str, object]]] = json.loads(text)
    return data


@functools.cache
def resource_managers(major: int) -> tuple[ResourceManager, ...]:
    """The built-in resource managers of ``major``, indexed by id."""
    entries = _table()[str(major)]
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
    return ResourceManager(rmid, f"custom{rmid:03d}", 0xF0, {})
