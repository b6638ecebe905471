"""Batching (contract §7): fewest requests under 5 MiB / 1000 spans, deterministic, both formats."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_server import evp_payload, public_payload, validate_evp, validate_public

from llmobs_mapping.batching import (
    MAX_REQUEST_BYTES,
    MAX_REQUEST_SPANS,
    Batch,
    batch,
    body_format,
    count_spans,
    plan_batches,
    split_batch,
)
from llmobs_mapping.encode import dumps
from llmobs_mapping.errors import InvalidInput


def _frame(doc: dict[str, Any]) -> str:
    """A public body's payload-level attributes (everything but the spans), as canonical text."""
    attributes = {k: v for k, v in doc["data"]["attributes"].items() if k != "spans"}
    return dumps({**doc, "data": {**doc["data"], "attributes": attributes}}).decode()


def _public_spans(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = doc["data"]["attributes"]["spans"]
    return spans


def _check_limits_and_greedy(batches: list[Batch], fmt: str, max_bytes: int, max_spans: int) -> None:
    """Every body within both limits (or a flagged lone span), canonical, and greedy-minimal: the
    first span of the next request of the same group would not have fitted in the previous one."""
    for b in batches:
        doc = json.loads(b.body)
        assert dumps(doc) == b.body  # the bytes are exactly the canonical encoding of the document
        assert b.spans == count_spans(b.body)
        if b.oversized:
            assert b.spans == 1
            assert len(b.body) > max_bytes
        else:
            assert len(b.body) <= max_bytes
            assert b.spans <= max_spans
    for prev, nxt in itertools.pairwise(batches):
        a, b = json.loads(prev.body), json.loads(nxt.body)
        if fmt == "public":
            if _frame(a) != _frame(b):
                continue
            merged = copy.deepcopy(a)
            _public_spans(merged).append(_public_spans(b)[0])
            count = len(_public_spans(merged))
        else:
            merged = [*a, b[0]]
            count = len(merged)
        assert len(dumps(merged)) > max_bytes or count > max_spans, "a request was closed too early"


def test_public_groups_by_payload_attributes_and_keeps_order() -> None:
    payloads = [
        public_payload(1, 2, session="s1"),
        public_payload(2, 3),
        public_payload(3, 2, session="s1"),
        public_payload(4, 1, ml_app="other-app"),
        public_payload(5, 2),
    ]
    bodies = batch(payloads, "public")
    docs = [json.loads(b) for b in bodies]
    # one request per distinct (ml_app, session_id, tags), in order of first appearance
    assert [d["data"]["attributes"].get("session_id") for d in docs] == ["s1", None, None]
    assert [d["data"]["attributes"]["ml_app"] for d in docs] == ["my-app", "my-app", "other-app"]
    assert docs[0]["data"]["attributes"]["tags"] == ["service:my-app", "session_id:s1"]
    assert [s["span_id"] for s in _public_spans(docs[0])] == ["1001", "1002", "3001", "3002"]
    assert [s["span_id"] for s in _public_spans(docs[1])] == ["2001", "2002", "2003", "5001", "5002"]
    assert [s["span_id"] for s in _public_spans(docs[2])] == ["4001"]
    # each body is exactly the payload shape with the merged spans
    expected = public_payload(1, 2, session="s1")
    _public_spans(expected).extend(_public_spans(public_payload(3, 2, session="s1")))
    assert bodies[0] == dumps(expected)
    for d in docs:
        assert validate_public(d)[1] == []


def test_evp_envelopes_of_all_payloads_share_requests() -> None:
    payloads = [evp_payload(1, 2), evp_payload(2, 3), evp_payload(3, 1)]
    bodies = batch(payloads, "evp", max_spans=4)
    assert [json.loads(b) for b in bodies] == [
        [*payloads[0], *payloads[1][:2]],
        [payloads[1][2], *payloads[2]],
    ]
    assert all(validate_evp(json.loads(b))[1] == [] for b in bodies)


def test_byte_limit_is_inclusive_and_exact() -> None:
    payloads = [public_payload(1, 3, text="x" * 100)]
    whole = batch(payloads, "public")[0]
    assert batch(payloads, "public", max_bytes=len(whole)) == [whole]
    split = batch(payloads, "public", max_bytes=len(whole) - 1)
    assert len(split) == 2
    assert [count_spans(b) for b in split] == [2, 1]
    evp = [evp_payload(1, 3, text="y" * 50)]
    whole_evp = batch(evp, "evp")[0]
    assert batch(evp, "evp", max_bytes=len(whole_evp)) == [whole_evp]
    assert [count_spans(b) for b in batch(evp, "evp", max_bytes=len(whole_evp) - 1)] == [2, 1]


def test_span_limit() -> None:
    payloads = [public_payload(i, 4) for i in range(5)]  # 20 spans, one group
    assert [count_spans(b) for b in batch(payloads, "public", max_spans=7)] == [7, 7, 6]
    assert [count_spans(b) for b in batch([evp_payload(i, 4) for i in range(5)], "evp", max_spans=7)] == [
        7,
        7,
        6,
    ]


def test_oversized_span_goes_alone_and_is_flagged() -> None:
    payloads = [public_payload(1, 1), public_payload(2, 1, text="z" * 5000), public_payload(3, 2)]
    plan = plan_batches(payloads, "public", max_bytes=3000)
    assert [(b.spans, b.oversized) for b in plan] == [(1, False), (1, True), (2, False)]
    assert [s["span_id"] for b in plan for s in _public_spans(json.loads(b.body))] == [
        "1001",
        "2001",
        "3001",
        "3002",
    ]
    assert plan[1].size == len(plan[1].body) > 3000
    evp_plan = plan_batches([evp_payload(1, 1), evp_payload(2, 1, text="z" * 5000)], "evp", max_bytes=3000)
    assert [(b.spans, b.oversized) for b in evp_plan] == [(1, False), (1, True)]


def test_deterministic_and_input_untouched() -> None:
    payloads = [public_payload(i, 3, session=f"s{i % 3}", text="é☃" * i) for i in range(30)]
    before = copy.deepcopy(payloads)
    first = batch(payloads, "public", max_bytes=4000, max_spans=5)
    assert batch(copy.deepcopy(payloads), "public", max_bytes=4000, max_spans=5) == first
    assert payloads == before
    assert "é☃".encode() in b"".join(first)  # UTF-8 kept, not \u escapes (docs/spec.md §1.4)


def test_empty_input_gives_no_requests() -> None:
    assert batch([], "public") == []
    assert batch([], "evp") == []
    assert batch([public_payload(1, 0)], "public") == []


def test_ten_thousand_spans_respect_both_limits() -> None:
    # 10,000 spans over two groups: small spans (the 1000-span limit binds) and ~9 KB spans (the
    # 5 MiB limit binds at ~570 spans per request)
    small = [public_payload(i, 5, text="s" * 40) for i in range(1000)]
    large = [public_payload(10_000 + i, 5, text="L" * 9000, session="big") for i in range(1000)]
    payloads = [p for pair in zip(small, large, strict=True) for p in pair]
    plan = plan_batches(payloads, "public")
    assert sum(b.spans for b in plan) == 10_000
    _check_limits_and_greedy(plan, "public", MAX_REQUEST_BYTES, MAX_REQUEST_SPANS)
    assert [b.spans for b in plan[:5]] == [1000] * 5
    assert all(b.spans < 1000 for b in plan[5:])
    assert len(plan) == 5 + 9  # 5000 small spans in 5; 5000 large in ceil(5000 / ~570)
    ids = [s["span_id"] for b in plan for s in _public_spans(json.loads(b.body))]
    expected = [s["span_id"] for p in small + large for s in _public_spans(p)]
    assert ids == expected  # every span once, input order kept within each group
    evp_plan = plan_batches([evp_payload(i, 5, text="e" * 900) for i in range(2000)], "evp")
    assert sum(b.spans for b in evp_plan) == 10_000
    _check_limits_and_greedy(evp_plan, "evp", MAX_REQUEST_BYTES, MAX_REQUEST_SPANS)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 400), st.integers(0, 2)), max_size=25),
    max_bytes=st.integers(300, 3000),
    max_spans=st.integers(1, 6),
    fmt=st.sampled_from(["public", "evp"]),
)
def test_property_limits_order_and_accounting(
    sizes: list[tuple[int, int, int]], max_bytes: int, max_spans: int, fmt: str
) -> None:
    if fmt == "public":
        payloads: list[Any] = [
            public_payload(i, n, text="t" * size, session=None if s == 0 else f"s{s}")
            for i, (n, size, s) in enumerate(sizes)
        ]
        expected = [s["span_id"] for p in payloads for s in _public_spans(p)]
    else:
        payloads = [evp_payload(i, n, text="t" * size) for i, (n, size, _) in enumerate(sizes)]
        expected = [e["spans"][0]["span_id"] for p in payloads for e in p]
    plan = plan_batches(
        payloads, "public" if fmt == "public" else "evp", max_bytes=max_bytes, max_spans=max_spans
    )
    _check_limits_and_greedy(plan, fmt, max_bytes, max_spans)
    if fmt == "public":
        got = [s["span_id"] for b in plan for s in _public_spans(json.loads(b.body))]
        assert sorted(got) == sorted(expected)
    else:
        got = [e["spans"][0]["span_id"] for b in plan for e in json.loads(b.body)]
        assert got == expected


