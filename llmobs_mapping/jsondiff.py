"""Field-by-field difference between two JSON documents, by JSON path.

The comparison rules are the conformance suite's (fixtures/README.md, "Comparison rules"):

- object key order is ignored; keys are visited in sorted order (the canonical document order);
- arrays are ordered: element ``i`` is compared with element ``i``, extra elements are added/removed;
- numbers compare by value *and* by kind: ``1`` (integer) and ``1.0`` (float) differ (a ``type``
  difference), and so do ``true`` and ``1``;
- strings compare exactly (no Unicode normalisation, no trimming).

Pure: no I/O. Values may be anything :func:`json.loads` produces (tuples are treated as arrays).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from .errors import json_path

__all__ = [
    "ABSENT",
    "DEFAULT_WIDTH",
    "Difference",
    "DifferenceKind",
    "compact",
    "diff",
    "first_difference",
    "format_difference",
    "format_differences",
    "iter_differences",
    "json_kind",
]

DifferenceKind = Literal["added", "removed", "changed", "type"]
"""``added``: only in the actual document; ``removed``: only in the expected one; ``type``: the two
values are of different JSON kinds (see :func:`json_kind`); ``changed``: same kind, other value."""


class _Absent:
    """The value on the side of an ``added``/``removed`` difference where the member is missing."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _Absent()
"""Stands for "no value here" (``Difference.expected`` of an added member, ``.actual`` of a removed one)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where the actual document differs from the expected one."""

    path: str
    """JSON path of the differing value, e.g. ``$.data.attributes.spans[0].meta.kind``."""
    kind: DifferenceKind
    expected: Any
    """The expected value at ``path``, or :data:`ABSENT` for an ``added`` member."""
    actual: Any
    """The actual value at ``path``, or :data:`ABSENT` for a ``removed`` member."""


def json_kind(value: object) -> str:
    """The kind a value is compared as: null, boolean, integer, float, string, array, object.

    Integers and floats are different kinds (``1 != 1.0`` in this suite); other Python values
    fall back to their type name so they never compare equal to a JSON value by accident.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def iter_differences(expected: Any, actual: Any) -> Iterator[Difference]:
    """Yield every difference between ``expected`` and ``actual`` in document order."""
    yield from _walk(expected, actual, ())


def diff(expected: Any, actual: Any) -> list[Difference]:
    """Every difference between ``expected`` and ``actual``, in document order; ``[]`` when equal."""
    return list(iter_differences(expected, actual))


def first_difference(expected: Any, actual: Any) -> Difference | None:
    """The first difference in document order, or None when the documents are equal."""
    return next(iter_differences(expected, actual), None)


def _walk(expected: Any, actual: Any, parts: tuple[str | int, ...]) -> Iterator[Difference]:
    expected_kind, actual_kind = json_kind(expected), json_kind(actual)
    if expected_kind != actual_kind:
        yield Difference(json_path(parts), "type", expected, actual)
    elif expected_kind == "object":
        for key in sorted(expected.keys() | actual.keys()):
            if key not in actual:
                yield Difference(json_path((*parts, key)), "removed", expected[key], ABSENT)
            elif key not in expected:
                yield Difference(json_path((*parts, key)), "added", ABSENT, actual[key])
            else:
                yield from _walk(expected[key], actual[key], (*parts, key))
    elif expected_kind == "array":
        for index in range(max(len(expected), len(actual))):
            if index >= len(actual):
                yield Difference(json_path((*parts, index)), "removed", expected[index], ABSENT)
            elif index >= len(expected):
                yield Difference(json_path((*parts, index)), "added", ABSENT, actual[index])
            else:
                yield from _walk(expected[index], actual[index], (*parts, index))
    elif not _same_scalar(expected, actual):
        yield Difference(json_path(parts), "changed", expected, actual)


def _same_scalar(expected: Any, actual: Any) -> bool:
    # Python's json module reads NaN/Infinity; NaN is not equal to itself, but the same text is.
    if isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected):
        return math.isnan(actual)
    return bool(expected == actual)


# -- human-readable rendering -----------------------------------------------------------------

DEFAULT_WIDTH: Final = 80
"""Values longer than this many characters (as compact JSON) are shortened in reports."""


def compact(value: Any, width: int = DEFAULT_WIDTH) -> str:
    """``value`` as compact, sorted JSON, cut to ``width`` characters with a trailing ``…``."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    if len(text) > width:
        text = text[: max(width - 1, 1)] + "…"
    return text


def format_difference(difference: Difference, width: int = DEFAULT_WIDTH) -> str:
    """One line for one difference, e.g. ``$.a.b: expected "llm", got "workflow"``."""
    expected = compact(difference.expected, width)
    actual = compact(difference.actual, width)
    if difference.kind == "added":
        return f"{difference.path}: unexpected member, got {actual}"
    if difference.kind == "removed":
        return f"{difference.path}: missing, expected {expected}"
    if difference.kind == "type":
        return (
            f"{difference.path}: expected {json_kind(difference.expected)} {expected},"
            f" got {json_kind(difference.actual)} {actual}"
        )
    return f"{difference.path}: expected {expected}, got {actual}"


def format_differences(differences: Sequence[Difference], width: int = DEFAULT_WIDTH) -> str:
    """One line per difference (see :func:`format_difference`), joined by newlines; ``""`` for none."""
    return "\n".join(format_difference(d, width) for d in differences)
