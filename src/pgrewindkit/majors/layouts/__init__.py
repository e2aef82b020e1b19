"""Declarative byte layouts (construct), one per PostgreSQL major: no I/O, no model, no behaviour."""

from __future__ import annotations

from typing import Any

import construct

from pgrewindkit.errors import FormatError, TruncatedError


def parse(layout: construct.Construct, data: bytes | memoryview, *, what: str, path: str | None = None,
          offset: int = 0) -> Any:
    """Parse ``data`` with ``layout``; the one place construct's own errors become ours."""
    try:
        return layout.parse(bytes(data))
    except construct.StreamError as exc:
        raise TruncatedError(f"{what} is truncated ({exc})", path=path, offset=offset) from None
    except construct.ConstructError as exc:
        raise FormatError(f"{what} cannot be decoded ({exc})", path=path, offset=offset) from None
