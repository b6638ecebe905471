"""Deterministic identifiers (contract §3): no clock, no randomness.

Span ids are decimal strings of the first 8 bytes (big-endian) of SHA-256 over a key, so the same
exchange always yields the same ids and requests that share a ``trace_id`` share one root span. Keys
are hashed as UTF-8 (a lone surrogate as its 3 bytes: writing the payload refuses it later).
"""

from __future__ import annotations

import hashlib

__all__ = ["apm_trace_id", "span_id"]


def span_id(key: str) -> str:
    """Decimal u64 span id for ``key`` (the generation id, ``<gen>:span`` or ``<trace_id>:root``)."""
    return str(int.from_bytes(hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()[:8], "big"))


def apm_trace_id(trace_id: str) -> str:
    """32 lowercase hex digits of SHA-256 over the trace id: the id OpenRouter's OTLP destinations
    give the same trace (openrouter-broadcast.md §2.3), used for the EVP ``_dd`` block."""
    return hashlib.sha256(trace_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
