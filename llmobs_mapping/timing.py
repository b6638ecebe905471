"""Timestamps: RFC 3339 strings with an offset, or integer Unix nanoseconds → integer nanoseconds.

Parsed by hand so that nanosecond fractions survive (``datetime`` keeps microseconds only).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .jsonread import fail

__all__ = ["read_timestamp"]

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$")


def read_timestamp(value: Any, where: tuple[str | int, ...] = (), key: str | None = None) -> int:
    """Unix nanoseconds from an RFC 3339 string (offset required) or a non-negative integer;
    ``where`` and ``key`` say where the value sits, for the error."""
    parts = where if key is None else (*where, key)
    if isinstance(value, bool) or value is None:
        fail(parts, "must be an RFC 3339 timestamp string or integer Unix nanoseconds")
    if isinstance(value, int):
        if value < 0:
            fail(parts, "must not be negative")
        return value
    if isinstance(value, str):
        match = _RFC3339.match(value)
        if match is None:
            example = "2026-01-01T12:00:00.5Z"
            fail(parts, f"{value!r} is not an RFC 3339 timestamp with an offset (e.g. {example})")
        date, clock, fraction, offset = match.groups()
        offset = "+00:00" if offset in ("Z", "z") else offset
        try:
            whole = datetime.fromisoformat(f"{date}T{clock}{offset}")
        except ValueError as exc:
            fail(parts, f"{value!r} is not a valid date and time ({exc})")
        seconds = int(whole.timestamp())
        nanos = int((fraction or "0").ljust(9, "0"))
        result = seconds * 1_000_000_000 + nanos
        if result < 0:
            fail(parts, "must not be before 1970-01-01")
        return result
    fail(parts, "must be an RFC 3339 timestamp string or integer Unix nanoseconds")
