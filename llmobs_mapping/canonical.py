"""The canonical JSON text of the wire formats: sorted keys, compact separators, UTF-8 as is; and
the strict reading of JSON text that keeps it writable.

One encoder, built once: ``json.dumps`` with any option builds a new ``JSONEncoder`` per call, a
fixed cost that shows on every payload. ``check_circular=False`` skips the cycle bookkeeping:
payloads are trees made from parsed JSON and cannot contain cycles.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import InvalidInput

__all__ = ["STRICT_DECODER", "canonical_json", "pretty_json", "strict_loads"]

_OPTIONS: dict[str, Any] = {
    "sort_keys": True,
    "ensure_ascii": False,
    "allow_nan": False,
    "check_circular": False,
}
_ENCODER = json.JSONEncoder(separators=(",", ":"), **_OPTIONS)
_PRETTY = json.JSONEncoder(indent=2, **_OPTIONS)


def _encode(encoder: json.JSONEncoder, value: Any) -> str:
    try:
        return encoder.encode(value)
    except (ValueError, TypeError, RecursionError) as exc:
        # only a Python caller's value can do this (JSON text is read strictly): NaN or an infinity,
        # a set or bytes, a key that is not a string, keys of mixed types that cannot be sorted, or nesting
        # deeper than the encoder's recursion limit
        raise InvalidInput("$", f"holds a value JSON cannot represent ({exc})") from None


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text (what :func:`~.encode.dumps` writes, before UTF-8).
    A value JSON cannot hold (NaN, an infinity) is :class:`~.errors.InvalidInput`, never bad JSON."""
    return _encode(_ENCODER, value)


def pretty_json(value: Any) -> str:
    """The same text indented by 2 spaces (fixtures, ``--pretty``), without the final newline."""
    return _encode(_PRETTY, value)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return number


# Python's json reads NaN, Infinity and 1e999 (as inf), none of which canonical JSON can write back:
# every JSON text this library reads goes through this decoder instead. Built once (json.loads with
# options builds a decoder per call).
STRICT_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def strict_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers out of a double's range (ValueError).
    Bytes are decoded as ``json.loads`` decodes them (UTF-8, or UTF-16/32 when detected)."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return STRICT_DECODER.decode(text)
