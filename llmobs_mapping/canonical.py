"""The canonical JSON text of the wire formats: sorted keys, compact separators, UTF-8 as is.

One encoder, built once: ``json.dumps`` with any option builds a new ``JSONEncoder`` per call, a
fixed cost that shows on every payload. ``check_circular=False`` skips the cycle bookkeeping:
payloads are trees made from parsed JSON and cannot contain cycles.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_json"]

_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), check_circular=False)


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text (what :func:`~.encode.dumps` writes, before UTF-8)."""
    return _ENCODER.encode(value)
