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

from .errors import InvalidInput, json_path

__all__ = ["STRICT_DECODER", "DuplicateKey", "canonical_json", "pretty_json", "strict_loads"]

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


class DuplicateKey(ValueError):
    """An object names the same key twice. Python's ``json`` keeps the last value silently, so a
    second ``"privacy_mode": false`` would override the first; strict reading refuses it instead."""

    #: the error message for the object at ``path``. The key is not in it: in an exchange a key can
    #: be content (a tool parameter's name, a provider's echo), and the path locates it.
    sentence = "repeats a key: JSON readers disagree on which value counts, so it is refused"

    def __init__(self, key: str, path: str | None = None) -> None:
        self.key = key
        self.path = path  # of the object that repeats the key; None when it could not be found
        #: the same naming the key, for documents that hold no content (a destination)
        self.sentence_naming_key = (
            f"repeats the key {json.dumps(key, ensure_ascii=False)[:80]}: JSON readers disagree on "
            "which value counts, so it is refused"
        )
        where = f" at {path}" if path is not None else ""
        super().__init__(f"duplicate key{where}")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


class _Pairs(list[tuple[str, Any]]):
    """An object read as its list of pairs, to find where a duplicate key is (error path only)."""


def _duplicate_path(value: Any, parts: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path of the first object (depth first, in text order) that repeats a key."""
    if isinstance(value, _Pairs):
        if len({key for key, _ in value}) != len(value):
            return parts
        members: list[tuple[str | int, Any]] = list(value)
    elif isinstance(value, list):
        members = list(enumerate(value))
    else:
        return None
    for key, member in members:
        found = _duplicate_path(member, (*parts, key))
        if found is not None:
            return found
    return None


# Python's json reads NaN, Infinity and 1e999 (as inf), none of which canonical JSON can write back,
# and keeps the last of two equal keys: every JSON text this library reads goes through this decoder
# instead. Built once (json.loads with options builds a decoder per call).
STRICT_DECODER = json.JSONDecoder(
    parse_constant=_not_json, parse_float=_finite, object_pairs_hook=_unique_object
)
_PAIRS_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite, object_pairs_hook=_Pairs)


def strict_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity, numbers out of a double's range and duplicate keys
    (ValueError; :class:`DuplicateKey`, with the JSON path of the object, for the last). Bytes are
    decoded as ``json.loads`` decodes them (UTF-8, or UTF-16/32 when detected)."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    try:
        return STRICT_DECODER.decode(text)
    except DuplicateKey as exc:
        try:
            parts = _duplicate_path(_PAIRS_DECODER.decode(text))
        except RecursionError:  # deeper than the first read got: name the key only
            parts = None
        raise DuplicateKey(exc.key, None if parts is None else json_path(parts)) from None
