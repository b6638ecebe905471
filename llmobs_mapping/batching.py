"""Pack the spans of many exchanges into the fewest requests under Datadog's limits (contract §7).

One request holds at most ``max_bytes`` (5 MiB, ddtrace's ``DEFAULT_EVP_PAYLOAD_SIZE_LIMIT``) and at
most ``max_spans`` (1000, ddtrace's writer buffer) spans.

- ``public`` payloads carry payload-level attributes (``ml_app``, ``session_id``, ``tags``) that apply
  to every span inside, so spans are only packed together when those attributes are equal: a group
  is "the whole payload document except ``data.attributes.spans``". Groups appear in the order of
  their first payload; spans keep their input order inside a group.
- ``evp`` envelopes are independent (each span carries its own tags and session), so every envelope
  of every payload goes into one ordered stream of arrays.

"Fewest": inside one group (and for the whole EVP stream) requests are filled greedily in input
order; for order-preserving packing with additive sizes this greedy fill uses the fewest requests
(moving any boundary earlier never lets a later request hold more). Requests never mix public groups,
so the public total is the sum of the per-group minima. Reordering spans to pack tighter (general bin
packing) is not attempted: order is kept so output stays deterministic and easy to check.

Sizes are computed incrementally from each span's own encoding plus the fixed frame of its group;
the bytes of a request are exactly :func:`llmobs_mapping.encode.dumps` of the document it stands for.
A span that does not fit even alone goes into a request of its own, flagged ``oversized`` (cutting
spans down is the mapping's job, done before batching).

Pure: standard library only, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .encode import Format, dumps
from .errors import InvalidInput, json_path

__all__ = [
    "MAX_REQUEST_BYTES",
    "MAX_REQUEST_SPANS",
    "Batch",
    "batch",
    "body_format",
    "count_spans",
    "plan_batches",
    "split_batch",
]

MAX_REQUEST_BYTES = 5_242_880  # 5 MiB: ddtrace DEFAULT_EVP_PAYLOAD_SIZE_LIMIT (intake reference §3.1)
MAX_REQUEST_SPANS = 1000  # ddtrace BUFFER_LIMIT; contract §7 "≤ 1000 spans"
# Stands in for the span list while the frame of a public group is encoded. NUL characters are
# escaped by JSON, so no real attribute value encodes to the same text by accident.
_SENTINEL = "\x00llmobs-mapping-spans\x00"
_SENTINEL_JSON = dumps(_SENTINEL)


@dataclass(frozen=True, slots=True)
class Batch:
    """One request body. ``spans`` counts the spans inside; ``oversized`` marks a body over
    ``max_bytes`` that holds a single span (or envelope) too large to fit any request."""

    body: bytes = field(repr=False)
    spans: int
    oversized: bool = False

    @property
    def size(self) -> int:
        """The body's length in bytes."""
        return len(self.body)


@dataclass(slots=True)
class _Packer:
    """Greedy in-order packing of pre-encoded items into ``prefix + [a,b,...] + suffix`` bodies."""

    prefix: bytes
    suffix: bytes
    max_bytes: int
    max_spans: int
    out: list[Batch]
    items: list[bytes] = field(default_factory=list)
    spans: int = 0
    size: int = 0

    def frame_size(self) -> int:
        return len(self.prefix) + len(self.suffix) + 2  # the brackets of the list

    def add(self, item: bytes, item_spans: int) -> None:
        """Append one encoded item, closing the current body first when the item would overflow it."""
        if self.items:
            grown = self.size + 1 + len(item)  # a comma, then the item
            if grown > self.max_bytes or self.spans + item_spans > self.max_spans:
                self.flush()
        if not self.items:
            grown = self.frame_size() + len(item)
        self.items.append(item)
        self.spans += item_spans
        self.size = grown

    def flush(self) -> None:
        if not self.items:
            return
        body = b"".join((self.prefix, b"[", b",".join(self.items), b"]", self.suffix))
        oversized = len(body) > self.max_bytes or self.spans > self.max_spans
        self.out.append(Batch(body=body, spans=self.spans, oversized=oversized))
        self.items = []
        self.spans = 0
        self.size = 0


