"""PostgreSQL configuration files, read as the server reads them (``guc-file.l``): one
``name = value`` per line, ``#`` comments, quoted values with doubled quotes, the last setting of a
name wins. Used to say what a rewind's copy of the source's files would change; secrets are masked."""

from __future__ import annotations

import difflib
import re

from pgrewindkit.cluster.conninfo import mask_password

_LINE = re.compile(r"""\s*([A-Za-z_][\w.\-]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#]*)\s*(?:#.*)?$""")
SECRET_HINTS = ("password", "conninfo", "passfile", "sslpassword")
# The configuration files in a data directory: pg_rewind copies them from the source, a rewind puts
# the target's own back.
CONFIG_FILES = ("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf")
# The settings that make a server start as a standby (standby_mode only in recovery.conf, up to 11).
RECOVERY_SETTINGS = ("standby_mode", "primary_conninfo", "primary_slot_name", "restore_command",
                     "recovery_target_timeline", "trigger_file")


def parse_settings(text: str) -> dict[str, str]:
    """Settings of a postgresql.conf-style file (include directives are reported as settings too)."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            settings[match[1].lower()] = unquote(match[2])
    return settings


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner.replace("''", "'"))
    return value


def quote(value: str) -> str:
    """A configuration-file string literal: quotes and backslashes doubled, as PostgreSQL's tools write them."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def mask(name: str, value: str) -> str:
    """A setting's value for display: anything that may hold a password (keyword or URI) is masked."""
    if any(hint in name for hint in SECRET_HINTS):
        return mask_password(value)
    return value


def mask_settings_text(text: str) -> str:
    """A configuration file for display: each secret-bearing setting's value masked inside its own
    quotes (masking the raw line would take the closing quote for part of the password); every
    other character as it was."""
    shown = []
    for line in text.splitlines(keepends=True):
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            value = unquote(match[2])
            masked = mask(match[1].lower(), value)
            if masked != value:
                line = line[:match.start(2)] + quote(masked) + line[match.end(2):]
        shown.append(line)
    return "".join(shown)


def settings_changes(ours: str, theirs: str, path: str) -> tuple[str, ...]:
    """How ``theirs`` (the source's copy) differs from ``ours``: settings for postgresql*.conf, lines
    otherwise."""
    if path.startswith("postgresql"):
        mine, other = parse_settings(ours), parse_settings(theirs)
        changes = []
        for name in sorted(set(mine) | set(other)):
            before, after = mine.get(name), other.get(name)
            if before == after:
                continue
            shown_before = "(unset)" if before is None else repr(mask(name, before))
            shown_after = "(unset)" if after is None else repr(mask(name, after))
            changes.append(f"{name}: {shown_before} -> {shown_after}")
        return tuple(changes)
    diff = difflib.unified_diff(ours.splitlines(), theirs.splitlines(), "target", "source", n=0, lineterm="")
    return tuple(line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
