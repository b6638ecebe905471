"""Privacy mode (contract §6; OpenRouter Broadcast "Privacy Mode").

Content goes; everything else stays. Removed: ``meta.input`` and ``meta.output`` of every span
(messages, tool-call arguments, tool results, reasoning, workflow values), the tool definitions and
the request's ``stop`` sequences (text the caller wrote).
The error message, which can echo the prompt (moderation's ``flagged_input``), becomes
``<type> (HTTP <status>)`` (``<type>`` alone when no HTTP status is known). Kept: ids, names,
tokens, cost, timing, model, provider, finish reasons, tags and the custom ``trace`` metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exchange_types import Exchange

if TYPE_CHECKING:
    from .spans import Span

__all__ = ["redact"]


def redact(span: Span, exchange: Exchange) -> Span:
    """The span without content fields."""
    error = span.error
    if error is not None and exchange.error is not None:
        status = exchange.error.status
        message = exchange.error.type if status is None else f"{exchange.error.type} (HTTP {status})"
        error = {"message": message, "type": error["type"]}
    metadata = span.metadata
    if exchange.request.get("stop") is not None and "stop" in metadata:
        # stop sequences are text the caller wrote, often taken from the prompt: content, not a setting
        metadata = {key: value for key, value in metadata.items() if key != "stop"}
    return span._replace(input=None, output=None, tool_definitions=None, error=error, metadata=metadata)
