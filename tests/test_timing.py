"""Timestamps: ``read_timestamp`` against a reference built field by field from the RFC 3339 grammar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from llmobs_mapping.errors import InvalidInput
from llmobs_mapping.timing import read_timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reference(text: str) -> int | None:
    """RFC 3339 ``date-time`` read by hand: Unix nanoseconds, or None if the text is not one."""
    digits = "0123456789"

    def number(part: str) -> int | None:
        return int(part) if part and all(c in digits for c in part) else None

    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":":
        return None
    if text[16] != ":":
        return None
    parsed = [number(text[a:b]) for a, b in ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))]
    fields = [n for n in parsed if n is not None]
    if len(fields) < len(parsed):
        return None
    rest, nanos = text[19:], 0
    if rest.startswith("."):
        count = len(rest) - len(rest[1:].lstrip(digits)) - 1
        if not 1 <= count <= 9:
            return None
        nanos, rest = int(rest[1 : 1 + count].ljust(9, "0")), rest[1 + count :]
    if rest in ("Z", "z"):
        offset = timedelta(0)
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and number(rest[1:3]) is not None:
        minutes = number(rest[4:6])
        if minutes is None:
            return None
        offset = timedelta(hours=int(rest[1:3]), minutes=minutes) * (-1 if rest[0] == "-" else 1)
    else:
        return None
    try:
        year, month, day, hour, minute, second = fields
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:  # no such day or time, or an offset of 24 hours or more
        return None
    since = moment - EPOCH
    total = (since.days * 86_400 + since.seconds) * 1_000_000_000 + nanos
    return total if 0 <= total < 2**63 else None  # Datadog's nanoseconds are 64-bit: until 2262


def read(text: str) -> int | None:
    try:
        return read_timestamp(text, ("timing",), "start")
    except InvalidInput as exc:
        path = exc.path
    assert path == "$.timing.start"
    return None


def two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


timestamps = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    st.integers(0, 9999),
    two(0, 13),
    two(0, 32),
    st.sampled_from("Tt x"),
    two(0, 25),
    two(0, 60),
    two(0, 61),
    st.one_of(st.just(""), st.text("0123456789", min_size=0, max_size=11).map(lambda f: "." + f)),
    st.one_of(
        st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "Zz", "+0000", "UTC"]),
        st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), two(0, 25), two(0, 60)),
    ),
)


@given(timestamps)
@example("2026-09-05T12:54:36.412Z")
@example("2026-09-05t12:54:36.123456789z")
@example("2024-02-29 00:00:00-23:59")
@example("1970-01-01T00:00:00+00:01")  # one minute before the epoch
@example("2262-04-11T23:47:16.854775807Z")  # the last 64-bit nanosecond
@example("2262-04-11T23:47:16.854775808Z")  # one past it
@example("2026-09-05T12:54:36.\u0661\u0662Z")  # Arabic-Indic digits are not RFC 3339 digits
def test_read_timestamp_matches_the_reference(text: str) -> None:
    assert read(text) == reference(text)


@pytest.mark.parametrize("value", [True, False, None, 1.5, -1, [], {}])
def test_non_timestamps_are_refused_at_their_path(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_timestamp(value, ("timing",), "end")
    assert caught.value.path == "$.timing.end"


def test_integer_nanoseconds_are_kept() -> None:
    assert read_timestamp(0) == 0
    assert read_timestamp(1_788_612_876_412_000_123) == 1_788_612_876_412_000_123
