"""A failback's steps and result, as text and as JSON (``failback``)."""

from __future__ import annotations

import os

from pgrewindkit.actions.failback import FailbackResult, Step
from pgrewindkit.render.rewind import rewind_json


def step_json(step: Step) -> dict[str, object]:
    return {"name": step.name, "detail": step.detail, "seconds": round(step.seconds, 3)}


def step_line(step: Step) -> str:
    """One step as it finishes (text output only)."""
    return f"{step.name}: {step.detail} ({step.seconds:.1f} s)"


def failback_json(result: FailbackResult) -> dict[str, object]:
    return {"outcome": result.outcome, "streaming": result.streaming, "application_name": result.application_name,
            "recovery_files": list(result.recovery_files),
            "recovery_target_timeline": result.recovery_target_timeline,
            "archived_wal": list(result.archived_wal), "discarded_wal": list(result.discarded_wal),
            "abandoned_history_files": list(result.abandoned_history_files),
            "set_aside": _path(result.set_aside), "start_log": _path(result.start_log),
            "slot_created": result.slot_created, "rewind": rewind_json(result.rewind),
            "steps": [step_json(s) for s in result.steps]}


def _path(path: os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


def failback_lines(result: FailbackResult, target: str | os.PathLike[str]) -> list[str]:
    """What follows the steps: what became of the target's WAL and history files, where the start
    log is, and the target with the name it streams under."""
    if result.outcome == "nothing_to_do":
        return [f"nothing to do: {os.fspath(target)} already streams from the source as {result.application_name}"]
    lines = [f"recovery_target_timeline = '{result.recovery_target_timeline}'"]
    if result.archived_wal:
        lines.append(f"archived before the rewind: {', '.join(result.archived_wal)}")
    if result.discarded_wal:
        lines.append(f"never archived (--discard-unarchived-wal): {', '.join(result.discarded_wal)}")
    if result.abandoned_history_files:
        lines.append(f"history files of abandoned timelines: {', '.join(result.abandoned_history_files)}"
                     + (f" (those of pg_wal set aside in {os.fspath(result.set_aside)})" if result.set_aside else ""))
    if result.slot_created:
        lines.append("created the physical replication slot on the source")
    if result.start_log is not None:
        lines.append(f"start log: {os.fspath(result.start_log)}")
    if result.outcome == "not_started":
        return [*lines, f"failback configured: start {os.fspath(target)}; it will stream as {result.application_name}"]
    return [*lines, f"failback done: {os.fspath(target)} streams from the source as {result.application_name}"]
