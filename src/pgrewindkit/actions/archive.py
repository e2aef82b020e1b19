"""WAL the target needs and no longer has, fetched from its archive the way the server would: the
target's own ``restore_command`` (or one given), ``%f`` the file name, ``%p`` the path to write,
run for each segment as the target's owner."""

from __future__ import annotations

import os

from pgrewindkit.actions.pgctl import CommandRunner, owner_of
from pgrewindkit.cluster.datadir import DataDirectory
from pgrewindkit.cluster.pgconf import parse_settings
from pgrewindkit.errors import CommandError
from pgrewindkit.majors.programs import programs_for


def target_restore_command(tgt: DataDirectory) -> str | None:
    """The target's own ``restore_command`` (recovery.conf/recovery.done up to 11, the configuration from 12)."""
    names = (("recovery.conf", "recovery.done") if programs_for(tgt.control.major).recovery_conf
             else ("postgresql.auto.conf", "postgresql.conf"))
    for name in names:
        try:
            value = parse_settings(tgt.read_text(name) or "").get("restore_command")
        except OSError:
            continue
        if value:
            return value
    return None


def placeholder_problem(command: str) -> str | None:
    """Why ``command`` cannot fetch WAL for a rewind: ``%r`` (the restart point) has no meaning here."""
    return "cannot use restore_command with %r placeholder" if "%r" in command else None


def restore_segments(tgt: DataDirectory, names: list[str], command: str, runner: CommandRunner) -> list[str]:
    """Fetch each segment into ``pg_wal``; the first that fails raises ``CommandError``."""
    fetched = []
    for name in names:
        path = tgt.path / "pg_wal" / name
        shell = command.replace("%f", name).replace("%p", str(path)).replace("%%", "%")
        lines: list[str] = []
        code = runner(["/bin/sh", "-c", shell], env=dict(os.environ), user=owner_of(tgt.path), on_line=lines.append)
        if code != 0 or not path.exists():
            raise CommandError(f"restore command failed for {name} (exit {code}): {' | '.join(lines[-2:])}",
                               output="\n".join(lines))
        fetched.append(name)
    return fetched
