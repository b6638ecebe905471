"""The JSON diff behind the conformance suite's comparison rules (fixtures/README.md)."""

from __future__ import annotations

import copy
import json
from typing import Any

from llmobs_mapping.jsondiff import (
    ABSENT,
    Difference,
    compact,
    diff,
    first_difference,
    format_difference,
    format_differences,
    json_kind,
)

PAYLOAD: dict[str, Any] = {
    "data": {
        "type": "span",
        "attributes": {
            "ml_app": "app",
            "tags": ["service:app"],
            "spans": [
                {
                    "name": "gpt-4o",
                    "duration": 1500,
                    "meta": {"kind": "llm", "metadata": {"temperature": 0.5}},
                    "metrics": {"input_tokens": 3},
                }
            ],
        },
    }
}


def test_equal_documents_have_no_difference() -> None:
    """A document equals its deep copy, and key order does not matter."""
    reordered = json.loads(json.dumps(PAYLOAD, sort_keys=False))
    reordered["data"] = dict(reversed(list(reordered["data"].items())))
    assert diff(PAYLOAD, copy.deepcopy(PAYLOAD)) == []
    assert diff(PAYLOAD, reordered) == []
    assert first_difference(PAYLOAD, reordered) is None


def test_changed_value_is_reported_at_its_json_path() -> None:
    """A different string deep inside is one ``changed`` difference naming the exact path."""
    actual = copy.deepcopy(PAYLOAD)
    actual["data"]["attributes"]["spans"][0]["meta"]["kind"] = "workflow"
    assert [Difference("$.data.attributes.spans[0].meta.kind", "changed", "llm", "workflow")] == diff(
        PAYLOAD, actual
    )


def test_int_and_float_are_different_types() -> None:
    """1500 and 1500.0 are equal in Python but differ in the suite (a ``type`` difference)."""
    actual = copy.deepcopy(PAYLOAD)
    actual["data"]["attributes"]["spans"][0]["duration"] = 1500.0
    assert [Difference("$.data.attributes.spans[0].duration", "type", 1500, 1500.0)] == diff(PAYLOAD, actual)
    assert [Difference("$", "type", 1.0, 1)] == diff(1.0, 1)


def test_booleans_are_not_numbers() -> None:
    """``true`` and ``1`` (and ``false`` and ``0``) are different types."""
    assert [Difference("$[0]", "type", True, 1), Difference("$[1]", "type", 0, False)] == diff(
        [True, 0], [1, False]
    )


def test_float_values_compare_by_value() -> None:
    """Two floats of different value are ``changed``; equal floats (and NaN vs NaN) are equal."""
    assert [Difference("$.x", "changed", 0.5, 0.25)] == diff({"x": 0.5}, {"x": 0.25})
    assert diff({"x": float("nan")}, {"x": float("nan")}) == []


def test_strings_compare_exactly() -> None:
    """NFC and NFD spellings of the same text differ; so does trailing whitespace."""
    assert [Difference("$", "changed", "caf\u00e9", "cafe\u0301")] == diff("caf\u00e9", "cafe\u0301")
    assert [Difference("$", "changed", "a", "a ")] == diff("a", "a ")


def test_missing_and_extra_members() -> None:
    """A key only in expected is ``removed``, a key only in actual is ``added``; the absent side is ABSENT."""
    assert [
        Difference("$.b", "removed", 2, ABSENT),
        Difference("$.c", "added", ABSENT, None),
    ] == diff({"a": 1, "b": 2}, {"a": 1, "c": None})


def test_arrays_are_ordered() -> None:
    """Arrays compare index by index; swapped elements are two changes, extra ones added/removed."""
    assert [Difference("$[0]", "changed", "a", "b"), Difference("$[1]", "changed", "b", "a")] == diff(
        ["a", "b"], ["b", "a"]
    )
    assert [Difference("$[2]", "removed", 3, ABSENT)] == diff([1, 2, 3], [1, 2])
    assert [Difference("$[1]", "added", ABSENT, {"x": 1})] == diff([1], [1, {"x": 1}])


def test_null_is_its_own_type() -> None:
    """``null`` against an object is a type difference at that path, not a list of removed keys."""
    assert [Difference("$.meta", "type", {"kind": "llm"}, None)] == diff(
        {"meta": {"kind": "llm"}}, {"meta": None}
    )


def test_document_order_and_paths_with_unusual_keys() -> None:
    """Differences come in sorted-key / index order; keys that are not identifiers are bracketed."""
    expected = [{"_dd.stage": "raw", "spans": [{"a": 1}], "event_type": "span"}]
    actual = [{"_dd.stage": "cooked", "spans": [{"a": 2}], "event_type": "trace"}]
    assert [
        Difference('$[0]["_dd.stage"]', "changed", "raw", "cooked"),
        Difference("$[0].event_type", "changed", "span", "trace"),
        Difference("$[0].spans[0].a", "changed", 1, 2),
    ] == diff(expected, actual)
    assert Difference('$[0]["_dd.stage"]', "changed", "raw", "cooked") == first_difference(expected, actual)


VALUES_OF_EVERY_KIND: tuple[object, ...] = (None, False, 0, 0.0, "", [], (), {})


def test_json_kind_names() -> None:
    """Every JSON value maps to one comparison kind; tuples count as arrays."""
    assert [json_kind(v) for v in VALUES_OF_EVERY_KIND] == [
        "null",
        "boolean",
        "integer",
        "float",
        "string",
        "array",
        "array",
        "object",
    ]


def test_format_one_line_per_difference() -> None:
    """The human report has one line per path with both values as compact JSON."""
    differences = [
        Difference("$.a", "changed", "llm", "workflow"),
        Difference("$.b", "type", 1, 1.0),
        Difference("$.c", "removed", {"k": [1, 2]}, ABSENT),
        Difference("$.d", "added", ABSENT, True),
    ]
    assert format_differences(differences) == (
        '$.a: expected "llm", got "workflow"\n'
        "$.b: expected integer 1, got float 1.0\n"
        '$.c: missing, expected {"k":[1,2]}\n'
        "$.d: unexpected member, got true"
    )
    assert format_differences([]) == ""


def test_long_values_are_shortened() -> None:
    """Values longer than the width are cut with an ellipsis; non-ASCII stays readable."""
    assert compact("x" * 50, width=20) == '"' + "x" * 18 + "…"
    assert compact("é") == '"é"'
    assert compact(ABSENT) == "(absent)"
    line = format_difference(Difference("$.m", "changed", "a" * 200, "b"), width=10)
    assert line == '$.m: expected "aaaaaaaa…, got "b"'


def test_absent_is_a_singleton() -> None:
    """ABSENT survives copying, so ``is ABSENT`` checks keep working on copied differences."""
    assert copy.deepcopy(ABSENT) is ABSENT
    assert repr(ABSENT) == "ABSENT"
