"""Standby configuration: the files as ``recovery-config --dry-run`` shows them (passwords masked),
and what was written."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pgrewindkit.actions.recovery import RecoveryConfig
from pgrewindkit.cluster.pgconf import mask_settings_text


def recovery_config_text(config: RecoveryConfig) -> str:
    """Each file under a ``== path`` line, its content as is but for passwords."""
    return "".join(f"== {item.path}\n{mask_settings_text(item.content)}" for item in config.files)


def written_lines(paths: Iterable[str | Path]) -> list[str]:
    return [f"wrote {path}" for path in paths]
