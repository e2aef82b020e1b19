"""Results to text or JSON: one module per result; the JSON shapes are documented in
docs/reference.md ("JSON shapes") and checked against it by tests/unit/test_json_shapes.py.

Text renderers return lines without their newline (``*_lines``) or a finished string; JSON
renderers return plain ``dict`` / ``list`` values ready for ``json.dumps``. Nothing here prints.
The names below are this package's API (the command line uses nothing else of it), each imported
from its module on first use (``pgrewindkit._lazy``): a command loads the renderers of its result only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgrewindkit._lazy import lazy_exports

if TYPE_CHECKING:
    from pgrewindkit.render.controldata import controldata_brief, controldata_json, controldata_lines
    from pgrewindkit.render.discarded import discarded_json, discarded_lines
    from pgrewindkit.render.divergence import divergence_json, divergence_lines
    from pgrewindkit.render.errors import (
        LOG_FORMAT,
        PROG,
        error_json,
        error_line,
        internal_error_line,
        interrupted_line,
    )
    from pgrewindkit.render.failback import failback_json, failback_lines, step_json, step_line
    from pgrewindkit.render.history import history_json, history_lines
    from pgrewindkit.render.inspection import inspection_json, inspection_lines
    from pgrewindkit.render.plan import plan_json, plan_lines
    from pgrewindkit.render.progress import parts_progress, progress_bar
    from pgrewindkit.render.recovery import recovery_config_text, written_lines
    from pgrewindkit.render.rewind import rewind_json, rewind_lines
    from pgrewindkit.render.serialize import json_document, json_line, text
    from pgrewindkit.render.waldump import end_of_wal_json, end_of_wal_line, record_json, record_lines, skipped_line
    from pgrewindkit.render.walstats import format_stats

_LAZY: dict[str, tuple[str, ...]] = {
    "pgrewindkit.render.controldata": ("controldata_brief", "controldata_json", "controldata_lines"),
    "pgrewindkit.render.discarded": ("discarded_json", "discarded_lines"),
    "pgrewindkit.render.divergence": ("divergence_json", "divergence_lines"),
    "pgrewindkit.render.errors": (
        "LOG_FORMAT", "PROG", "error_json", "error_line", "internal_error_line", "interrupted_line",
    ),
    "pgrewindkit.render.failback": ("failback_json", "failback_lines", "step_json", "step_line"),
    "pgrewindkit.render.history": ("history_json", "history_lines"),
    "pgrewindkit.render.inspection": ("inspection_json", "inspection_lines"),
    "pgrewindkit.render.plan": ("plan_json", "plan_lines"),
    "pgrewindkit.render.progress": ("parts_progress", "progress_bar"),
    "pgrewindkit.render.recovery": ("recovery_config_text", "written_lines"),
    "pgrewindkit.render.rewind": ("rewind_json", "rewind_lines"),
    "pgrewindkit.render.serialize": ("json_document", "json_line", "text"),
    "pgrewindkit.render.waldump": (
        "end_of_wal_json", "end_of_wal_line", "record_json", "record_lines", "skipped_line",
    ),
    "pgrewindkit.render.walstats": ("format_stats",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "LOG_FORMAT",
    "PROG",
    "controldata_brief",
    "controldata_json",
    "controldata_lines",
    "discarded_json",
    "discarded_lines",
    "divergence_json",
    "divergence_lines",
    "end_of_wal_json",
    "end_of_wal_line",
    "error_json",
    "error_line",
    "failback_json",
    "failback_lines",
    "format_stats",
    "history_json",
    "history_lines",
    "inspection_json",
    "inspection_lines",
    "internal_error_line",
    "interrupted_line",
    "json_document",
    "json_line",
    "parts_progress",
    "plan_json",
    "plan_lines",
    "progress_bar",
    "record_json",
    "record_lines",
    "recovery_config_text",
    "rewind_json",
    "rewind_lines",
    "skipped_line",
    "step_json",
    "step_line",
    "text",
    "written_lines",
]
