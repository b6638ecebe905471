"""Writing payloads: the size bound that lets small spans skip encoding (limits.py) really is an
upper bound, and nothing but JSON is ever written.

If the bound were ever below the real size, a span over ``max_span_bytes`` would be sent uncut;
these properties check it against the exact canonical encoding.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import destinations, exchanges, json_values

from llmobs_mapping import InvalidInput, MappingError, Settings, build_payload, dumps
from llmobs_mapping.canonical import canonical_json
from llmobs_mapping.encode import encode_evp_span, encode_public_span
from llmobs_mapping.limits import _rough_size, _size_bound
from llmobs_mapping.spans import to_spans

# The tightest cases of the bound's induction: many one-byte values, empty keys, control characters.
_tight = st.one_of(
    st.lists(st.sampled_from([False, True, None, 0, ""]), max_size=200),
    st.dictionaries(st.text(max_size=1), st.sampled_from([False, None, "", 0.1, -(2**80)]), max_size=50),
    st.text(alphabet=st.characters(max_codepoint=0x1F) | st.sampled_from('"\\'), max_size=200),
    st.floats(allow_nan=False) | st.integers(),
)


def _exact(value: Any) -> int:
    return len(canonical_json(value).encode("utf-8"))


@given(json_values(max_leaves=30) | _tight)
def test_size_bound_is_never_below_the_encoded_size(value: Any) -> None:
    assert _size_bound(value) >= _exact(value)
    shared = [value, value, {"a": value}]  # the same objects twice: each counts (no back-references)
    assert _size_bound(shared) >= _exact(shared)


def test_size_bound_measures_what_marshal_cannot() -> None:
    class Text(str):
        pass

    value = {"k": [Text("\x01" * 100)]}
    assert _size_bound(value) >= _exact(value)


@given(exchanges(), destinations())
def test_rough_size_bounds_every_encoded_span(doc: Any, destination: Any) -> None:
    try:
        settings = Settings.from_destination(destination)
        spans = to_spans(doc, settings)
    except MappingError:
        return
    for span in spans:
        for encode in (encode_public_span, encode_evp_span):
            assert _rough_size(span) >= len(dumps(encode(span, settings)))


def test_rough_size_counts_every_field_not_just_the_contents() -> None:
    # Long name and model slug (the public format repeats the model in metadata), no content at all;
    # control characters, which JSON writes 6 bytes each, so that no field can go uncounted.
    long = "\x01" * 50_000
    doc = {
        "request": {
            "model": long,
            "messages": [{"role": "user", "content": ""}],
            "trace": {"generation_name": long},
        },
        "response": {"id": "gen-1", "model": long, "choices": []},
        "timing": {"start": 0, "end": 1},
    }
    settings = Settings(ml_app="app", privacy_mode=True)
    (span,) = to_spans(doc, settings)
    for encode in (encode_public_span, encode_evp_span):
        assert _rough_size(span) >= len(dumps(encode(span, settings))) > 600_000


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("fmt", ["public", "evp"])
def test_a_python_value_json_cannot_hold_is_a_typed_error_not_bad_json(bad: float, fmt: str) -> None:
    # JSON text is read strictly; a Python caller can still hand over NaN in a verbatim value.
    doc = {
        "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": bad},
        "response": {"id": "gen-1", "choices": []},
        "timing": {"start": 0, "end": 1},
    }
    payload = build_payload(doc, Settings(ml_app="app"), fmt)  # type: ignore[arg-type]
    for pretty in (False, True):
        with pytest.raises(InvalidInput, match="JSON cannot represent"):
            dumps(payload, pretty=pretty)


@pytest.mark.parametrize("bad", [{1, 2}, b"bytes", {(1, 2): "tuple key"}, {1: "a", "b": 2}])
@pytest.mark.parametrize("fmt", ["public", "evp"])
def test_a_python_value_that_is_not_json_is_a_typed_error(bad: object, fmt: str) -> None:
    """A set, bytes, a non-string key or keys that cannot be sorted, in a value copied verbatim (a
    ``trace`` value): InvalidInput at ``$`` from mapping or writing, never a TypeError."""
    doc = {
        "request": {"messages": [{"role": "user", "content": "hi"}], "trace": {"custom": bad}},
        "response": {"id": "gen-1", "choices": []},
        "timing": {"start": 0, "end": 1},
    }
    with pytest.raises(InvalidInput, match="JSON cannot represent") as caught:
        dumps(build_payload(doc, Settings(ml_app="app"), fmt))  # type: ignore[arg-type]
    assert caught.value.path == "$"
