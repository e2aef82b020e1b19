"""The base of pgrewindkit's word-valued enums (kinds, outcomes, severities)."""

from __future__ import annotations

import enum


class Words(str, enum.Enum):
    """An enum whose members are their words: equal to them, JSON-encoded as them, and printed as
    them by ``str()`` and ``format()`` on every Python version."""

    def __str__(self) -> str:
        return str(self.value)
