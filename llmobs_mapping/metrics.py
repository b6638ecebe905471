"""Token, cost and latency metrics of the LLM span (contract §4, Datadog cost docs).

Rule: a metric is present iff its source field was reported. A reported 0 stays 0; a missing field
stays missing; nothing is estimated. Integers stay integers.
"""

from __future__ import annotations

import math

from .exchange_types import Exchange, Usage

__all__ = ["llm_metrics", "total_cost"]


def total_cost(usage: Usage) -> int | float | None:
    """``usage.cost``, plus ``cost_details.upstream_inference_cost`` for BYOK calls (contract §4)."""
    # usage.cost is what OpenRouter billed; with BYOK the provider's own charge is upstream_inference_cost
    if usage.is_byok and usage.upstream_inference_cost is not None:
        return (usage.cost or 0) + usage.upstream_inference_cost
    return usage.cost


def _usage_metrics(usage: Usage) -> dict[str, int | float]:
    metrics: dict[str, int | float] = {}
    if usage.prompt_tokens is not None:
        metrics["input_tokens"] = usage.prompt_tokens
    if usage.completion_tokens is not None:
        metrics["output_tokens"] = usage.completion_tokens
    if usage.total_tokens is not None:
        metrics["total_tokens"] = usage.total_tokens
    if usage.cached_tokens is not None:
        metrics["cache_read_input_tokens"] = usage.cached_tokens
    if usage.cache_write_tokens is not None:
        metrics["cache_write_input_tokens"] = usage.cache_write_tokens
    if usage.prompt_tokens is not None and (
        usage.cached_tokens is not None or usage.cache_write_tokens is not None
    ):
        non_cached = usage.prompt_tokens - (usage.cached_tokens or 0) - (usage.cache_write_tokens or 0)
        if non_cached >= 0:  # inconsistent provider counts: leave it out rather than report a negative
            metrics["non_cached_input_tokens"] = non_cached
    if usage.reasoning_tokens is not None:
        metrics["reasoning_output_tokens"] = usage.reasoning_tokens
    total = total_cost(usage)
    if total is not None:
        metrics["total_cost"] = total
        prompt, completion = usage.upstream_prompt_cost, usage.upstream_completions_cost
        # input/output cost only when they reconcile with the total (ddtrace does the same)
        if (
            prompt is not None
            and completion is not None
            and math.isclose(prompt + completion, total, rel_tol=1e-9, abs_tol=1e-15)
        ):
            metrics["input_cost"] = prompt
            metrics["output_cost"] = completion
    return metrics


def llm_metrics(exchange: Exchange) -> dict[str, int | float]:
    """The LLM span's metrics; ``time_to_first_token`` (seconds) only for streams with a first token."""
    completion = exchange.completion
    metrics = _usage_metrics(completion.usage) if completion is not None and completion.usage else {}
    if exchange.streamed and exchange.first_token_ns is not None:
        metrics["time_to_first_token"] = (exchange.first_token_ns - exchange.start_ns) / 1e9
    return metrics
