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
    return {"streaming": result.streaming, "application_name": result.application_name,
            "recovery_files": list(result.recovery_files), "rewind": rewind_json(result.rewind),
            "steps": [step_json(s) for s in result.steps]}


def failback_lines(result: FailbackResult, target: str | os.PathLike[str]) -> list[str]:
    """What follows the steps: the target and the name it streams under."""
    if result.outcome == "nothing_to_do":
        return [f"nothing to do: {os.fspath(target)} already streams from the source as {result.application_name}"]
    if result.outcome == "not_started":
        return [f"failback configured: start {os.fspath(target)}; it will stream as {result.application_name}"]
    return [f"failback done: {os.fspath(target)} streams from the source as {result.application_name}"]
