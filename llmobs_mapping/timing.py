"""Timestamps: RFC 3339 strings with an offset, or integer Unix nanoseconds → integer nanoseconds.

``datetime`` checks the calendar and the offset; the fraction is read from the text, so nanoseconds
survive (``datetime`` keeps microseconds only).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .jsonread import MAX_COUNT, as_count, fail, path_to

__all__ = ["read_timestamp"]

# RFC 3339 date-time with an offset; ASCII digits only (re's \d would take any Unicode digit)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_A_TIMESTAMP = "must be an RFC 3339 timestamp string or integer Unix nanoseconds"


def read_timestamp(value: Any, where: tuple[str | int, ...] = (), key: str | None = None) -> int:
    """Unix nanoseconds from an RFC 3339 string (offset required) or a non-negative integer;
    ``where`` and ``key`` say where the value sits, for the error."""
    kind = type(value)
    if kind is str:
        match = _RFC3339.fullmatch(value)
        if match is None:
            example = "2026-01-01T12:00:00.5Z"
            message = f"{value!r} is not an RFC 3339 timestamp with an offset (e.g. {example})"
            fail(path_to(where, key), message)
        try:
            # the pattern admits only forms fromisoformat reads, once "t"/"z" are upper case; it
            # checks the calendar (no 30 February, no hour 24) and keeps microseconds only, so the
            # fraction is taken from the text
            since = datetime.fromisoformat(value.upper()) - _EPOCH
        except ValueError as exc:
            fail(path_to(where, key), f"{value!r} is not a valid date and time ({exc})")
        fraction = match[1]
        nanos = int(fraction.ljust(9, "0")) if fraction else 0
        # days and seconds of a timedelta are whole and exact; its microseconds are left out
        result = (since.days * 86_400 + since.seconds) * 1_000_000_000 + nanos
        if result < 0:
            fail(path_to(where, key), "must not be before 1970-01-01")
        if result > MAX_COUNT:
            fail(path_to(where, key), "must be before 2262-04-11T23:47:16.854775807Z (64-bit nanoseconds)")
        return result
    if kind is int or kind is float:  # a count: whole (5.0 is 5) and not negative
        return as_count(value, where, key)
    fail(path_to(where, key), _NOT_A_TIMESTAMP)
