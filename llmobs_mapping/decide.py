"""Whether one exchange is sent to one destination (contract §2). Pure: same input, same decision.

Order of the checks, first match wins:

1. no generation id → ``not_traceable`` (OpenRouter rejected the call before routing; §1.7)
2. ``enabled`` false → ``disabled``
3. ``api_key_hashes`` set and the caller's key hash not in it (or unknown) → ``api_key_not_allowed``
4. ``filter_rules`` reject → ``filtered_out`` (rules: :mod:`llmobs_mapping.filters`)
5. sampling → ``sampled_out``; deterministic, keyed by the session id, else the generation id, so a
   whole session is kept or dropped together (openrouter-broadcast.md §1.4)

otherwise ``send``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .exchange import read_exchange
from .exchange_types import Exchange
from .filters import Fact
from .metrics import total_cost
from .settings import Settings, require_settings

__all__ = ["REASONS", "Decision", "decide", "filter_facts", "sample_key_fraction"]

REASONS = ("send", "disabled", "api_key_not_allowed", "filtered_out", "sampled_out", "not_traceable")


@dataclass(frozen=True, slots=True)
class Decision:
    """``send`` and a stable snake_case ``reason`` (one of :data:`REASONS`)."""

    send: bool
    reason: str


def sample_key_fraction(key: str) -> float:
    """Where ``key`` falls in [0, 1): the first 8 bytes of SHA-256 of its UTF-8 bytes as a
    big-endian integer, divided by 2**64 (contract §2)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def filter_facts(exchange: Exchange, api_key_name: str | None = None) -> dict[str, Fact]:
    """The value of every filter field for one exchange (None when the exchange does not have it)."""
    completion = exchange.completion
    choice = completion.choices[0] if completion is not None and completion.choices else None
    usage = completion.usage if completion is not None else None
    error = exchange.error
    served_model = completion.model if completion is not None else None
    provider = completion.provider if completion is not None else None
    if provider is None and error is not None:
        provider = error.provider_name
    return {
        "model": served_model or exchange.requested_model,
        "provider": provider,
        "session_id": exchange.session_id,
        "user_id": exchange.user,
        "api_key_name": api_key_name,
        "finish_reason": choice.finish_reason if choice is not None else None,
        "input": "\n".join(message.content for message in exchange.messages),
        "output": choice.content if choice is not None else None,
        "total_cost": total_cost(usage) if usage is not None else None,
        "total_tokens": usage.total_tokens if usage is not None else None,
        "prompt_tokens": usage.prompt_tokens if usage is not None else None,
        "completion_tokens": usage.completion_tokens if usage is not None else None,
    }


def decide(
    exchange: Exchange | Any,
    settings: Settings,
    api_key_hash: str | None = None,
    api_key_name: str | None = None,
) -> Decision:
    """Decide whether ``exchange`` goes to the destination ``settings`` describes.

    ``api_key_hash``/``api_key_name`` identify the OpenRouter API key that made the call (used by
    ``api_key_hashes`` and the ``api_key_name`` filter field); None when unknown. ``exchange`` may be
    a document or an :class:`Exchange`; a malformed document raises :class:`~.errors.InvalidInput`.
    """
    require_settings(settings)
    for name, value in (("api_key_hash", api_key_hash), ("api_key_name", api_key_name)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")
    exchange = read_exchange(exchange)
    if not exchange.generation_id:
        return Decision(False, "not_traceable")
    if not settings.enabled:
        return Decision(False, "disabled")
    if settings.api_key_hashes is not None and api_key_hash not in settings.api_key_hashes:
        return Decision(False, "api_key_not_allowed")
    rules = settings.filter_rules
    if rules is not None and not rules.passes(filter_facts(exchange, api_key_name)):
        return Decision(False, "filtered_out")
    if settings.sampling_rate < 1:
        key = exchange.session_id or exchange.generation_id
        if not sample_key_fraction(key) < settings.sampling_rate:
            return Decision(False, "sampled_out")
    return Decision(True, "send")
