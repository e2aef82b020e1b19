"""How rendered results become the characters a command writes."""

from __future__ import annotations

import json
from collections.abc import Iterable


def json_document(value: object) -> str:
    """One JSON object for a whole result, indented, with a final newline."""
    return json.dumps(value, indent=2) + "\n"


def json_line(value: object) -> str:
    """One JSON object on one line (a stream of records, or a note on stderr)."""
    return json.dumps(value) + "\n"


def text(lines: Iterable[str]) -> str:
    """Lines, each ended by a newline."""
    return "".join(line + "\n" for line in lines)
