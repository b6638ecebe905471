"""``meta.metadata`` of the spans (contract §4 and §9).

The LLM span carries the request's sampling parameters, OpenRouter's own facts and every custom
``trace`` key; workflow spans carry the custom ``trace`` keys only. Null values are dropped. A
custom key that collides with a built-in key loses to the built-in value.
"""

from __future__ import annotations

from typing import Any

from .exchange import RESERVED_TRACE_KEYS
from .exchange_types import Exchange

__all__ = ["REQUEST_PARAMETERS", "custom_metadata", "llm_metadata"]

# Request parameters copied verbatim, whatever their JSON type (contract §4).
REQUEST_PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "max_completion_tokens",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "min_p",
    "top_a",
    "seed",
    "stop",
    "stream",
    "tool_choice",
    "parallel_tool_calls",
    "models",
)


_PARAM_SET = frozenset(REQUEST_PARAMETERS)


def custom_metadata(exchange: Exchange) -> dict[str, Any]:
    """Every ``trace`` key except the five reserved ones, verbatim; null values dropped."""
    return {k: v for k, v in exchange.trace.items() if k not in RESERVED_TRACE_KEYS and v is not None}


def llm_metadata(exchange: Exchange) -> dict[str, Any]:
    request = exchange.request
    metadata = custom_metadata(exchange)
    for key, value in request.items():  # a request has a few keys; REQUEST_PARAMETERS lists many
        if value is not None and key in _PARAM_SET:
            metadata[key] = value
    reasoning = request.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is None:  # the shorthand, also beside a reasoning object without effort (max_tokens only)
        effort = request.get("reasoning_effort")
    if effort is not None:
        metadata["reasoning_effort"] = effort
    response_format = request.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") is not None:
        metadata["response_format"] = response_format["type"]

    completion = exchange.completion
    if exchange.generation_id is not None:
        metadata["generation_id"] = exchange.generation_id
    provider = (completion.provider if completion else None) or (
        exchange.error.provider_name if exchange.error else None
    )
    if provider is not None:
        metadata["provider_name"] = provider
    served = completion.model if completion else None
    if exchange.requested_model is not None and served is not None and exchange.requested_model != served:
        metadata["requested_model"] = exchange.requested_model
    if completion is not None and completion.choices:
        first = completion.choices[0]
        if first.finish_reason is not None:
            metadata["finish_reason"] = first.finish_reason
        if first.native_finish_reason is not None:
            metadata["native_finish_reason"] = first.native_finish_reason
        if len(completion.choices) > 1:
            metadata["finish_reasons"] = [c.finish_reason for c in completion.choices]
    if completion is not None and completion.usage is not None and completion.usage.is_byok is not None:
        metadata["is_byok"] = completion.usage.is_byok
    if exchange.stream_missing:
        metadata["stream_missing"] = list(exchange.stream_missing)
    return metadata