def test_split_batch_halves_both_formats() -> None:
    body = batch([public_payload(1, 5)], "public")[0]
    halves = split_batch(body)
    assert halves is not None
    assert [count_spans(h) for h in halves] == [2, 3]
    first, second = (json.loads(h) for h in halves)
    assert _frame(first) == _frame(second) == _frame(json.loads(body))
    assert _public_spans(first) + _public_spans(second) == _public_spans(json.loads(body))
    assert split_batch(batch([public_payload(1, 1)], "public")[0]) is None
    evp_body = batch([evp_payload(1, 3)], "evp")[0]
    evp_halves = split_batch(evp_body)
    assert evp_halves is not None
    assert [json.loads(h) for h in evp_halves] == [evp_payload(1, 3)[:1], evp_payload(1, 3)[1:]]
    assert split_batch(batch([evp_payload(1, 1)], "evp")[0]) is None


def test_body_format_and_bad_bodies() -> None:
    assert body_format(batch([public_payload(1)], "public")[0]) == "public"
    assert body_format(batch([evp_payload(1)], "evp")[0]) == "evp"
    with pytest.raises(InvalidInput) as caught:
        body_format(b"not json")
    assert caught.value.path == "$"
    with pytest.raises(InvalidInput) as caught:
        count_spans(b'{"data": {"attributes": {}}}')
    assert caught.value.path == "$[0].data.attributes.spans"


@pytest.mark.parametrize(
    ("payloads", "fmt", "path"),
    [
        ([["not a payload"]], "public", "$[0]"),
        ([{"data": []}], "public", "$[0].data"),
        (
            [public_payload(1), {"data": {"attributes": {"spans": "x"}}}],
            "public",
            "$[1].data.attributes.spans",
        ),
        ([evp_payload(1), [{"spans": [{}]}, {"no": "spans"}]], "evp", "$[1][1]"),
        ([3], "evp", "$[0]"),
    ],
)
def test_wrong_shapes_are_typed_errors(payloads: list[Any], fmt: str, path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        batch(payloads, "public" if fmt == "public" else "evp")
    assert caught.value.path == path


@pytest.mark.parametrize("limits", [{"max_bytes": 0}, {"max_spans": 0}, {"max_spans": True}])
def test_bad_limits(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be a positive whole number"):
        batch([public_payload(1)], "public", **limits)