def _check_limits(max_bytes: int, max_spans: int) -> None:
    for name, value in (("max_bytes", max_bytes), ("max_spans", max_spans)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, not {value!r}")


def _public_parts(payload: Any, index: int) -> tuple[bytes, bytes, list[Any]]:
    """Split a public payload into (frame prefix, frame suffix, spans) around its span list."""
    base: list[str | int] = [index]
    if not isinstance(payload, dict):
        raise InvalidInput(json_path(base), "a public payload must be an object {'data': ...}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InvalidInput(json_path([*base, "data"]), "must be an object")
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise InvalidInput(json_path([*base, "data", "attributes"]), "must be an object")
    spans = attributes.get("spans")
    if not isinstance(spans, list):
        raise InvalidInput(json_path([*base, "data", "attributes", "spans"]), "must be a list of spans")
    frame = {**payload, "data": {**data, "attributes": {**attributes, "spans": _SENTINEL}}}
    encoded = dumps(frame)
    prefix, found, suffix = encoded.partition(_SENTINEL_JSON)
    if not found or _SENTINEL_JSON in suffix:  # cannot happen unless an attribute equals the sentinel
        raise InvalidInput(json_path([*base, "data", "attributes"]), "holds a reserved value")
    return prefix, suffix, spans


def _evp_envelopes(payload: Any, index: int) -> list[Any]:
    """The envelopes of an EVP payload (an array of envelopes, or one envelope object)."""
    envelopes = payload if isinstance(payload, list) else [payload]
    for position, envelope in enumerate(envelopes):
        where = [index, position] if isinstance(payload, list) else [index]
        if not isinstance(envelope, dict) or not isinstance(envelope.get("spans"), list):
            raise InvalidInput(json_path(where), "an EVP envelope must be an object with a 'spans' list")
    return envelopes


def plan_batches(
    payloads: Sequence[Any],
    format: Format,
    *,
    max_bytes: int = MAX_REQUEST_BYTES,
    max_spans: int = MAX_REQUEST_SPANS,
) -> list[Batch]:
    """Re-pack the spans of ``payloads`` (documents as :func:`~.encode.build_payload` returns them)
    into request bodies of at most ``max_bytes`` bytes and ``max_spans`` spans each.

    Deterministic: the same input gives the same bodies in the same order. Raises
    :class:`~.errors.InvalidInput` (path ``$[i]...`` into ``payloads``) for a document of the wrong
    shape, and ``ValueError`` for non-positive limits."""
    _check_limits(max_bytes, max_spans)
    out: list[Batch] = []
    if format == "evp":
        packer = _Packer(prefix=b"", suffix=b"", max_bytes=max_bytes, max_spans=max_spans, out=out)
        for index, payload in enumerate(payloads):
            for envelope in _evp_envelopes(payload, index):
                packer.add(dumps(envelope), len(envelope["spans"]))
        packer.flush()
        return out
    if format != "public":
        raise ValueError(f"format must be 'public' or 'evp', not {format!r}")
    groups: dict[tuple[bytes, bytes], list[bytes]] = {}  # insertion order = first appearance
    for index, payload in enumerate(payloads):
        prefix, suffix, spans = _public_parts(payload, index)
        groups.setdefault((prefix, suffix), []).extend(dumps(span) for span in spans)
    for (prefix, suffix), encoded_spans in groups.items():
        packer = _Packer(prefix=prefix, suffix=suffix, max_bytes=max_bytes, max_spans=max_spans, out=out)
        for encoded in encoded_spans:
            packer.add(encoded, 1)
        packer.flush()
    return out


def batch(
    payloads: Sequence[Any],
    format: Format,
    *,
    max_bytes: int = MAX_REQUEST_BYTES,
    max_spans: int = MAX_REQUEST_SPANS,
) -> list[bytes]:
    """The request bodies of :func:`plan_batches` (use that to learn span counts and oversized spans)."""
    return [b.body for b in plan_batches(payloads, format, max_bytes=max_bytes, max_spans=max_spans)]


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("$", f"request body is not JSON ({exc})") from None


def body_format(body: bytes) -> Format:
    """``evp`` for a JSON array body, ``public`` for a ``{"data": ...}`` object; else InvalidInput."""
    doc = _load(body)
    if isinstance(doc, list):
        _evp_envelopes(doc, 0)
        return "evp"
    _public_parts(doc, 0)
    return "public"


def count_spans(body: bytes) -> int:
    """How many spans a request body (either format) carries."""
    doc = _load(body)
    if isinstance(doc, list):
        return sum(len(envelope["spans"]) for envelope in _evp_envelopes(doc, 0))
    return len(_public_parts(doc, 0)[2])


def split_batch(body: bytes) -> tuple[bytes, bytes] | None:
    """Split a request body into two bodies with half of its spans each (first half first), for a
    ``413 Payload Too Large``. ``None`` when the body holds a single span and cannot be split."""
    doc = _load(body)
    if isinstance(doc, list):
        envelopes = _evp_envelopes(doc, 0)
        if len(envelopes) >= 2:
            half = len(envelopes) // 2
            return dumps(envelopes[:half]), dumps(envelopes[half:])
        if len(envelopes) == 1 and len(envelopes[0]["spans"]) >= 2:
            spans = envelopes[0]["spans"]
            half = len(spans) // 2
            return dumps([{**envelopes[0], "spans": spans[:half]}]), dumps(
                [{**envelopes[0], "spans": spans[half:]}]
            )
        return None
    _public_parts(doc, 0)
    spans = doc["data"]["attributes"]["spans"]
    if len(spans) < 2:
        return None
    half = len(spans) // 2

    def with_spans(part: list[Any]) -> bytes:
        return dumps(
            {**doc, "data": {**doc["data"], "attributes": {**doc["data"]["attributes"], "spans": part}}}
        )

    return with_spans(spans[:half]), with_spans(spans[half:])
