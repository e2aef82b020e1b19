"""libpq connection strings: parsed (keyword=value or URI), built with libpq's quoting, split from
their password so that it never reaches a command line, and masked so that it never reaches a log."""

from __future__ import annotations

import re

from pgrewindkit.errors import FormatError

_SAFE_VALUE = re.compile(r"[^\s'\\]+")
# A value as libpq's conninfo_parse reads it: quoted (backslash escapes inside), or up to the next
# space that a backslash does not escape ("a\\ b" is one value).
_VALUE = r"'(?:[^'\\]|\\.)*'?|(?:\\.|\\$|[^\s\\])*"
_PAIR = re.compile(rf"\s*([A-Za-z_]\w*)\s*=\s*({_VALUE})", re.DOTALL)
_PASSWORD_IN_URI = re.compile(r"(://[^:/@]*:)[^@]*@")
_PASSWORD_KEYWORD = re.compile(rf"(password\s*=\s*)({_VALUE})", re.IGNORECASE | re.DOTALL)


def one_line(text: str) -> str:
    """A message (libpq's and psycopg's span lines: a cause, then a hint) as one line, its lines
    joined by ``"; "``, so that every error the command line prints is one line."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def mask_password(text: str) -> str:
    """``text`` with any password in a conninfo string or URI replaced by ``********``."""
    return mask_password_keyword(_PASSWORD_IN_URI.sub(r"\1********@", text))


def mask_password_keyword(text: str) -> str:
    """``text`` with the value of any ``password=`` keyword replaced by ``********``."""
    return _PASSWORD_KEYWORD.sub(r"\1********", text)


def conninfo_value(value: str) -> str:
    """A value as libpq needs it: quoted when empty or holding spaces, quotes or backslashes."""
    if _SAFE_VALUE.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_conninfo(params: dict[str, str]) -> str:
    return " ".join(f"{key}={conninfo_value(val)}" for key, val in params.items())


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """Keyword/value pairs of a connection string or a ``postgresql://`` URI."""
    text = conninfo.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return _parse_uri(text)
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip():
                raise FormatError(f"invalid connection string near {text[pos:pos + 20]!r}")
            break
        value = match[2]
        if value.startswith("'"):
            if not re.fullmatch(r"'(?:[^'\\]|\\.)*'", value, flags=re.DOTALL):
                raise FormatError("unterminated quoted string in connection string")
            value = value[1:-1]
        value = re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL)
        params[match[1]] = value
        pos = match.end()
    return params


def _parse_uri(uri: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, unquote, urlsplit  # here: every error line imports this module

    try:
        parts = urlsplit(uri)
        username, password = parts.username, parts.password
    except ValueError as exc:  # an unclosed "[" (IPv6), say; the URI itself may hold a password: not shown
        raise FormatError(f"invalid connection URI: {exc}") from None
    params: dict[str, str] = {}
    if username:
        params["user"] = unquote(username)
    if password:
        params["password"] = unquote(password)
    host = parts.netloc.rsplit("@", 1)[-1]
    if host:
        name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        if name:
            params["host"] = unquote(name)
        if port:
            params["port"] = port
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.strip("/"))
    params.update(dict(parse_qsl(parts.query)))
    return params


def without_password(conninfo: str) -> tuple[str, str | None]:
    """The connection string without its password, and the password (for ``PGPASSWORD``)."""
    params = parse_conninfo(conninfo)
    password = params.pop("password", None)
    return make_conninfo(params), password
