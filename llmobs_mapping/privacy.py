"""Privacy mode (contract §6; OpenRouter Broadcast "Privacy Mode").

Content goes; everything else stays. Removed: ``meta.input`` and ``meta.output`` of every span
(messages, tool-call arguments, tool results, reasoning, workflow values) and the tool definitions.
The error message, which can echo the prompt (moderation's ``flagged_input``), becomes
``<type> (HTTP <status>)``. Kept: ids, names, tokens, cost, timing, model, provider, finish reasons,
tags and the custom ``trace`` metadata.
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
        error = {"message": f"{exchange.error.type} (HTTP {exchange.error.status})", "type": error["type"]}
    return span._replace(input=None, output=None, tool_definitions=None, error=error)
